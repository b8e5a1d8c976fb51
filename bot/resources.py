"""Where the bot's data files are: in a checkout, or in an installed copy (``pip install .``).

The repository keeps the card templates in ``cards/`` and the Teams app manifest template, icons
and schema in ``manifest/``, beside ``bot/``. A wheel maps those folders into the package as
``bot/_cards`` and ``bot/_manifest`` (``[tool.setuptools.package-dir]`` in ``pyproject.toml``), so
an installed copy finds them whatever the working directory. An editable install (``pip install
-e``, as ``make install`` does) and a plain checkout use the repository's folders.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
DISTRIBUTION = "terugkoppeling-bot"


def _data_dir(name: str) -> Path:
    installed = PACKAGE / f"_{name}"
    if installed.is_dir():
        return installed
    checkout = CHECKOUT / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"the bot's {name}/ folder is missing (neither {installed} nor {checkout})")


def cards_dir() -> Path:
    """The Adaptive Card templates (``cards/*.json``)."""
    return _data_dir("cards")


def manifest_dir() -> Path:
    """The Teams app manifest template, its icons and the schema (``manifest/``)."""
    return _data_dir("manifest")


def project_version() -> str:
    """The bot's version: ``pyproject.toml``'s in a checkout, the installed distribution's otherwise."""
    pyproject = CHECKOUT / "pyproject.toml"
    if not (PACKAGE / "_manifest").is_dir() and pyproject.is_file():
        with pyproject.open("rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    return metadata.version(DISTRIBUTION)
