"""Benchmark harness for the Terugkoppeling-bot: ``python -m bench [--quick] [--out bench/results]``.

Every figure is reported next to a baseline measured in the same run on the same machine: a raw
aiohttp handler (the machine's floor) and a stock botbuilder echo bot on the bot's own CloudAdapter
setup. See ``bench/README.md``.
"""

import sys
import tempfile
from pathlib import Path

# Bytecode is cached outside the repository (for this process and, via the environment, for every
# process the bench starts), so a run writes nothing outside bench/ — and it is cached even where
# PYTHONDONTWRITEBYTECODE is set, because an installed bot (pip compiles on install; see the
# Dockerfile) starts from .pyc files, and the cold-start figure should too.
PYCACHE = Path(tempfile.gettempdir()) / "terugkoppeling-bench-pycache"
sys.pycache_prefix = str(PYCACHE)
sys.dont_write_bytecode = False
