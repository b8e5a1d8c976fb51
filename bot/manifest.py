"""The Teams app package: ``manifest/manifest.template.json`` and its two icons, filled in and validated.

    build_package(settings, Path("build/terugkoppeling-teams.zip"))

The template holds placeholders such as ``"{{TEAMS_APP_ID}}"`` as whole JSON values; they are filled in
the parsed document, never by replacing text, so a value can never become JSON syntax. The package
is checked against the official manifest schema and against the rules Teams applies on upload
(zip layout, icons, GUIDs, command scopes); every problem found is reported at once.
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from bot import resources

MANIFEST_DIR = resources.manifest_dir()
SCHEMA = MANIFEST_DIR / "schema" / "teams-manifest-1.30.schema.json"
TEMPLATE = "manifest.template.json"
DEFAULT_OUT = Path("build/terugkoppeling-teams.zip")

# Placeholder VDAB pages until the service has its own; override per environment.
DEVELOPER_URL = "https://www.vdab.be"
PRIVACY_URL = "https://www.vdab.be/privacy"
TERMS_URL = "https://www.vdab.be/gebruiksvoorwaarden"
SHORT_NAME = "Terugkoppeling"
FULL_NAME = "Terugkoppeling naar de trajectbegeleider"

COLOR_SIZE = (192, 192)
OUTLINE_SIZE = (32, 32)
GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
PLACEHOLDER = re.compile(r"^\{\{([A-Z_]+)\}\}$")


class ManifestError(Exception):
    """The package would not be accepted; ``problems`` names each reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("the Teams app package is not valid:\n" + "\n".join(f"- {p}" for p in self.problems))


class HasAppId(Protocol):
    """What the package needs from the settings (``bot.config.Settings`` has it)."""

    @property
    def app_id(self) -> str: ...


# -- building -----------------------------------------------------------------------------------


def project_version() -> str:
    """The version in ``pyproject.toml`` (or the installed copy's), which Teams needs raised for every update."""
    return resources.project_version()


def fill(template: Any, values: Mapping[str, object]) -> Any:
    """``template`` with each whole-value placeholder ``"{{NAME}}"`` replaced by ``values[NAME]``."""
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(item, values) for item in template]
    if isinstance(template, str) and "{{" in template:
        match = PLACEHOLDER.match(template)
        if match is None:
            raise ManifestError([f"template: a placeholder must be a whole value, not part of {template!r}"])
        if match[1] not in values:
            raise ManifestError([f"template: no value for placeholder {template}"])
        return values[match[1]]
    return template


def build_package(
    settings: HasAppId,
    out: Path,
    *,
    version: str | None = None,
    short_name: str = SHORT_NAME,
    full_name: str = FULL_NAME,
    developer_url: str = DEVELOPER_URL,
    privacy_url: str = PRIVACY_URL,
    terms_url: str = TERMS_URL,
    valid_domains: Sequence[str] = (),
    source: Path = MANIFEST_DIR,
    teams_app_id: str | None = None,
) -> Path:
    """Fill the template in ``source``, validate, write the zip to ``out``.

    The bot id is ``MicrosoftAppId``; the Teams app id is ``teams_app_id`` (``BOT_TEAMS_APP_ID``), by
    default the same.
    """
    template = json.loads((source / TEMPLATE).read_text(encoding="utf-8"))
    manifest = fill(template, {
        "TEAMS_APP_ID": teams_app_id or settings.app_id,
        "BOT_ID": settings.app_id,
        "VERSION": version or project_version(),
        "SHORT_NAME": short_name,
        "FULL_NAME": full_name,
        "DEVELOPER_URL": developer_url,
        "PRIVACY_URL": privacy_url,
        "TERMS_URL": terms_url,
        "VALID_DOMAINS": list(valid_domains),
    })
    files = _package_files(manifest, source)
    problems = check_package(files)
    if problems:
        raise ManifestError(problems)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in files.items():
            package.writestr(name, data)
    return out


