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


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# -- compiled once per template: each node becomes a function of the data (issue 16) -------------
# A card is bound for every message (a sweep's reminders: one each), so the template's structure
# is read once, not walked and pattern-matched per call. The result is the same as walking it:
# fresh objects every call, values inserted and never parsed again, errors raised when the node
# that causes them is bound (not when it is compiled).

Scope = Mapping[str, Any]
Bound = Callable[[Scope], Json]  # a node: the value it binds to
Emit = Callable[[Scope, list[Json]], None]  # a list item: appends what it binds to (zero or more)


def _constant(value: Json) -> Bound:
    return lambda _scope: value


def _path(path: str) -> Bound:
    if "." in path:
        return lambda scope: _lookup(scope, path)

    def one(scope: Scope) -> Any:  # _lookup of a path of one part
        if (type(scope) is not dict and not isinstance(scope, Mapping)) or path not in scope:
            raise KeyError(f"template data has no {path!r}")
        return scope[path]

    return one


def _compile_string(template: str) -> Bound:
    if "${" not in template:  # most strings of a card are literal
        return _constant(template)
    if (whole := _WHOLE.fullmatch(template)) and not whole.group(1):
        return _path(whole.group(2))
    pieces = _EMBEDDED.split(template)  # literal, path, literal, …, literal (as re.sub goes through it)
    literals, paths = pieces[0::2], [_path(p) for p in pieces[1::2]]

    def embedded(scope: Scope) -> str:
        out = [literals[0]]
        for value_of, literal in zip(paths, literals[1:], strict=True):
            out.append(_text(value_of(scope)))
            out.append(literal)
        return "".join(out)

    return embedded


def _compile_when(condition: str) -> Callable[[Scope], bool]:
    match = _WHOLE.fullmatch(condition)
    if match is None:
        def malformed(_scope: Scope) -> bool:
            raise ValueError(f"$when must be ${{path}} or ${{!path}}, not {condition!r}")
        return malformed
    value_of, negated = _path(match.group(2)), bool(match.group(1))
    return lambda scope: not value_of(scope) if negated else bool(value_of(scope))


def _compile(node: Json, load: Loader) -> Bound:
    if isinstance(node, str):
        return _compile_string(node)
    if isinstance(node, list):
        emits = [_compile_item(item, load) for item in node]

        def bound_list(scope: Scope) -> list[Json]:
            out: list[Json] = []
            for emit in emits:
                emit(scope, out)
            return out

        return bound_list
    if isinstance(node, dict):
        fields = {key: value for key, value in node.items() if key != "$when"}
        if all(not isinstance(v, (dict, list)) and not (isinstance(v, str) and "${" in v) for v in fields.values()):
            return lambda _scope: dict(fields)  # only literal scalars: a copy is the bound object
        compiled = [(key, _compile(value, load)) for key, value in fields.items()]
        return lambda scope: {key: value_of(scope) for key, value_of in compiled}
    return _constant(node)  # a number, true/false or null


def _compile_item(item: Json, load: Loader) -> Emit:
    """One element of a list: spliced (``$include``), repeated (``$data``), kept only ``$when``, or bound."""
    if isinstance(item, dict) and "$include" in item:
        name = item["$include"]
        included: list[list[Emit]] = []  # compiled when first bound, as it was loaded then

        def include(scope: Scope, out: list[Json]) -> None:
            if not included:
                included.append([_compile_item(i, load) for i in load(name)])
            for emit in included[0]:
                emit(scope, out)

        return include
    if isinstance(item, dict) and "$data" in item:
        source = item["$data"]
        each = _compile_item({k: v for k, v in item.items() if k != "$data"}, load)

        def repeat(scope: Scope, out: list[Json]) -> None:
            for element in _lookup(scope, _WHOLE.fullmatch(source).group(2)):  # type: ignore[union-attr]
                each({**scope, **element}, out)

        return repeat
    bind = _compile(item, load)
    if isinstance(item, dict) and "$when" in item:
        when = _compile_when(item["$when"])

        def conditional(scope: Scope, out: list[Json]) -> None:
            if when(scope):
                out.append(bind(scope))

        return conditional
    return lambda scope, out: out.append(bind(scope))


class CardTemplates:
    """The card templates of one folder, parsed once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @cache  # noqa: B019 - one instance per process; templates never change while running
    def _load(self, name: str) -> Json:
        return json.loads((self.folder / f"{name}.json").read_text(encoding="utf-8"))

    @cache  # noqa: B019 - as _load
    def _compiled(self, name: str) -> Bound:
        return _compile(self._load(name), self._load)

    def bind(self, name: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """The card ``name`` with ``data`` bound into it (a fresh object every call)."""
        card: dict[str, Any] = self._compiled(name)(data)
        return card
