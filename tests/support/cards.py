"""Every card the bot emits in a test is checked against the official Adaptive Card 1.5 schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator, validators
from jsonschema import _keywords as keywords

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "adaptive-card-1.5.json"


@cache
def validator() -> Any:
    """The schema's validator, with one shortcut that changes no verdict.

    The schema lists every element and action as ``anyOf`` branches ``{"required": ["type"],
    "allOf": [{"$ref": "#/definitions/X"}]}`` whose definition fixes ``properties.type.enum``, and
    jsonschema descends into every branch, nested containers included: about 60 % of the e2e
    suite's time went into checking cards. A branch whose enum does not hold the object's
    ``type`` fails anyway, so it is skipped (when none is left, all are tried, for the message)."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    definitions = schema["definitions"]
    allowed: dict[int, frozenset[str] | None] = {}

    def types_of(branch: Any) -> frozenset[str] | None:
        key = id(branch)
        if key not in allowed:
            refs = [part.get("$ref", "") for part in branch.get("allOf", [])] if isinstance(branch, dict) else []
            enum = None
            if branch.get("required") == ["type"] and len(refs) == 1 and refs[0].startswith("#/definitions/"):
                target = definitions.get(refs[0].removeprefix("#/definitions/"), {})
                enum = target.get("properties", {}).get("type", {}).get("enum")
            allowed[key] = frozenset(enum) if enum else None
        return allowed[key]

    def any_of(validator: Any, branches: list[Any], instance: Any, schema: Any) -> Any:
        if isinstance(instance, dict) and isinstance(instance.get("type"), str):
            kept = [b for b in branches if (types := types_of(b)) is None or instance["type"] in types]
            branches = kept or branches
        yield from keywords.anyOf(validator, branches, instance, schema)

    return validators.extend(Draft6Validator, {"anyOf": any_of})(schema)


_valid: set[str] = set()  # cards already checked: a test sees the same card several times


def assert_valid_card(card: dict[str, Any]) -> None:
    key = json.dumps(card, sort_keys=True)
    if key in _valid:
        return
    errors = sorted(validator().iter_errors(card), key=lambda e: list(e.absolute_path))
    assert not errors, "card is not valid Adaptive Card 1.5:\n" + "\n".join(
        f"  at {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:10]
    )
    assert card.get("version") == "1.5"
    _valid.add(key)


def nodes(card: Any) -> Iterator[dict[str, Any]]:
    """Every object in the card, depth first, in document order."""
    if isinstance(card, dict):
        yield card
        card = list(card.values())
    if isinstance(card, list):
        for item in card:
            yield from nodes(item)


def texts(card: dict[str, Any]) -> list[str]:
    """Every piece of text a person would read on the card, in order (a ``refresh`` is not shown)."""
    return [
        node[key]
        for node in nodes({k: v for k, v in card.items() if k != "refresh"})
        if node.get("type") not in ("Input.Date", "Input.Time")
        for key in ("text", "title", "label", "value", "placeholder")
        if isinstance(node.get(key), str)
    ]


def verbs(card: dict[str, Any]) -> list[str]:
    return [a["verb"] for a in card.get("actions", []) if a.get("type") == "Action.Execute"]


def action_data(card: dict[str, Any], verb: str) -> dict[str, Any]:
    return next(a["data"] for a in card["actions"] if a.get("verb") == verb)


def inputs(card: dict[str, Any]) -> dict[str, Any]:
    """Input id → current value, for every input on the card."""
    return {n["id"]: n.get("value") for n in nodes(card) if str(n.get("type", "")).startswith("Input.") and "id" in n}
