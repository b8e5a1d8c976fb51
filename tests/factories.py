"""Small builders for domain records used across test rings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from bot.domain.handoff import Draft, Handoff, Stage
from bot.domain.model import (
    Actor,
    Address,
    Agency,
    ClientData,
    Recipient,
    new_id,
    new_reference,
)
from bot.domain.template import Content, Identity, Stap

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
COUNSELLOR = Actor(aad_object_id="aad-counsellor-1", tenant_id="tenant-vdab", name="Bram Bemiddelaar")
OTHER_COUNSELLOR = Actor(aad_object_id="aad-counsellor-2", tenant_id="tenant-vdab", name="Sofie Bemiddelaar")
RECIPIENT = Recipient(
    naam="Els Peeters", email="els@atlas.example", aad_object_id="aad-els", tenant_id="tenant-atlas",
    agentschap=Agency.ATLAS,
)
ADDRESS = Address(service_url="http://127.0.0.1:1/", conversation_id="a:c1", tenant_id="tenant-vdab",
                  user_id="29:counsellor", bot_id="28:bot")


def client(naam: str = "Amina El Idrissi") -> ClientData:
    return ClientData(
        identity=Identity(naam=naam, geboortedatum=date(1990, 4, 12)),
        content=Content(
            jobdoelwit="Logistiek", eerstvolgende_contact=date(2026, 12, 3),
            eerstvolgende_contact_tijd=time(10, 30), stappen=(Stap.STAGE,), partner=None,
            toelichting="Heftruck",
        ),
    )


def draft(**changes) -> Draft:
    base = Draft(id=new_id(), counsellor=COUNSELLOR, counsellor_address=ADDRESS, created_at=NOW,
                 expires_at=NOW + timedelta(hours=24), stage=Stage.PREVIEW, recipient=RECIPIENT,
                 fingerprint="f" * 64, client=client())
    return base.model_copy(update=changes)


def handoff(draft_id: str | None = None, **changes) -> Handoff:
    base = Handoff(id=new_id(), reference=new_reference(), draft_id=draft_id or new_id(), counsellor=COUNSELLOR,
                   counsellor_address=ADDRESS, recipient=RECIPIENT, created_at=NOW, client=client())
    return base.model_copy(update=changes)
