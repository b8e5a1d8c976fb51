"""The Teams app package: valid against the official schema and Teams' upload rules, and each rule bites."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from jsonschema import Draft6Validator

from bot.config import Settings
from bot.manifest import MANIFEST_DIR, SCHEMA, ManifestError, build_package, main, read_png, validate_package

DATA = Path(__file__).resolve().parents[1] / "data"
APP_ID = "2f0e6a3c-4b1d-4e8a-9c7f-0a1b2c3d4e5f"


def _make_icons() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_icons", MANIFEST_DIR / "make_icons.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


icons = _make_icons()


def settings(app_id: str = APP_ID) -> Settings:
    return Settings(_env_file=None, MicrosoftAppId=app_id)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A copy of manifest/ (template and icons) for a test to break."""
    copy = tmp_path / "source"
    copy.mkdir()
    for name in ("manifest.template.json", "color.png", "outline.png"):
        shutil.copy(MANIFEST_DIR / name, copy / name)
    return copy


def problems_of(source: Path, tmp_path: Path, app_id: str = APP_ID) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        build_package(settings(app_id), tmp_path / "out.zip", source=source)
    assert not (tmp_path / "out.zip").exists()
    return caught.value.problems


def edit_template(source: Path, change) -> None:
    path = source / "manifest.template.json"
    template = json.loads(path.read_text(encoding="utf-8"))
    change(template)
    path.write_text(json.dumps(template), encoding="utf-8")


# -- the package as built ------------------------------------------------------------------------


def test_built_package_is_valid(tmp_path):
    out = build_package(settings(), tmp_path / "teams.zip", valid_domains=["bot.vdab.example"])

    validate_package(out)
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
    schema = json.loads((DATA / "teams-manifest-1.30.schema.json").read_text(encoding="utf-8"))
    assert list(Draft6Validator(schema).iter_errors(manifest)) == []

    assert tuple(map(int, manifest["manifestVersion"].split("."))) >= (1, 19)
    assert manifest["id"] == APP_ID
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert bot["scopes"] == ["personal"]
    assert bot["supportsFiles"] is False and bot["isNotificationOnly"] is False
    [commands] = bot["commandLists"]
    assert commands["scopes"] == ["personal"]
    assert [c["title"] for c in commands["commands"]] == ["terugkoppeling", "help"]
    assert commands["commands"][0]["description"] == "Stuur een terugkoppeling naar de trajectbegeleider van een klant"
    assert manifest["localizationInfo"]["defaultLanguageTag"] == "nl-BE"
    assert manifest["developer"]["name"] == "VDAB"
    assert all(manifest["developer"][k].startswith("https://") for k in ("websiteUrl", "privacyUrl", "termsOfUseUrl"))
    assert manifest["validDomains"] == ["bot.vdab.example"]
    assert "{{" not in json.dumps(manifest)


def test_values_are_filled_structurally(tmp_path):
    odd = '"}], {{APP_ID}}'
    out = build_package(settings(), tmp_path / "teams.zip", short_name=odd, version="2.3.4")
    with zipfile.ZipFile(out) as package:
        manifest = json.loads(package.read("manifest.json"))
    assert manifest["name"]["short"] == odd
    assert manifest["version"] == "2.3.4"


def test_cli_writes_the_package(tmp_path, capsys):
    out = tmp_path / "cli.zip"
    assert main(["--out", str(out), "--app-id", APP_ID, "--valid-domain", "bot.vdab.example"]) == 0
    validate_package(out)
    assert capsys.readouterr().out.strip() == str(out)


def test_schema_copies_are_the_recorded_file():
    recorded = "3339690aacd9049bc65ade66b258982803d8c6c6d3897a23f8a057b6ebe35479"
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == recorded
    assert (DATA / SCHEMA.name).read_bytes() == SCHEMA.read_bytes()
    assert recorded in (DATA / "SOURCES.txt").read_text(encoding="utf-8")


