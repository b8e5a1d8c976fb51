"""Every piece of text on every card the bot shows reads with WCAG AA contrast (at least 4.5:1) in
Teams' light and dark themes: its colour and the background it sits on are taken from the Teams host
configs (tests/data/hostconfig-teams-{light,dark}.json, the ones the renderer uses), following the
container styles it is nested in. "Good" green (2.07:1) and "Warning" yellow (1.47:1) on white, and
"Attention" red on the dark background (3.24:1), fail: the cards put such titles on a band instead."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.model import Reason
from bot.teams import texts
from bot.teams.cards import Cards
from tools.render_examples import example_cards

DATA = Path(__file__).resolve().parents[1] / "data"
AA = 4.5


def host_config(theme: str) -> dict[str, Any]:
    return json.loads((DATA / f"hostconfig-teams-{theme}.json").read_text(encoding="utf-8"))


def rgba(colour: str) -> tuple[float, float, float, float]:
    """A host-config colour: #RRGGBB, or #AARRGGBB (alpha first, as Adaptive Cards writes it)."""
    digits = colour.removeprefix("#")
    alpha = int(digits[:2], 16) / 255 if len(digits) == 8 else 1.0
    digits = digits[-6:]
    return (*(int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4)), alpha)


def over(fg: tuple[float, float, float, float], bg: tuple[float, float, float]) -> tuple[float, float, float]:
    *rgb, alpha = fg
    return tuple(alpha * f + (1 - alpha) * b for f, b in zip(rgb, bg, strict=True))  # type: ignore[return-value]


def luminance(rgb: tuple[float, float, float]) -> float:
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_runs(node: Any, style: str = "default") -> Iterator[tuple[str, str, str, bool]]:
    """(text, container style, colour, subtle) for every text a person reads, depth first."""
    if isinstance(node, list):
        for item in node:
            yield from text_runs(item, style)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind in ("AdaptiveCard", "Container", "Column") and node.get("style"):
        style = node["style"]
    if kind in ("TextBlock", "TextRun"):
        yield node["text"], style, node.get("color", "default"), bool(node.get("isSubtle", False))
    if kind == "FactSet":
        for fact in node["facts"]:
            yield fact["title"], style, "factset-title", False
            yield fact["value"], style, "factset-value", False
    for key, value in node.items():
        if key != "refresh" and isinstance(value, dict | list):
            yield from text_runs(value, style)


def colour_of(config: dict[str, Any], style: str, colour: str, subtle: bool) -> tuple[float, float, float, float]:
    if colour.startswith("factset-"):
        part = config["factSet"][colour.removeprefix("factset-")]
        colour, subtle = part.get("color", "default"), part.get("isSubtle", False)
    foreground = config["containerStyles"][style.lower()]["foregroundColors"][colour.lower()]
    return rgba(foreground["subtle" if subtle else "default"])


def every_card() -> dict[str, dict[str, Any]]:
    """The example cards (every kind, tools/render_examples.py) and every refusal and warning."""
    cards = Cards(admin_contact="beheer@vdab.example")
    shown = dict(example_cards())
    shown.update({f"refusal-{reason.value}": cards.refusal(reason, "d" * 22) for reason in Reason})
    shown["cancelled"] = cards.message(texts.CANCELLED_TITLE, texts.CANCELLED_TEXT, offer_new=True)
    shown["not-delivered"] = {"type": "AdaptiveCard", "version": "1.5", "body": [cards.warning(texts.NOT_DELIVERED)]}
    return shown


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_text_on_every_card_has_aa_contrast(theme):
    config = host_config(theme)
    checked, failures = 0, []
    for name, card in every_card().items():
        for text, style, colour, subtle in text_runs(card):
            background = rgba(config["containerStyles"][style.lower()]["backgroundColor"])[:3]
            ratio = contrast(over(colour_of(config, style, colour, subtle), background), background)
            checked += 1
            if ratio < AA:
                failures.append(f"{name}: {text[:40]!r} ({colour} on {style}) {ratio:.2f}:1")
    assert checked > 150  # the walk found the cards' text
    assert failures == []


def test_the_check_catches_what_the_issue_measured():
    """The measurement itself: the old receipt and repeat-warning titles fail, as reported."""
    light, dark = host_config("light"), host_config("dark")
    white = rgba(light["containerStyles"]["default"]["backgroundColor"])[:3]
    dark_bg = rgba(dark["containerStyles"]["default"]["backgroundColor"])[:3]
    assert round(contrast(over(colour_of(light, "default", "Good", False), white), white), 2) == 2.07
    assert round(contrast(over(colour_of(light, "default", "Warning", False), white), white), 2) == 1.47
    assert contrast(over(colour_of(dark, "default", "Attention", False), dark_bg), dark_bg) < AA


def test_no_card_template_names_a_text_colour_that_fails_on_a_plain_card():
    """Cards added later are covered too: a template may colour text only with a colour that has AA
    contrast on the plain and the emphasis background in both themes, and never from data."""
    from bot.teams.cards import CARDS_DIR
    from tests.support.cards import nodes

    def passes(colour: str, subtle: bool) -> bool:
        for theme in ("light", "dark"):
            config = host_config(theme)
            for style in ("default", "emphasis"):
                background = rgba(config["containerStyles"][style]["backgroundColor"])[:3]
                if contrast(over(colour_of(config, style, colour, subtle), background), background) < AA:
                    return False
        return True

    for path in sorted(Path(CARDS_DIR).glob("*.json")):
        for node in nodes(json.loads(path.read_text(encoding="utf-8"))):
            if node.get("type") in ("TextBlock", "TextRun") and "color" in node:
                colour = node["color"]
                assert not colour.startswith("$"), (path.name, colour)
                assert passes(colour, bool(node.get("isSubtle"))), (path.name, node.get("text"), colour)
