"""``python -m bench.peers``: make the peers' virtualenvs (see ``bench/peers/__init__.py``)."""

from bench.peers import main

main()
