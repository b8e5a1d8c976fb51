"""Render every kind of card the bot shows, with demo data, to PNG: ``python -m tools.render_examples OUT_DIR``.

The cards come from the same code the bot runs (``bot.teams.cards``); the pictures come from
the ``adaptivecards`` renderer with the Teams host config in headless Chromium
(``tools/render/render.mjs``). Needs Debian ``chromium`` (and ``chromium-l10n`` for Dutch date
inputs) and ``npm ci --prefix tools/render``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from bot.domain.handoff import Draft, Handoff, HandoffState, Stage
from bot.domain.model import (
    Actor,
    Address,
    Agency,
    ClientData,
    Delivery,
    Reason,
    Recipient,
)
from bot.domain.template import Content, ErrorCode, FieldError, Identity, Stap
from bot.teams.cards import Cards

RENDERER = Path(__file__).resolve().parent / "render" / "render.mjs"
NOW = datetime(2026, 11, 30, 9, 12, tzinfo=UTC)
TODAY = date(2026, 11, 30)


def example_cards() -> dict[str, dict]:
    """Every kind of card the bot shows, as the bot builds it, for a fictitious client."""
    cards = Cards(admin_contact="functioneelbeheer@vdab.example", protocol_url="https://www.vdab.example/protocol")
    address = Address(service_url="https://smba.example/", conversation_id="a:1", tenant_id="t", user_id="29:u")
    counsellor = Actor(aad_object_id="aad-bram", tenant_id="t-vdab", name="Bram Verstraete")
    recipient = Recipient(naam="Els Peeters", email="els@atlas.example", aad_object_id="aad-els",
                          tenant_id="t-atlas", agentschap=Agency.ATLAS)
    identity = Identity(naam="Amina El Idrissi", geboortedatum=date(1990, 4, 12))
    content = Content(jobdoelwit="Magazijnmedewerker in de logistiek", eerstvolgende_contact=date(2026, 12, 3),
                      eerstvolgende_contact_tijd=time(10, 30), stappen=(Stap.OPLEIDING, Stap.STAGE),
                      partner="Groep Intro",
                      toelichting="Start opleiding heftruckchauffeur in januari, daarna stage bij een "
                                  "logistiek bedrijf in de haven.")
    draft = Draft(id="d" * 22, counsellor=counsellor, counsellor_address=address, created_at=NOW,
                  expires_at=NOW + timedelta(hours=24), stage=Stage.COMPOSE, recipient=recipient,
                  client=ClientData(identity=identity))
    previewed = draft.model_copy(update={"stage": Stage.PREVIEW,
                                         "client": ClientData(identity=identity, content=content)})
    repeat = draft.model_copy(update={"stage": Stage.CONFIRM_REPEAT, "previously_sent_at": NOW - timedelta(days=40)})
    handoff = Handoff(id="h" * 22, reference="TK-7F3A9C", draft_id=draft.id, counsellor=counsellor,
                      counsellor_address=address, recipient=recipient, created_at=NOW, sent_at=NOW,
                      state=HandoffState.DELIVERED, delivery=Delivery(address=address, activity_id="1"),
                      client=previewed.client)
    typo = {"naam": "Amina El Idrissi", "geboortedatum": "12/04/2020"}
    mistakes = {"jobdoelwit": "x", "eerstvolgende_contact": "2026-11-02", "eerstvolgende_contact_tijd": "",
                "stappen": "", "partner": "", "toelichting": "Rijksregisternummer 85.07.30-033.28, tel. 0470 12 34 56"}
    wrong = [FieldError("jobdoelwit", ErrorCode.TOO_SHORT, 2), FieldError("stappen", ErrorCode.NO_CHOICE),
             FieldError("eerstvolgende_contact", ErrorCode.NOT_FUTURE),
             FieldError("toelichting", ErrorCode.INSZ), FieldError("toelichting", ErrorCode.PHONE)]
    return {
        "identificatie": cards.identification(draft.id),
        "identificatie-fout": cards.identification(draft.id, typo, [FieldError("geboortedatum", ErrorCode.AGE)]),
        "niet-gevonden": cards.unidentified(draft.id, {"naam": "Amina El Idrisi", "geboortedatum": "12/04/1990"},
                                            Reason.UNKNOWN_CLIENT),
        "geweigerd": cards.refusal(Reason.NOT_ACTIVE, draft.id),
        "herhaling": cards.for_draft(repeat, TODAY),
        "inhoud": cards.for_draft(draft, TODAY),
        "inhoud-fouten": cards.for_draft(draft, TODAY, mistakes, wrong),
        "voorbeeld": cards.for_draft(previewed, TODAY),
        "ontvanger": cards.recipient(handoff),
        "niet-mijn-klant": cards.return_confirmation(handoff),
        "ontvangstbewijs": cards.receipt(handoff),
        "wordt-verstuurd": cards.receipt(handoff.model_copy(update={"state": HandoffState.DELIVERING}), queued=True),
        "afgehandeld": cards.closed(handoff.model_copy(update={"state": HandoffState.TRANSFERRED, "client": None})),
        "vervallen": cards.closed(handoff.model_copy(update={"state": HandoffState.EXPIRED, "client": None})),
        "vervangen": cards.superseded(handoff),
        "hulp": cards.help(counsellor=True, recipient=False, unknown=True),
        "welkom-bemiddelaar": cards.help(counsellor=True, recipient=False, welcome=True),
        "welkom-trajectbegeleider": cards.help(counsellor=False, recipient=True, welcome=True),
        # digest reminders (issue 14): three pending terugkoppelingen for one trajectbegeleider
        "herinnering": cards.reminder_digest([
            handoff.model_copy(update={"id": f"h{n}" * 11, "reference": reference, "counsellor": who,
                                       "created_at": NOW - timedelta(days=days), "sent_at": NOW - timedelta(days=days)})
            for n, (reference, who, days) in enumerate((
                ("TK-7F3A9C", counsellor, 6), ("TK-2B81E0", Actor(aad_object_id="aad-sofie", tenant_id="t-vdab",
                                                                  name="Sofie Vandenberghe"), 4),
                ("TK-C40D17", counsellor, 2)))]),
        **recipient_side(cards, handoff),
        **_counsellor_side(cards, handoff, address),
    }


RECIPIENT_SIDE = ("openstaand", "openstaand-leeg", "doorsturen", "doorsturen-geen-collega", "doorgestuurd",
                  "overgezet-ongedaan-maken")


def recipient_side(cards: Cards, handoff: Handoff) -> dict[str, dict]:
    """Issue 14, the trajectbegeleider's side: openstaand, Doorsturen, undo for Overgezet."""
    jan = handoff.recipient.model_copy(update={"naam": "Jan Janssens", "aad_object_id": "aad-jan"})
    an = handoff.recipient.model_copy(update={"naam": "An De Vos", "aad_object_id": "aad-an"})
    waiting = [handoff.model_copy(update={"id": f"{i}" * 22, "reference": ref, "sent_at": NOW - timedelta(days=d),
                                          "created_at": NOW - timedelta(days=d)})
               for i, (ref, d) in enumerate((("TK-1B2C3D", 12), ("TK-4E5F6A", 3), ("TK-7F3A9C", 0)), start=1)]
    forwarded = handoff.model_copy(update={"recipient": jan, "state": HandoffState.DELIVERED, "stale_copy": None})
    undo = handoff.model_copy(update={"undo_until": NOW + timedelta(minutes=10)})
    return {
        "openstaand": cards.pending(waiting, page=1, more=True),
        "openstaand-leeg": cards.pending([], page=1, more=False),
        "doorsturen": cards.colleague_choice(handoff, [jan, an]),
        "doorsturen-geen-collega": cards.colleague_choice(handoff, []),
        "doorgestuurd": cards.forwarded(forwarded),
        "overgezet-ongedaan-maken": cards.undo_offered(undo),
    }


