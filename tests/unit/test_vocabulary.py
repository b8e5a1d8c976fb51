"""One vocabulary: verbs, audit event names, field labels and length limits each live in one place,
and everything else (the card templates, the invoke model, the handler, the fuzz test, the
evidence export) is checked against it here."""

from __future__ import annotations

import ast
import json
import re
import typing
from pathlib import Path

from bot.chat.turns import VERBS
from bot.domain.model import AuditName
from bot.domain.template import TEXT_RULES
from bot.teams import texts
from bot.teams.activity import ExecuteAction
from bot.teams.cards import CARDS_DIR
from bot.teams.verbs import Verb
from tests.support.cards import nodes

ROOT = Path(__file__).resolve().parents[2]
OPTIONAL = " (niet verplicht)"


def templates() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(Path(CARDS_DIR).glob("*.json"))}


def card_verbs() -> set[str]:
    return {n["verb"] for card in templates().values() for n in nodes(card)
            if isinstance(n, dict) and n.get("type") == "Action.Execute"}


def test_the_cards_use_exactly_the_verbs_there_are():
    assert card_verbs() == {v.value for v in Verb}


def test_the_handler_routes_every_verb_and_only_those():
    assert set(VERBS) == set(Verb)


def test_both_hosts_route_through_the_one_table():
    """The verb table is host-neutral (bot/chat/turns.py): neither host keeps one of its own."""
    from bot.agents import handler as agents_handler
    from bot.teams import handler as teams_handler

    assert not hasattr(agents_handler, "VERBS") and not hasattr(teams_handler, "VERBS")


def test_the_invoke_model_takes_its_verbs_from_the_enum():
    assert typing.get_type_hints(ExecuteAction)["verb"] is Verb


def test_the_fuzz_test_knows_every_verb_but_the_one_that_opens_a_draft():
    from tests.e2e import test_fuzz

    assert set(test_fuzz.VERBS) == {v.value for v in Verb} - {Verb.NIEUW.value}


def test_every_input_label_and_length_limit_is_the_templates():
    inputs = [n for card in templates().values() for n in nodes(card)
              if isinstance(n, dict) and str(n.get("type", "")).startswith("Input.")
              and n.get("id") in texts.FIELD_LABELS]
    assert {n["id"] for n in inputs} == set(texts.FIELD_LABELS)  # every template field is on a card
    for node in inputs:
        field = node["id"]
        assert node["label"].removesuffix(OPTIONAL) == texts.FIELD_LABELS[field], field
        assert node["label"].endswith(OPTIONAL) == (not node.get("isRequired", False)), field
        if field in TEXT_RULES:
            assert node.get("maxLength") == TEXT_RULES[field].max_len, field


def test_the_evidence_export_speaks_the_audit_vocabulary():
    from bot.app import evidence

    labels = next(v for k, v in vars(evidence).items() if isinstance(v, dict) and "sent" in v and "purged" in v)
    assert set(labels) <= {name.value for name in AuditName}


def test_no_audit_event_is_named_outside_the_enum():
    """Code makes events through ``AuditName`` members, never by spelling a name as a string."""
    literal = re.compile(r"event=\"|_audit\(\"")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "bot").rglob("*.py") if literal.search(p.read_text())]
    assert offenders == []


def test_every_sentence_a_user_reads_is_in_texts():
    """The Teams layer's other modules hold no Dutch: string constants there are identifiers, keys,
    formats, log messages (English) or docstrings."""
    for module in ("teams/cards.py", "teams/handler.py", "teams/messenger.py", "chat/turns.py",
                   "chat/delivery.py", "chat/removal.py", "agents/handler.py", "agents/messenger.py"):
        tree = ast.parse((ROOT / "bot" / module).read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                words = set(re.findall(r"[a-zë]+", node.value.lower()))
                assert not words & DUTCH, (module, node.lineno, node.value)


# Words of Dutch sentences (template keys such as "klant" or "ontvanger" are not sentences).
DUTCH = {"de", "het", "een", "van", "om", "niet", "je", "kaart", "bemiddelaar", "ongeldige", "deze",
         "wordt", "nog", "is", "werd", "verstuur"}