def test_icons_are_what_the_script_draws():
    color = read_png((MANIFEST_DIR / "color.png").read_bytes())
    outline = read_png((MANIFEST_DIR / "outline.png").read_bytes())
    assert (color.width, color.height, outline.width, outline.height) == (192, 192, 32, 32)
    assert color.pixels == read_png(icons.color_icon()).pixels
    assert outline.pixels == read_png(icons.outline_icon()).pixels
    assert all(a == 255 for *_, a in color.pixels)
    assert {p[:3] for p in outline.pixels} == {(255, 255, 255)} and {p[3] for p in outline.pixels} >= {0, 255}


# -- each rule, broken on purpose -----------------------------------------------------------------


def test_wrong_colour_icon_size(source, tmp_path):
    (source / "color.png").write_bytes(icons.encode_png(100, 100, [(11, 59, 140)] * 100 * 100, alpha=False))
    assert problems_of(source, tmp_path) == ["colour icon color.png is 100x100 pixels; Teams requires 192x192"]


def test_opaque_outline_icon(source, tmp_path):
    (source / "outline.png").write_bytes(icons.encode_png(32, 32, [(255, 255, 255)] * 32 * 32, alpha=False))
    assert problems_of(source, tmp_path) == [
        "outline icon outline.png has no transparency: it must be white on a transparent background"
    ]


def test_non_white_outline_pixel(source, tmp_path):
    pixels = read_png((source / "outline.png").read_bytes()).pixels
    pixels[5 * 32 + 7] = (255, 0, 0, 255)
    (source / "outline.png").write_bytes(icons.encode_png(32, 32, pixels, alpha=True))
    assert problems_of(source, tmp_path) == [
        "outline icon outline.png has 1 pixel(s) that are neither white nor transparent "
        "(the first at x=7, y=5 is #ff0000)"
    ]


def test_app_id_not_a_guid(source, tmp_path):
    problems = problems_of(source, tmp_path, app_id="terugkoppeling-bot")
    assert "id 'terugkoppeling-bot' is not a GUID (it is the app id: set MicrosoftAppId)" in problems
    assert "bots[0].botId 'terugkoppeling-bot' is not a GUID" in problems


def test_command_scope_outside_the_bots_scopes(source, tmp_path):
    edit_template(source, lambda t: t["bots"][0]["commandLists"][0]["scopes"].append("team"))
    assert problems_of(source, tmp_path) == [
        "bots[0].commandLists[0] has scope 'team', which is not one of the bot's scopes ['personal']"
    ]


def test_schema_violation(source, tmp_path):
    edit_template(source, lambda t: t["bots"][0].update(supportsDragons=True))
    [problem] = problems_of(source, tmp_path)
    assert problem.startswith("schema (teams-manifest-1.30.schema.json): at bots/0: ")
    assert "'supportsDragons' was unexpected" in problem


def test_manifest_not_at_zip_root(tmp_path):
    good = build_package(settings(), tmp_path / "good.zip")
    wrong = tmp_path / "wrong.zip"
    with zipfile.ZipFile(good) as package, zipfile.ZipFile(wrong, "w") as nested:
        for name in package.namelist():
            nested.writestr(f"terugkoppeling/{name}", package.read(name))
    with pytest.raises(ManifestError) as caught:
        validate_package(wrong)
    assert caught.value.problems == [
        "manifest.json must be at the root of the zip, not at terugkoppeling/manifest.json"
    ]


def test_extra_file_in_the_zip(tmp_path):
    good = build_package(settings(), tmp_path / "good.zip")
    with zipfile.ZipFile(good, "a") as package:
        package.writestr("notes.txt", "hallo")
    with pytest.raises(ManifestError) as caught:
        validate_package(good)
    assert caught.value.problems == [
        "notes.txt does not belong in the package (only manifest.json and the icons it names)"
    ]


def test_every_problem_is_reported_at_once(source, tmp_path):
    (source / "color.png").write_bytes(icons.encode_png(32, 32, [(11, 59, 140)] * 32 * 32, alpha=False))
    (source / "outline.png").unlink()
    problems = problems_of(source, tmp_path, app_id="")
    assert "colour icon color.png is 32x32 pixels; Teams requires 192x192" in problems
    assert "icons.outline: outline.png is missing from the package" in problems
    assert "id '' is not a GUID (it is the app id: set MicrosoftAppId)" in problems
    assert "id '' is not a GUID" in str(ManifestError(problems))
