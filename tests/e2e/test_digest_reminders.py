"""Digest reminders (issue 14): one reminder message per recipient per sweep, over HTTP.

Three terugkoppelingen wait for Els (Atlas) and one for Pieter (Amal), all sent on Monday
30 November 2026; two working days later, on Wednesday 2 December, one sweep sends exactly two
reminder messages: Els's lists her three references, Pieter's his one — each with the sender, the
day it arrived and the day it is purged (30 days after sending), and a `toon` button.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from bot.domain.calendar import BRUSSELS
from tests.e2e.conftest import AMAL, ATLAS, ELS, PIETER, VDAB
from tests.e2e.flows import CONTENT, receive, send
from tests.support.cards import nodes, texts, verbs

ELS_TB = {"naam": "Els Peeters", "email": "els.peeters@atlas.example", "aad_object_id": ELS, "tenant_id": ATLAS,
          "agentschap": "atlas"}
PIETER_TB = {"naam": "Pieter De Smet", "email": "pieter.desmet@amal.example", "aad_object_id": PIETER,
             "tenant_id": AMAL, "agentschap": "amal"}
ELS_CLIENTS = [("Amina El Idrissi", "1990-04-12"), ("Ali Hassan", "1985-06-01"), ("Nadia Karimi", "1994-08-21")]
PIETER_CLIENT = ("Yonas Tesfaye", "1987-11-03")
LATER = {**CONTENT, "eerstvolgende_contact": "2027-03-15"}


@pytest.fixture(params=["botbuilder", "agents"])
def bot_env(tmp_path, request) -> dict[str, str]:
    """Both hosts; a directory where three clients are Els's and one is Pieter's."""
    everyone = [*((*c, ELS_TB) for c in ELS_CLIENTS), (*PIETER_CLIENT, PIETER_TB)]
    clients = [{"klant_id": f"K-{n}", "naam": naam, "geboortedatum": born, "actief_inburgeringstraject": True,
                "trajectbegeleider": tb} for n, (naam, born, tb) in enumerate(everyone)]
    directory = tmp_path / "clients.json"
    directory.write_text(json.dumps({"clients": clients}), encoding="utf-8")
    return {"BOT_DIRECTORY_FILE": str(directory), "BOT_HOST": request.param}


def at(d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 12 if d < 30 else 11, d, hh, mm, tzinfo=BRUSSELS)


def digests(harness, member: str) -> list[dict]:
    conversation = harness.connector.conversation_for(member)
    return [c.body for c in harness.connector.sent_to(conversation)
            if (c.body.get("summary") or "").startswith("Herinnering")]


def items(card: dict) -> list[dict]:
    """Each listed terugkoppeling: its container's texts and its button."""
    containers = [n for n in card["body"] if n.get("type") == "Container"]
    return [{"texts": texts({"body": c["items"]}),
             "buttons": [n for n in nodes(c) if isinstance(n, dict) and n.get("type") == "Action.Execute"]}
            for c in containers]


