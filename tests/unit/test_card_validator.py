"""The tests' Adaptive Card validator (tests/support/cards.py) skips ``anyOf`` branches that cannot
match an element's ``type``: it must give the plain jsonschema validator's verdict on every card,
valid or broken."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from jsonschema import Draft6Validator

from tests.support import cards

DOC_CARDS = sorted((Path(__file__).resolve().parents[2] / "docs" / "cards").glob("*.json"))


def variants(card: dict) -> list[dict]:
    broken = []
    for change in (
        lambda c: c.__setitem__("body", [{"type": "Nope", "text": "x"}]),
        lambda c: c.__setitem__("body", [{"type": "Container", "items": [{"type": "TextBlock", "text": 5}]}]),
        lambda c: c.__setitem__("body", [{"text": "an element without a type"}]),
        lambda c: c.__setitem__("body", [{"type": "TextBlock"}]),
        lambda c: c.__setitem__("actions", [{"type": "Action.Execute", "title": 3}]),
        lambda c: c.__setitem__("actions", [{"type": "Action.Submit", "title": "x", "data": {}}]),
        lambda c: c.__setitem__("version", 1.5),
    ):
        changed = copy.deepcopy(card)
        change(changed)
        broken.append(changed)
    return [card, *broken]


def test_the_shortcut_gives_the_plain_validators_verdict():
    plain = Draft6Validator(json.loads(cards.SCHEMA.read_text(encoding="utf-8")))
    checked = 0
    for path in DOC_CARDS:
        for card in variants(json.loads(path.read_text(encoding="utf-8"))):
            assert cards.validator().is_valid(card) == plain.is_valid(card), (path.name, json.dumps(card)[:200])
            checked += 1
    assert len(DOC_CARDS) >= 10 and checked >= 80
    assert plain.is_valid(json.loads(DOC_CARDS[0].read_text(encoding="utf-8")))  # the docs' cards are valid
    assert not cards.validator().is_valid(variants({"type": "AdaptiveCard", "version": "1.5", "body": []})[1])
