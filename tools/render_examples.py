"""Render the bot's main cards, with demo data, to PNG: ``python -m tools.render_examples OUT_DIR``.

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
    """The main cards, as the bot builds them, for a fictitious client."""
    cards = Cards()
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
    handoff = Handoff(id="h" * 22, reference="TK-7F3A9C", draft_id=draft.id, counsellor=counsellor,
                      counsellor_address=address, recipient=recipient, created_at=NOW, sent_at=NOW,
                      state=HandoffState.DELIVERED, delivery=Delivery(address=address, activity_id="1"),
                      client=previewed.client)
    typo = {"naam": "Amina El Idrissi", "geboortedatum": "2020-04-12"}
    return {
        "identificatie": cards.identification(draft.id),
        "identificatie-fout": cards.identification(draft.id, typo, [FieldError("geboortedatum", ErrorCode.AGE)]),
        "geweigerd": cards.refusal(Reason.NOT_ACTIVE, draft.id),
        "inhoud": cards.for_draft(draft, TODAY),
        "voorbeeld": cards.for_draft(previewed, TODAY),
        "ontvanger": cards.recipient(handoff),
        "ontvangstbewijs": cards.receipt(handoff),
        "wordt-verstuurd": cards.receipt(handoff.model_copy(update={"state": HandoffState.DELIVERING}), queued=True),
        "afgehandeld": cards.closed(handoff.model_copy(update={"state": HandoffState.TRANSFERRED, "client": None})),
        "vervallen": cards.closed(handoff.model_copy(update={"state": HandoffState.EXPIRED, "client": None})),
        "vervangen": cards.superseded(handoff),
    }


def render(out_dir: Path, cards: dict[str, dict], *, theme: str = "light") -> list[Path]:
    """Write each card as JSON and PNG into ``out_dir``; raise if the renderer rejects one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = []
    for name, card in cards.items():
        source = out_dir / f"{name}.json"
        source.write_text(json.dumps(card, ensure_ascii=False, indent=1), encoding="utf-8")
        sources.append(source)
    subprocess.run(["node", str(RENDERER), "--theme", theme, str(out_dir), *map(str, sources)],
                   check=True, capture_output=True, text=True)
    return [s.with_suffix(".png") for s in sources]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/cards")
    for png in render(target, example_cards()):
        print(png)
