"""The wheel's package list names every package under bot/, and the data folders it maps exist."""

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def setuptools_config() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["tool"]["setuptools"]


def test_every_bot_package_is_in_the_wheel():
    on_disk = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "bot").rglob("__init__.py")}
    listed = set(setuptools_config()["packages"])
    missing = on_disk - listed
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages in pyproject.toml"


def test_the_mapped_data_folders_hold_the_cards_and_the_manifest():
    config = setuptools_config()
    mapped = config["package-dir"]
    assert mapped == {"bot._cards": "cards", "bot._manifest": "manifest", "bot._manifest.schema": "manifest/schema"}
    assert set(mapped) <= set(config["packages"])
    assert list((ROOT / "cards").glob("*.json")) and (ROOT / "manifest" / "manifest.template.json").is_file()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"terugkoppeling": "bot.__main__:main"}


def test_every_data_file_beside_the_code_goes_into_the_wheel():
    patterns = setuptools_config()["package-data"]
    for path in (ROOT / "bot").rglob("*"):
        if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
            continue
        package = ".".join(path.parent.relative_to(ROOT).parts)
        wanted = patterns.get("*", []) + patterns.get(package, [])
        assert any(fnmatch(path.name, p) for p in wanted), f"{path.relative_to(ROOT)}: add it to package-data"
