"""Cards are bound structurally: data never becomes template syntax."""

import json

import pytest

from bot.teams.templating import CardTemplates


@pytest.fixture
def templates(tmp_path):
    (tmp_path / "card.json").write_text(json.dumps({
        "type": "AdaptiveCard",
        "body": [
            {"type": "TextBlock", "text": "Hallo ${naam}"},
            {"$when": "${fout}", "type": "TextBlock", "text": "${fout}"},
            {"$when": "${!fout}", "type": "TextBlock", "text": "geen fout"},
            {"$data": "${rijen}", "type": "TextRun", "text": "${label}: ${waarde}"},
            {"$include": "_deel"},
        ],
        "data": {"id": "${id}", "n": "${n}"},
    }))
    (tmp_path / "_deel.json").write_text(json.dumps([{"type": "TextBlock", "text": "deel ${naam}"}]))
    return CardTemplates(tmp_path)


def test_injection_renders_literally(templates):
    evil = '"}], ${naam} {"type": "Action.OpenUrl"}'
    card = templates.bind("card", {"naam": evil, "fout": "", "rijen": [], "id": "x", "n": 1})
    assert card["body"][0]["text"] == f"Hallo {evil}"
    assert card["body"][2]["text"] == f"deel {evil}"
    assert len(card["body"]) == 3


def test_when_data_and_whole_values(templates):
    card = templates.bind(
        "card", {"naam": "A", "fout": "Vul dit in.", "rijen": [{"label": "a", "waarde": "1"},
                                                           {"label": "b", "waarde": "2"}], "id": "d1", "n": 3}
    )
    texts = [e["text"] for e in card["body"]]
    assert texts == ["Hallo A", "Vul dit in.", "a: 1", "b: 2", "deel A"]
    assert card["data"] == {"id": "d1", "n": 3}
    assert all("$when" not in e and "$data" not in e for e in card["body"])


def test_missing_data_is_a_bug(templates):
    with pytest.raises(KeyError):
        templates.bind("card", {"naam": "A"})


def test_a_list_under_when_repeats_inside_and_an_empty_one_drops_the_container(tmp_path):
    """How a field's errors show: one line each inside a band, no band when there are none."""
    (tmp_path / "form.json").write_text(json.dumps({"type": "AdaptiveCard", "body": [
        {"$when": "${errors.naam}", "type": "Container", "style": "attention", "items": [
            {"$data": "${errors.naam}", "type": "TextBlock", "text": "${tekst}"}]}]}))
    templates = CardTemplates(tmp_path)
    two = templates.bind("form", {"errors": {"naam": [{"tekst": "Eén ${x}"}, {"tekst": "Twee"}]}})
    assert [line["text"] for line in two["body"][0]["items"]] == ["Eén ${x}", "Twee"]  # literal, never re-parsed
    assert templates.bind("form", {"errors": {"naam": []}})["body"] == []


def test_each_bind_is_a_fresh_card_the_template_is_compiled_once(tmp_path):
    """Compiled once per template (issue 16), yet no two cards share an object: changing one
    changes neither the next card nor the template."""
    (tmp_path / "card.json").write_text(json.dumps({"type": "AdaptiveCard", "body": [
        {"type": "TextBlock", "text": "Hallo ${naam}"},
        {"type": "TextBlock", "text": "vast", "wrap": True},  # literal only
        {"$data": "${rijen}", "type": "TextRun", "text": "${label}"},
    ], "msteams": {"width": "Full"}}))
    templates = CardTemplates(tmp_path)
    data = {"naam": "A", "rijen": [{"label": "a"}, {"label": "b"}]}
    first = templates.bind("card", data)
    expected = json.loads(json.dumps(first))
    assert [e["text"] for e in expected["body"]] == ["Hallo A", "vast", "a", "b"]
    first["body"][1]["text"] = "veranderd"
    first["body"].append({"type": "TextBlock"})
    first["msteams"]["width"] = "Smal"
    second = templates.bind("card", data)
    assert second == expected
    assert second["body"][1] is not first["body"][1] and second["msteams"] is not first["msteams"]
