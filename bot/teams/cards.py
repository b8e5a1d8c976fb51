"""What each card shows: the views that turn domain values into template data.

Dates read dd/mm/jjjj and times are Europe/Brussels, as users in Flanders expect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app.ports import Notice
from bot.domain.handoff import Draft, Handoff, HandoffState, Stage
from bot.domain.model import Reason, Recipient
from bot.domain.template import CONTENT_FIELDS, IDENTITY_FIELDS, Content, FieldError, Identity, content_values
from bot.resources import cards_dir
from bot.teams import texts
from bot.teams.templating import CardTemplates

BRUSSELS = ZoneInfo("Europe/Brussels")
CARDS_DIR = Path(cards_dir())  # a checkout or an installed copy
Card = dict[str, Any]


def dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def moment(at: datetime) -> str:
    local = at.astimezone(BRUSSELS)
    return texts.MOMENT.format(day=dmy(local.date()), time=f"{local:%H:%M}")


def _recipient(recipient: Recipient) -> dict[str, str]:
    return {"naam": recipient.naam, "agentschap": texts.AGENCY_NAMES[recipient.agentschap]}


def _errors(fields: Sequence[str], errors: Sequence[FieldError]) -> dict[str, str]:
    shown = dict.fromkeys(fields, "")
    for error in errors:
        shown[error.field] = shown[error.field] or texts.field_error(error)
    return shown


def _fields(identity: Identity, content: Content) -> list[dict[str, str]]:
    contact = dmy(content.eerstvolgende_contact)
    if content.eerstvolgende_contact_tijd:
        contact = texts.MOMENT.format(day=contact, time=f"{content.eerstvolgende_contact_tijd:%H:%M}")
    rows = [
        ("naam", identity.naam),
        ("geboortedatum", dmy(identity.geboortedatum)),
        ("jobdoelwit", content.jobdoelwit),
        ("eerstvolgende_contact", contact),
        ("stappen", texts.LIST_SEPARATOR.join(texts.STAP_LABELS[s] for s in content.stappen)),
        ("partner", content.partner or texts.EMPTY_FIELD),
        ("toelichting", content.toelichting or texts.EMPTY_FIELD),
    ]
    return [{"label": texts.FIELD_LABELS[f], "waarde": v} for f, v in rows]


class Cards:
    """Builds every card the bot sends, from the templates in ``cards/``."""

    def __init__(self, templates: CardTemplates | None = None, *, retention_days: int = 30) -> None:
        self.templates = templates or CardTemplates(CARDS_DIR)
        self.retention_days = retention_days

    def identification(
        self, draft_id: str, values: Mapping[str, str] | None = None, errors: Sequence[FieldError] = ()
    ) -> Card:
        return self.templates.bind(
            "identificatie",
            {
                "draft": draft_id,
                "values": {f: (values or {}).get(f, "") for f in IDENTITY_FIELDS},
                "errors": _errors(IDENTITY_FIELDS, errors),
            },
        )

    def for_draft(
        self,
        draft: Draft,
        today: date,
        values: Mapping[str, str] | None = None,
        errors: Sequence[FieldError] = (),
    ) -> Card:
        """The card of the draft's stage; ``values``/``errors`` re-show a form that had mistakes."""
        if draft.stage is Stage.IDENTIFY or draft.client is None or draft.recipient is None:
            return self.identification(draft.id, values, errors)
        identity = draft.client.identity
        common = {
            "draft": draft.id,
            "klant": {"naam": identity.naam, "geboortedatum": dmy(identity.geboortedatum)},
            "ontvanger": _recipient(draft.recipient),
        }
        if draft.stage is Stage.CONFIRM_REPEAT:
            previously = draft.previously_sent_at
            return self.templates.bind(
                "herhaling", {**common, "vorige": dmy(previously.astimezone(BRUSSELS).date()) if previously else texts.UNKNOWN}
            )
        if draft.stage is Stage.PREVIEW and draft.client.content is not None:
            return self.templates.bind(
                "voorbeeld",
                {
                    **common,
                    "kop": texts.PREVIEW_HEADING.format(counsellor=draft.counsellor.name or texts.YOU),
                    "velden": _fields(identity, draft.client.content),
                },
            )
        if values is None:
            content = draft.client.content
            values = content_values(content) if content else {}
        return self.templates.bind(
            "inhoud",
            {
                **common,
                "vandaag": today.isoformat(),
                "values": {f: values.get(f, "") for f in CONTENT_FIELDS},
                "errors": _errors(CONTENT_FIELDS, errors),
                "stappen": [{"code": s.value, "label": label} for s, label in texts.STAP_LABELS.items()],
            },
        )

    def recipient(self, handoff: Handoff) -> Card:
        """The card in the trajectbegeleider's chat: the template's content and two actions."""
        assert handoff.client is not None and handoff.client.content is not None
        sent = moment(handoff.sent_at or handoff.created_at)
        return self.templates.bind(
            "ontvanger",
            {
                "handoff": handoff.id,
                "poging": handoff.delivery.attempt if handoff.delivery else handoff.attempts,
                "kop": texts.RECIPIENT_HEADING.format(reference=handoff.reference, sent=sent,
                                                      counsellor=handoff.counsellor.name or texts.A_COUNSELLOR),
                "velden": _fields(handoff.client.identity, handoff.client.content),
            },
        )

    def receipt(self, handoff: Handoff, *, queued: bool = False) -> Card:
        """What the counsellor keeps: a reference, the recipient and the time — no client data."""
        return self.templates.bind(
            "ontvangstbewijs",
            {
                "referentie": handoff.reference,
                "ontvanger": _recipient(handoff.recipient),
                "verstuurd": moment(handoff.sent_at or handoff.created_at),
                "wachtrij": queued,
                "titel": texts.QUEUED_TITLE if queued else texts.SENT_TITLE,
                "kleur": "Accent" if queued else "Good",
                "tijdlabel": texts.OFFERED_AT if queued else texts.SENT_AT,
                "wachttekst": texts.QUEUED_TEXT,
            },
        )

    def draft_ended(self) -> Card:
        """What the counsellor's card of a draft that ended unsent becomes: no client data."""
        return self.message(texts.DRAFT_ENDED_TITLE, texts.DRAFT_ENDED_TEXT, offer_new=True)

    def superseded(self, handoff: Handoff) -> Card:
        """A stray copy of the recipient's card (e.g. posted by an attempt that crashed)."""
        text = texts.SUPERSEDED.format(reference=handoff.reference)
        return self.templates.bind("afgehandeld", {"referentie": handoff.reference, "tekst": text})

    def closed_text(self, handoff: Handoff) -> str:
        """One sentence for the recipient, without client data, on what became of the handoff."""
        template = {
            HandoffState.TRANSFERRED: texts.TRANSFERRED_RECIPIENT,
            HandoffState.RETURNED: texts.RETURNED_RECIPIENT,
            HandoffState.EXPIRED: texts.EXPIRED_RECIPIENT,
            HandoffState.WITHDRAWN: texts.WITHDRAWN_RECIPIENT,
        }.get(handoff.state, texts.UNDELIVERABLE_RECIPIENT)
        return template.format(reference=handoff.reference, retention=self.retention_days)

    def reminder_text(self, handoff: Handoff) -> str:
        return texts.REMINDER.format(
            reference=handoff.reference,
            sent=moment(handoff.sent_at or handoff.created_at),
            retention=self.retention_days,
        )

    def notice_text(self, handoff: Handoff, notice: Notice) -> str:
        """What the counsellor is told, by reference and recipient only."""
        template = {
            Notice.TRANSFERRED: texts.TRANSFERRED_COUNSELLOR,
            Notice.RETURNED: texts.RETURNED_COUNSELLOR,
            Notice.DELIVERED_LATE: texts.DELIVERED_LATE_COUNSELLOR,
            Notice.UNDELIVERABLE: texts.UNDELIVERABLE_COUNSELLOR,
            Notice.UNCONFIRMED: texts.UNCONFIRMED_COUNSELLOR,
            Notice.EXPIRED: texts.EXPIRED_COUNSELLOR,
            Notice.NO_LONGER_ELIGIBLE: texts.NO_LONGER_ELIGIBLE_COUNSELLOR,
            Notice.PROTOCOL_ENDED: texts.PROTOCOL_ENDED_COUNSELLOR,
        }[notice]
        recipient = handoff.recipient
        return template.format(
            reference=handoff.reference,
            recipient=texts.PERSON_AT.format(name=recipient.naam, agency=texts.AGENCY_NAMES[recipient.agentschap]),
            attempts=handoff.attempts,
            reminders=handoff.reminders_sent,
            retention=self.retention_days,
        )

    def closed(self, handoff: Handoff) -> Card:
        """The content-free card that replaces the recipient's copy."""
        return self.templates.bind("afgehandeld", {"referentie": handoff.reference, "tekst": self.closed_text(handoff)})

    def message(
        self,
        title: str,
        text: str,
        *,
        colour: str = "Default",
        retry_draft: str | None = None,
        offer_new: bool = False,
    ) -> Card:
        return self.templates.bind(
            "melding",
            {
                "titel": title,
                "tekst": text,
                "kleur": colour,
                "opnieuw": retry_draft is not None,
                "draft": retry_draft or "",
                "nieuw": offer_new,
            },
        )

    def refusal(self, reason: Reason, draft_id: str | None = None) -> Card:
        title, text = texts.REFUSALS[reason]
        retry = draft_id if reason in (Reason.UNKNOWN_CLIENT, Reason.AMBIGUOUS_CLIENT, Reason.NOT_ACTIVE,
                                       Reason.RECIPIENT_CHANGED) else None
        return self.message(title, text, colour="Attention", retry_draft=retry, offer_new=reason is Reason.STALE)