def _package_files(manifest: dict[str, Any], source: Path) -> dict[str, bytes]:
    files = {"manifest.json": (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")}
    icons = manifest.get("icons")
    for name in icons.values() if isinstance(icons, dict) else ():
        if isinstance(name, str) and (source / name).is_file():
            files[name] = (source / name).read_bytes()
    return files


# The Microsoft 365 Agents Toolkit fills ``${{NAME}}`` from env/.env.<environment> when it zips appPackage/.
AGENTS_TOOLKIT_VALUES = {
    "TEAMS_APP_ID": "${{TEAMS_APP_ID}}",
    "BOT_ID": "${{BOT_ID}}",
    "SHORT_NAME": SHORT_NAME + "${{APP_NAME_SUFFIX}}",
    "FULL_NAME": FULL_NAME + "${{APP_NAME_SUFFIX}}",
}


def agents_toolkit_files(*, version: str | None = None, source: Path = MANIFEST_DIR) -> dict[str, bytes]:
    """The Agents Toolkit's ``appPackage/``: the same template and icons, with the toolkit's placeholders.

    The Teams app id, the bot id and an environment suffix in the app's name (so dev, test and
    production can live side by side in one tenant) are left as ``${{…}}`` for the toolkit.
    """
    template = json.loads((source / TEMPLATE).read_text(encoding="utf-8"))
    manifest = fill(template, {
        **AGENTS_TOOLKIT_VALUES,
        "VERSION": version or project_version(),
        "DEVELOPER_URL": DEVELOPER_URL,
        "PRIVACY_URL": PRIVACY_URL,
        "TERMS_URL": TERMS_URL,
        "VALID_DOMAINS": [],
    })
    return _package_files(manifest, source)


def write_agents_toolkit_folder(folder: Path) -> Path:
    """Write ``agents_toolkit_files()`` into ``folder`` (``appPackage/``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in agents_toolkit_files().items():
        (folder / name).write_bytes(data)
    return folder


# -- validating ---------------------------------------------------------------------------------


def validate_package(path: Path) -> None:
    """Raise ``ManifestError`` unless the zip at ``path`` is a package Teams accepts."""
    try:
        with zipfile.ZipFile(path) as package:
            files = {info.filename: package.read(info) for info in package.infolist() if not info.is_dir()}
    except (OSError, zipfile.BadZipFile) as error:
        raise ManifestError([f"{path} is not a readable zip file ({error})"]) from None
    problems = check_package(files)
    if problems:
        raise ManifestError(problems)


def check_package(files: Mapping[str, bytes]) -> list[str]:
    """Every problem with a package, given its files (path in the zip → content)."""
    if "manifest.json" not in files:
        nested = [name for name in files if name.endswith("/manifest.json")]
        if nested:
            return [f"manifest.json must be at the root of the zip, not at {nested[0]}"]
        return ["manifest.json is missing from the package"]
    try:
        manifest = json.loads(files["manifest.json"].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return [f"manifest.json is not valid UTF-8 JSON ({error})"]
    if not isinstance(manifest, dict):
        return ["manifest.json must hold a JSON object"]
    return _schema_problems(manifest) + _manifest_problems(manifest) + _file_problems(manifest, files)


@cache
def _validator() -> Any:
    # jsonschema is imported here so that the server never needs it. The schema says draft-04 but
    # uses draft-06's "const" (for manifestVersion); Draft 6 checks that and reads the rest the same.
    from jsonschema import Draft6Validator

    return Draft6Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def _schema_problems(manifest: dict[str, Any]) -> list[str]:
    errors = sorted(_validator().iter_errors(manifest), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"schema ({SCHEMA.name}): at {_where(e.absolute_path)}: {_short(e.message)}" for e in errors]


def _manifest_problems(manifest: dict[str, Any]) -> list[str]:
    problems = []
    if not GUID.match(str(manifest.get("id", ""))):
        problems.append(f"id {manifest.get('id')!r} is not a GUID (it is the app id: set MicrosoftAppId)")
    if not SEMVER.match(str(manifest.get("version", ""))):
        problems.append(f"version {manifest.get('version')!r} is not MAJOR.MINOR.PATCH")
    for b, bot in enumerate(_list(manifest.get("bots"))):
        if not isinstance(bot, dict):
            continue
        if not GUID.match(str(bot.get("botId", ""))):
            problems.append(f"bots[{b}].botId {bot.get('botId')!r} is not a GUID")
        scopes = bot.get("scopes") or []
        for c, command_list in enumerate(_list(bot.get("commandLists"))):
            for scope in _list(command_list.get("scopes")) if isinstance(command_list, dict) else []:
                if scope not in scopes:
                    problems.append(f"bots[{b}].commandLists[{c}] has scope {scope!r}, "
                                    f"which is not one of the bot's scopes {scopes}")
    return problems


def _file_problems(manifest: dict[str, Any], files: Mapping[str, bytes]) -> list[str]:
    named = manifest.get("icons")
    icons = {k: v for k, v in named.items() if isinstance(v, str)} if isinstance(named, dict) else {}
    problems = [
        f"icons.{kind}: {name} is missing from the package" for kind, name in icons.items() if name not in files
    ]
    problems += [
        f"{name} does not belong in the package (only manifest.json and the icons it names)"
        for name in files
        if name != "manifest.json" and name not in icons.values()
    ]
    for kind, label, size in (("color", "colour icon", COLOR_SIZE), ("outline", "outline icon", OUTLINE_SIZE)):
        if icons.get(kind) in files:
            problems += _icon_problems(label, icons[kind], files[icons[kind]], size, outline=kind == "outline")
    return problems


def _icon_problems(label: str, name: str, data: bytes, size: tuple[int, int], *, outline: bool) -> list[str]:
    try:
        png = read_png(data)
    except ValueError as error:
        return [f"{label} {name} is not a readable PNG ({error})"]
    problems = []
    if (png.width, png.height) != size:
        problems.append(f"{label} {name} is {png.width}x{png.height} pixels; Teams requires {size[0]}x{size[1]}")
    if outline:
        if not png.has_alpha or all(pixel[3] == 255 for pixel in png.pixels):
            problems.append(f"{label} {name} has no transparency: it must be white on a transparent background")
        coloured = [i for i, (r, g, b, a) in enumerate(png.pixels) if a and (r, g, b) != (255, 255, 255)]
        if coloured:
            x, y = coloured[0] % png.width, coloured[0] // png.width
            problems.append(
                f"{label} {name} has {len(coloured)} pixel(s) that are neither white nor transparent "
                f"(the first at x={x}, y={y} is #{bytes(png.pixels[coloured[0]][:3]).hex()})"
            )
    return problems


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _where(path: Sequence[object]) -> str:
    return "/".join(str(part) for part in path) or "(top level)"


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


# -- a tiny PNG reader --------------------------------------------------------------------------


@dataclass(frozen=True)
class Png:
    width: int
    height: int
    has_alpha: bool
    pixels: list[tuple[int, int, int, int]]  # RGBA, row by row, top left first


CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type → samples per pixel


def read_png(data: bytes) -> Png:
    """Decode an 8-bit, non-interlaced PNG (grey, RGB, palette, with or without alpha) to RGBA."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("no PNG signature")
    chunks: dict[bytes, bytes] = {}
    idat = bytearray()
    position = 8
    try:
        while position < len(data):
            length, kind = struct.unpack(">I4s", data[position:position + 8])
            body = data[position + 8:position + 8 + length]
            position += 12 + length
            if kind == b"IDAT":
                idat += body
            chunks.setdefault(kind, body)
            if kind == b"IEND":
                break
        width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
        raw = zlib.decompress(bytes(idat))
    except (struct.error, KeyError, zlib.error) as error:
        raise ValueError(f"damaged file: {error}") from None
    if depth != 8 or interlace or colour not in CHANNELS:
        raise ValueError(f"unsupported: bit depth {depth}, colour type {colour}, interlace {interlace}")
    channels = CHANNELS[colour]
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise ValueError("image data does not match the image size")

    samples = bytearray()
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b, c = previous[x], (previous[x - channels] if x >= channels else 0)
            if kind == 1:
                line[x] = (line[x] + a) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + b) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                nearest = min((abs(p - a), 0, a), (abs(p - b), 1, b), (abs(p - c), 2, c))[2]
                line[x] = (line[x] + nearest) & 0xFF
            elif kind != 0:
                raise ValueError(f"unknown filter type {kind} in row {y}")
        samples += line
        previous = line

    groups = [tuple(samples[i:i + channels]) for i in range(0, len(samples), channels)]
    if colour == 3:
        palette, alphas = chunks.get(b"PLTE", b""), chunks.get(b"tRNS", b"")
        entries = [(*palette[i * 3:i * 3 + 3], alphas[i] if i < len(alphas) else 255) for i in range(len(palette) // 3)]
        try:
            pixels = [entries[g[0]] for g in groups]
        except IndexError:
            raise ValueError("palette index out of range") from None
        return Png(width, height, b"tRNS" in chunks, pixels)
    to_rgba: dict[int, Callable[[tuple[int, ...]], tuple[int, int, int, int]]] = {
        0: lambda g: (g[0], g[0], g[0], 255),
        2: lambda g: (g[0], g[1], g[2], 255),
        4: lambda g: (g[0], g[0], g[0], g[1]),
        6: lambda g: (g[0], g[1], g[2], g[3]),
    }
    rgba = to_rgba[colour]
    return Png(width, height, colour in (4, 6), [rgba(g) for g in groups])


# -- command line -------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m bot manifest``."""
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"the zip to write (default {DEFAULT_OUT})")
    parser.add_argument("--app-id", help="the bot id (default: MicrosoftAppId)")
    parser.add_argument("--teams-app-id", help="the Teams app id (default: BOT_TEAMS_APP_ID, else the bot id)")
    parser.add_argument("--version", dest="app_version", help="the app version (default: pyproject.toml's)")
    parser.add_argument("--developer-url", default=DEVELOPER_URL)
    parser.add_argument("--privacy-url", default=PRIVACY_URL)
    parser.add_argument("--terms-url", default=TERMS_URL)
    parser.add_argument("--valid-domain", action="append", default=[], help="a domain for validDomains (repeatable)")
    parser.add_argument("--agents-toolkit", type=Path, metavar="DIR",
                        help="instead: write the Agents Toolkit's appPackage/ folder (ids left to the toolkit)")


@dataclass(frozen=True)
class _App:
    app_id: str


def run(args: argparse.Namespace, settings: HasAppId) -> int:
    """Build the package; print its path, or every problem (exit status 1)."""
    if getattr(args, "agents_toolkit", None):
        print(write_agents_toolkit_folder(args.agents_toolkit))
        return 0
    try:
        out = build_package(
            _App(args.app_id or settings.app_id),
            args.out,
            teams_app_id=args.teams_app_id or getattr(settings, "teams_app_id", "") or None,
            version=args.app_version,
            developer_url=args.developer_url,
            privacy_url=args.privacy_url,
            terms_url=args.terms_url,
            valid_domains=args.valid_domain,
        )
    except ManifestError as error:
        print(error, file=sys.stderr)
        return 1
    print(out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m bot.manifest [--out PATH] …``, with the settings from the environment."""
    from pydantic import ValidationError

    from bot.config import Settings

    parser = argparse.ArgumentParser(prog="python -m bot manifest", description="Build the Teams app package.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    return run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
