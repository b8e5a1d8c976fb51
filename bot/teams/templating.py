"""Bind data to Adaptive Card JSON templates structurally — never by string replacement.

A subset of the Adaptive Cards Templating language, enough for this bot's cards:

- ``"${path}"`` as a whole string becomes the value at ``path`` (any JSON type);
- ``"text ${path} text"`` interpolates the value as text;
- ``"$when": "${path}"`` (or ``"${!path}"``) keeps an object only when the value is truthy (falsy);
- ``"$data": "${path}"`` repeats an object for each item of a list, with the item's keys in scope;
- ``{"$include": "name"}`` splices in the elements of another template (``cards/name.json``).

Values are inserted after the template is parsed and are never parsed again, so a name like
``"}], ${naam}`` ends up in the card literally. Unknown paths raise ``KeyError``: a template
that names data the code does not supply is a bug, found by the tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

_WHOLE = re.compile(r"\$\{(!?)([A-Za-z_][\w.]*)\}")
_EMBEDDED = re.compile(r"\$\{([A-Za-z_][\w.]*)\}")

Json = Any
Loader = Callable[[str], Json]


def _lookup(scope: Mapping[str, Any], path: str) -> Any:
    value: Any = scope
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(f"template data has no {path!r}")
        value = value[part]
    return value


def _string(template: str, scope: Mapping[str, Any]) -> Any:
    if "${" not in template:  # most strings of a card are literal: no pattern to look for
        return template
    if (whole := _WHOLE.fullmatch(template)) and not whole.group(1):
        return _lookup(scope, whole.group(2))
    return _EMBEDDED.sub(lambda m: _text(_lookup(scope, m.group(1))), template)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _when(condition: str, scope: Mapping[str, Any]) -> bool:
    match = _WHOLE.fullmatch(condition)
    if match is None:
        raise ValueError(f"$when must be ${{path}} or ${{!path}}, not {condition!r}")
    value = bool(_lookup(scope, match.group(2)))
    return not value if match.group(1) else value


def _list(items: list[Json], scope: Mapping[str, Any], load: Loader) -> list[Json]:
    bound: list[Json] = []
    for item in items:
        if isinstance(item, dict) and "$include" in item:
            bound.extend(_list(load(item["$include"]), scope, load))
        elif isinstance(item, dict) and "$data" in item:
            template = {k: v for k, v in item.items() if k != "$data"}
            for element in _lookup(scope, _WHOLE.fullmatch(item["$data"]).group(2)):  # type: ignore[union-attr]
                bound.extend(_list([template], {**scope, **element}, load))
        elif not (isinstance(item, dict) and "$when" in item and not _when(item["$when"], scope)):
            bound.append(_bind(item, scope, load))
    return bound


def _bind(node: Json, scope: Mapping[str, Any], load: Loader) -> Json:
    if isinstance(node, str):
        return _string(node, scope)
    if isinstance(node, list):
        return _list(node, scope, load)
    if isinstance(node, dict):
        return {key: _bind(value, scope, load) for key, value in node.items() if key != "$when"}
    return node


class CardTemplates:
    """The card templates of one folder, parsed once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @cache  # noqa: B019 - one instance per process; templates never change while running
    def _load(self, name: str) -> Json:
        return json.loads((self.folder / f"{name}.json").read_text(encoding="utf-8"))

    def bind(self, name: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """The card ``name`` with ``data`` bound into it (a fresh object every call)."""
        card: dict[str, Any] = _bind(self._load(name), data, self._load)
        return card
