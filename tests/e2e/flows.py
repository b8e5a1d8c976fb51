"""Steps shared by the end-to-end tests: a counsellor writes and sends one terugkoppeling."""

from __future__ import annotations

from typing import Any

from tests.support.teams import TeamsUser

CONTENT = {
    "jobdoelwit": "Magazijnmedewerker in de logistiek",
    "eerstvolgende_contact": "2026-12-03",
    "eerstvolgende_contact_tijd": "10:30",
    "stappen": "stage,opleiding",
    "partner": "Groep Intro",
    "toelichting": "Start opleiding heftruck in januari, daarna stage.",
}


async def identify(counsellor: TeamsUser, naam: str, geboortedatum: str) -> dict[str, Any]:
    await counsellor.say("terugkoppeling")
    return await counsellor.click("identificeer", {"naam": naam, "geboortedatum": geboortedatum})


async def send(counsellor: TeamsUser, naam: str = "Amina El Idrissi", geboortedatum: str = "1990-04-12",
               content: dict[str, str] | None = None) -> dict[str, Any]:
    """The counsellor's whole path to the receipt."""
    await identify(counsellor, naam, geboortedatum)
    await counsellor.click("bekijk", content or CONTENT)
    return await counsellor.click("verstuur")


def receive(recipient: TeamsUser) -> dict[str, Any]:
    """Open the recipient's 1:1 chat with the bot and look at the card that arrived."""
    connector = recipient.h.connector
    conversation = connector.conversation_for(recipient.aad)
    assert conversation is not None, "no 1:1 chat was opened with the recipient"
    activity_id, card = connector.last_card(conversation)
    recipient.adopt(conversation, activity_id, card)
    return card