async def test_one_reminder_message_per_recipient_lists_all_their_pending_references(harness, els, pieter):
    bram = harness.user("aad-bram", VDAB, "Bram Bemiddelaar")
    sofie = harness.user("aad-sofie", VDAB, "Sofie Bemiddelaar")
    sent = []
    for n, ((naam, born), who) in enumerate(zip(ELS_CLIENTS, (bram, sofie, bram), strict=True)):
        harness.clock.set(at(30, 9 + n))
        assert texts(await send(who, naam, born, content=LATER))[0] == "Terugkoppeling verstuurd"
        sent.append(who.name)
    harness.clock.set(at(30, 14))
    assert texts(await send(sofie, *PIETER_CLIENT, content=LATER))[0] == "Terugkoppeling verstuurd"
    receive(els)
    receive(pieter)
    handoffs = {h.reference: h for h in await harness.runtime.store.open_handoffs(10)}
    assert len(handoffs) == 4

    assert await harness.sweep(at(2, 8, 59)) == {}  # before office hours
    assert await harness.sweep(at(2, 15)) == {"remind": 4}
    (to_els,), (to_pieter,) = digests(harness, ELS), digests(harness, PIETER)

    assert to_els["summary"] == "Herinnering: 3 terugkoppelingen wachten op jou"
    card = to_els["attachments"][0]["content"]
    assert texts(card)[0] == "Herinnering: 3 terugkoppelingen wachten op jou"
    assert "'Overgezet'" in texts(card)[1]  # the exact button title the recipient sees
    listed = items(card)
    by_time = sorted(handoffs.items(), key=lambda kv: kv[1].sent_at)
    els_refs = [r for r, h in by_time if h.recipient.aad_object_id == ELS]
    assert [i["texts"][0] for i in listed] == els_refs  # oldest first
    for item, reference, counsellor in zip(listed, els_refs, sent, strict=True):
        assert item["texts"][1:] == ["Van", counsellor, "Ontvangen", "30/11/2026", "Gewist op", "30/12/2026",
                                     "Toon bericht"]
        (button,) = item["buttons"]
        assert button["verb"] == "toon" and button["data"] == {"handoff": handoffs[reference].id}

    assert to_pieter["summary"] == "Herinnering: 1 terugkoppeling wacht op jou"
    (only,) = items(to_pieter["attachments"][0]["content"])
    (pieter_ref,) = [r for r, h in handoffs.items() if h.recipient.aad_object_id == PIETER]
    assert only["texts"] == [pieter_ref, "Van", "Sofie Bemiddelaar", "Ontvangen", "30/11/2026", "Gewist op",
                             "30/12/2026", "Toon bericht"]

    everything = json.dumps([to_els, to_pieter])
    for private in [c for client in (*ELS_CLIENTS, PIETER_CLIENT) for c in client] + [LATER["jobdoelwit"]]:
        assert private not in everything

    # each handoff: its own reminded event, once; a second sweep at the same moment sends nothing
    trail = await harness.runtime.store.audit_events()
    assert sorted(e.subject for e in trail if e.event == "reminded") == sorted(handoffs)
    assert all(e.reason == "1" for e in trail if e.event == "reminded")
    assert await harness.sweep(at(2, 15, 5)) == {}
    assert len(digests(harness, ELS)) == 1 and len(digests(harness, PIETER)) == 1
    for reference, handoff in handoffs.items():
        stored = await harness.runtime.store.get_handoff(handoff.id)
        assert stored.reminders_sent == 1 and stored.client is not None, reference  # the content is untouched

    # the button: the digest's message becomes that terugkoppeling's card, for Els alone (``toon``);
    # Pieter cannot use hers
    first = listed[0]["buttons"][0]["data"]
    refused = await pieter.click("toon", card=card, data=first)
    assert els_refs[0] not in json.dumps(refused)
    assert not any(name in json.dumps(refused) for name, _ in ELS_CLIENTS)
    answer = await els.click("toon", card=card, data=first)
    assert els_refs[0] in json.dumps(answer) and "overgezet" in verbs(answer)
    assert sum(name in json.dumps(answer) for name, _ in ELS_CLIENTS) == 1  # that client's card, only


async def test_a_recipient_who_closed_one_is_reminded_of_the_others_only(harness, els):
    bram = harness.user("aad-bram", VDAB, "Bram Bemiddelaar")
    for n, (naam, born) in enumerate(ELS_CLIENTS[:2]):
        harness.clock.set(at(30, 9 + n))
        await send(bram, naam, born, content=LATER)
    receive(els)  # the latest card: Ali Hassan's
    await els.click("overgezet")
    assert await harness.sweep(at(2, 15)) == {"remind": 1}
    (digest,) = digests(harness, ELS)
    (item,) = items(digest["attachments"][0]["content"])
    (left,) = await harness.runtime.store.open_handoffs(10)
    assert item["texts"][0] == left.reference
