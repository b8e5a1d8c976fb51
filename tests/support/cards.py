"""Every card the bot emits in a test is checked against the official Adaptive Card 1.5 schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "adaptive-card-1.5.json"


@cache
def validator() -> Draft6Validator:
    return Draft6Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def assert_valid_card(card: dict[str, Any]) -> None:
    errors = sorted(validator().iter_errors(card), key=lambda e: list(e.absolute_path))
    assert not errors, "card is not valid Adaptive Card 1.5:\n" + "\n".join(
        f"  at {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:10]
    )
    assert card.get("version") == "1.5"


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