def _counsellor_side(cards: Cards, handoff: Handoff, address: Address) -> dict[str, dict]:
    """Issue 14: the overview, a correction, a withdrawal."""
    other = ClientData(identity=Identity(naam="Yonas Tesfaye", geboortedatum=date(1987, 11, 3)),
                       content=handoff.client.content if handoff.client else None)
    pieter = handoff.recipient.model_copy(update={"naam": "Pieter De Smet", "agentschap": Agency.AMAL})
    listed = [
        handoff.model_copy(update={"reminders_sent": 1}),
        handoff.model_copy(update={"id": "i" * 22, "reference": "TK-2B81D4", "client": other, "recipient": pieter,
                                   "created_at": NOW - timedelta(days=2), "sent_at": NOW - timedelta(days=2),
                                   "corrections": 1}),
        handoff.model_copy(update={"id": "j" * 22, "reference": "TK-90C3E1", "client": None,
                                   "state": HandoffState.TRANSFERRED, "created_at": NOW - timedelta(days=6),
                                   "sent_at": NOW - timedelta(days=6), "closed_at": NOW - timedelta(days=3)}),
        handoff.model_copy(update={"id": "k" * 22, "reference": "TK-5E77A0", "client": None,
                                   "state": HandoffState.WITHDRAWN, "closed_because": "by_counsellor",
                                   "created_at": NOW - timedelta(days=9), "sent_at": NOW - timedelta(days=9),
                                   "closed_at": NOW - timedelta(days=8)}),
    ]
    correcting = Draft.correcting(handoff, id="c" * 22, address=address, now=NOW, ttl=timedelta(hours=24)).record
    queued = handoff.model_copy(update={"state": HandoffState.DELIVERING, "stale_delivery": handoff.delivery})
    withdrawn = handoff.model_copy(update={"state": HandoffState.WITHDRAWN, "client": None,
                                           "closed_because": "by_counsellor"})
    return {
        "overzicht": cards.overview(listed, page=2, more=True),
        "overzicht-leeg": cards.overview([], page=1, more=False),
        "wijzigen": cards.for_draft(correcting, TODAY),
        "gewijzigd": cards.corrected(handoff, queued=False),
        "wijziging-wordt-verstuurd": cards.corrected(queued, queued=True),
        "vorige-versie": cards.closed(queued),
        "intrekken": cards.withdraw_confirmation(handoff),
        "ingetrokken": cards.withdrawn(withdrawn, removed=True),
        "ingetrokken-ontvanger": cards.closed(withdrawn),
    }


THEMES = ("light", "dark")
WIDTHS = (320, 500)  # a phone and a narrow desktop chat column: what must fit


def render(out_dir: Path, cards: dict[str, dict], *, theme: str = "light", width: int = 460,
           png_dir: Path | None = None) -> list[Path]:
    """Write each card as JSON into ``out_dir`` and as PNG into ``png_dir`` (default ``out_dir``);
    raise if the renderer rejects one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png_dir = png_dir or out_dir
    sources = []
    for name, card in cards.items():
        source = out_dir / f"{name}.json"
        source.write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        sources.append(source)
    subprocess.run(["node", str(RENDERER), "--theme", theme, "--width", str(width), str(png_dir), *map(str, sources)],
                   check=True, capture_output=True, text=True)
    return [png_dir / f"{s.stem}.png" for s in sources]


def render_all(target: Path, cards: dict[str, dict]) -> list[Path]:
    """The JSON in ``target``, the pictures in ``target/<theme>-<width>/``: light and dark, 320 and 500 px."""
    return [png for theme in THEMES for width in WIDTHS
            for png in render(target, cards, theme=theme, width=width, png_dir=target / f"{theme}-{width}")]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/cards")
    for png in render_all(target, example_cards()):
        print(png)
