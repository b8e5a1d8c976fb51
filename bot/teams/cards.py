"""What each card shows: the views that turn domain values into template data.

Dates read dd/mm/jjjj and times are Europe/Brussels, as users in Flanders expect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app.ports import Notice
from bot.domain.handoff import BY_COUNSELLOR, Draft, Handoff, HandoffState, Stage
from bot.domain.model import Reason, Recipient
from bot.domain.template import (
    CONTENT_FIELDS,
    DMY_PATTERN,
    IDENTITY_FIELDS,
    Content,
    FieldError,
    Identity,
    content_values,
)
from bot.resources import cards_dir
from bot.teams import texts
from bot.teams.templating import CardTemplates
from bot.teams.verbs import Verb

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


def _errors(fields: Sequence[str], errors: Sequence[FieldError]) -> dict[str, list[dict[str, str]]]:
    """Every problem of every field, each once, in the order found (the card lists them under the field)."""
    shown: dict[str, list[dict[str, str]]] = {f: [] for f in fields}
    for error in errors:
        line = {"tekst": texts.field_error(error)}
        if error.field in shown and line not in shown[error.field]:
            shown[error.field].append(line)
    return shown


def _summary(errors: Sequence[FieldError]) -> str:
    """Above the buttons: how many fields need attention ("" when none)."""
    fields = {error.field for error in errors}
    return texts.errors_summary(len(fields)) if fields else ""


# Coloured titles sit on a band of the host's container style, in the default text colour: the
# "Good" and "Warning" text colours fail WCAG AA on the Teams backgrounds (tests/unit/test_contrast.py).
_STYLES = {"default": "default", "accent": "accent", "good": "good", "warning": "warning", "attention": "attention"}


def _style(colour: str) -> str:
    return _STYLES.get(colour.lower(), "default")


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

    def __init__(
        self,
        templates: CardTemplates | None = None,
        *,
        retention_days: int = 30,
        admin_contact: str = "",
        protocol_url: str = "",
        protocol_start: date = date(2025, 4, 1),
        protocol_end: date | None = None,
    ) -> None:
        self.templates = templates or CardTemplates(CARDS_DIR)
        self.retention_days = retention_days
        self.protocol_url = protocol_url
        # "de functioneel beheerder", with how to reach them when configured (BOT_ADMIN_CONTACT)
        self.admin = texts.ADMIN_WITH_CONTACT.format(contact=admin_contact) if admin_contact else texts.ADMIN
        start = dmy(protocol_start)
        self.period = (texts.PERIOD_BETWEEN.format(start=start, end=dmy(protocol_end)) if protocol_end
                       else texts.PERIOD_FROM.format(start=start))

    def say(self, template: str, **values: object) -> str:
        """A sentence of ``texts`` with the administrator and the protocol period filled in."""
        return template.format(beheerder=self.admin, periode=self.period, **values)

    def purge_day(self, handoff: Handoff) -> str:
        """The day the retention cap purges an unconfirmed handoff (``Schedule.purge_at``)."""
        return dmy((handoff.created_at + timedelta(days=self.retention_days)).astimezone(BRUSSELS).date())

    def identification(
        self, draft_id: str, values: Mapping[str, str] | None = None, errors: Sequence[FieldError] = ()
    ) -> Card:
        return self.templates.bind(
            "identificatie",
            {
                "draft": draft_id,
                "values": {f: (values or {}).get(f, "") for f in IDENTITY_FIELDS},
                "errors": _errors(IDENTITY_FIELDS, errors),
                "samenvatting": _summary(errors),
                "datumpatroon": DMY_PATTERN,
            },
        )

    def unidentified(self, draft_id: str, values: Mapping[str, str], reason: Reason) -> Card:
        """The identification card again, as typed, with why above it: a typo is fixed in place."""
        card = self.identification(draft_id, values)
        title, text = self.refusal_text(reason)
        card["body"][0:0] = [self.warning(title), {"type": "TextBlock", "text": text, "wrap": True}]
        # secondary: in the "…" menu, so three buttons never crowd a phone's 320 px
        card["actions"].insert(1, {"type": "Action.Execute", "verb": Verb.HERBEGIN.value, "title": texts.OTHER_CLIENT,
                                   "mode": "secondary", "associatedInputs": "none", "data": {"draft": draft_id}})
        return card

    def warning(self, text: str) -> Card:
        """A bold line on an attention band (the Attention text colour fails AA in dark mode)."""
        return {"type": "Container", "style": "attention", "bleed": True,
                "items": [{"type": "TextBlock", "text": text, "weight": "Bolder", "wrap": True}]}

    def for_draft(
        self,
        draft: Draft,
        today: date,
        values: Mapping[str, str] | None = None,
        errors: Sequence[FieldError] = (),
    ) -> Card:
        """The card of the draft's stage; ``values``/``errors`` re-show a form that had mistakes. A
        correction (issue 14) says above it which terugkoppeling it replaces."""
        card = self._stage_card(draft, today, values, errors)
        if draft.corrects_reference:
            card["body"].insert(0, self.warning(texts.CORRECTION_BANNER.format(reference=draft.corrects_reference)))
        return card

    def _stage_card(
        self,
        draft: Draft,
        today: date,
        values: Mapping[str, str] | None = None,
        errors: Sequence[FieldError] = (),
    ) -> Card:
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
            before = dmy(previously.astimezone(BRUSSELS).date()) if previously else texts.UNKNOWN
            return self.templates.bind("herhaling", {**common, "vorige": before})
        if draft.stage is Stage.PREVIEW and draft.client.content is not None:
            return self.templates.bind(
                "voorbeeld",
                {
                    **common,
                    "kop": texts.PREVIEW_HEADING,
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
                "samenvatting": _summary(errors),
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
                "stijl": "accent" if queued else "good",
                "tijdlabel": texts.OFFERED_AT if queued else texts.SENT_AT,
                "wachttekst": texts.QUEUED_TEXT,
                "overzicht_titel": texts.OVERVIEW_BUTTON,
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
            HandoffState.DELIVERING: texts.CORRECTED_RECIPIENT,  # the card a correction replaces (issue 14)
        }.get(handoff.state, texts.UNDELIVERABLE_RECIPIENT)
        if handoff.closed_because == BY_COUNSELLOR:
            template = texts.WITHDRAWN_BY_COUNSELLOR_RECIPIENT
        return self.say(template, reference=handoff.reference, retention=self.retention_days)

    def reminder_text(self, handoff: Handoff) -> str:
        return self.say(
            texts.REMINDER,
            reference=handoff.reference,
            sent=moment(handoff.sent_at or handoff.created_at),
            retention=self.retention_days,
            purge=self.purge_day(handoff),
        )

    # -- digest reminders (issue 14) ------------------------------------------------------------

    def reminder_digest(self, handoffs: Sequence[Handoff]) -> Card:
        """One reminder for one recipient: each pending reference, who sent it, when it arrived and
        when it is purged, with a button that shows its card. No client data."""
        return self.templates.bind("herinnering", {
            "titel": texts.reminder_digest_title(len(handoffs)),
            "intro": texts.REMINDER_DIGEST_INTRO,
            "items": [{
                "referentie": h.reference, "handoff": h.id,
                "label_afzender": texts.REMINDER_DIGEST_FROM, "afzender": h.counsellor.name or texts.A_COUNSELLOR,
                "label_ontvangen": texts.REMINDER_DIGEST_RECEIVED,
                "ontvangen": dmy((h.sent_at or h.created_at).astimezone(BRUSSELS).date()),
                "label_gewist": texts.REMINDER_DIGEST_PURGED, "gewist": self.purge_day(h),
                "knop": texts.REMINDER_DIGEST_SHOW,
            } for h in handoffs],
        })

    def reminder_summary(self, handoffs: Sequence[Handoff]) -> str:
        """The digest's notification line (the activity's ``summary``)."""
        return texts.reminder_digest_title(len(handoffs))

    def notice_text(self, handoff: Handoff, notice: Notice) -> str:
        """What the counsellor is told: the reference with the client's name while it is known (issue 14:
        the counsellor sent it and may see it), the recipient, and what to do next."""
        template = {
            Notice.TRANSFERRED: texts.TRANSFERRED_COUNSELLOR,
            Notice.RETURNED: texts.RETURNED_COUNSELLOR,
            Notice.DELIVERED_LATE: texts.DELIVERED_LATE_COUNSELLOR,
            Notice.UNDELIVERABLE: texts.UNDELIVERABLE_COUNSELLOR,
            Notice.UNCONFIRMED: texts.UNCONFIRMED_COUNSELLOR,
            Notice.EXPIRED: texts.EXPIRED_COUNSELLOR,
            Notice.NO_LONGER_ELIGIBLE: texts.NO_LONGER_ELIGIBLE_COUNSELLOR,
            Notice.PROTOCOL_ENDED: texts.PROTOCOL_ENDED_COUNSELLOR,
            Notice.INCIDENT_WITHDRAWN: texts.INCIDENT_WITHDRAWN_COUNSELLOR,
            Notice.REASSIGNED: texts.REASSIGNED_COUNSELLOR,  # issue 14
            Notice.REASSIGNED_TO_BACKUP: texts.REASSIGNED_BACKUP_COUNSELLOR,
        }[notice]
        recipient = handoff.recipient
        reference = handoff.reference
        if handoff.client is not None:
            reference = texts.NOTICE_NAMED.format(reference=reference, name=handoff.client.identity.naam)
        return self.say(
            template,
            reference=reference,
            recipient=texts.PERSON_AT.format(name=recipient.naam, agency=texts.AGENCY_NAMES[recipient.agentschap]),
            attempts=handoff.attempts,
            reminders=handoff.reminders_sent,
            retention=self.retention_days,
            purge=self.purge_day(handoff),
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
                "stijl": _style(colour),
                "opnieuw": retry_draft is not None,
                "draft": retry_draft or "",
                "nieuw": offer_new,
            },
        )

    def refusal_text(self, reason: Reason) -> tuple[str, str]:
        title, text = texts.REFUSALS[reason]
        return title, self.say(text)

    def refusal(self, reason: Reason, draft_id: str | None = None) -> Card:
        title, text = self.refusal_text(reason)
        retry = draft_id if reason in (Reason.UNKNOWN_CLIENT, Reason.AMBIGUOUS_CLIENT, Reason.NOT_ACTIVE,
                                       Reason.RECIPIENT_CHANGED) else None
        return self.message(title, text, colour="Attention", retry_draft=retry, offer_new=reason is Reason.STALE)

    def return_confirmation(self, handoff: Handoff) -> Card:
        """Before "niet mijn klant" purges: what confirming does. No client data (only the reference)."""
        return self.templates.bind(
            "terugsturen",
            {
                "handoff": handoff.id,
                "poging": handoff.live_attempt,
                "titel": texts.RETURN_TITLE.format(reference=handoff.reference),
                "inleiding": texts.RETURN_INTRO,
                "gevolgen": [{"tekst": line} for line in texts.RETURN_CONSEQUENCES],
                "onomkeerbaar": texts.RETURN_IRREVERSIBLE,
            },
        )

    def help(self, *, counsellor: bool, recipient: bool, unknown: bool = False, welcome: bool = False) -> Card:
        """What the bot does and the commands, for ``help``, unknown text and the welcome; the
        paragraphs and the start button follow the reader's role (both in local mode)."""
        paragraphs = [texts.HELP_INTRO]
        if counsellor:
            paragraphs.append(texts.HELP_COUNSELLOR)
        if recipient:
            paragraphs.append(texts.HELP_RECIPIENT)
        commands = [texts.COMMAND_START, texts.COMMAND_OVERVIEW] if counsellor else []  # (overzicht: issue 14)
        if recipient:
            commands.append(texts.COMMAND_PENDING)  # issue 14
        commands.append(texts.COMMAND_HELP)
        return self.templates.bind(
            "hulp",
            {
                "onbekend": texts.UNKNOWN_COMMAND if unknown else "",
                "titel": texts.WELCOME_TITLE if welcome else texts.HELP_TITLE,
                "stijl": "default",
                "alineas": [{"tekst": p} for p in paragraphs],
                "opdrachten_titel": texts.HELP_COMMANDS_TITLE,
                "opdrachten": [{"opdracht": c, "uitleg": e} for c, e in commands],
                "protocol": self.say(texts.HELP_PROTOCOL if self.protocol_url else texts.HELP_PROTOCOL_ASK),
                "contact": self.say(texts.HELP_CONTACT),
                "nieuw": counsellor,
                "nieuw_titel": texts.NEW_HANDOFF,
                "protocol_url": self.protocol_url,
                "protocol_titel": texts.READ_PROTOCOL,
            },
        )

    # -- the trajectbegeleider's side (issue 14: openstaand, doorsturen, undo) --------------------

    def pending(self, handoffs: Sequence[Handoff], *, page: int, more: bool, unreadable: int = 0) -> Card:
        """``openstaand``: reference, counsellor, received at and purge date of each waiting card,
        each with "Toon"; no client data (the content shows only on the card itself)."""
        items = [{
            "handoff": h.id,
            "referentie": h.reference,
            "afzender": h.counsellor.name or texts.A_COUNSELLOR,
            "ontvangen": moment(h.sent_at or h.created_at),
            "gewist": self.purge_day(h),
        } for h in handoffs]
        if unreadable:
            footer = self.say(texts.PENDING_PAGE_UNREADABLE, page=page, count=unreadable)
        else:
            footer = texts.PENDING_PAGE.format(page=page) if page > 1 or more else ""
        return self.templates.bind("openstaand", {
            "titel": texts.PENDING_TITLE,
            "stijl": "default",
            "inleiding": texts.PENDING_INTRO if items else texts.PENDING_NONE,
            "items": items,
            "labels": texts.PENDING_LABELS,
            "toon_titel": texts.PENDING_SHOW,
            "pagina_tekst": footer,
            "vorige": page - 1 if page > 1 else 0,
            "volgende": page + 1 if more else 0,
            "vorige_titel": texts.PREVIOUS_PAGE,
            "volgende_titel": texts.NEXT_PAGE,
        })

    def colleague_choice(self, handoff: Handoff, colleagues: Sequence[Recipient]) -> Card:
        """"Doorsturen naar een collega": a choice of the agency's other trajectbegeleiders (never
        free typing); no client data. Without colleagues: say so, and offer the card again."""
        agency = texts.AGENCY_NAMES[handoff.agency]
        if not colleagues:
            card = self.message(texts.FORWARD_NONE_TITLE, self.say(texts.FORWARD_NONE, agency=agency))
            card["actions"] = [{"type": "Action.Execute", "verb": Verb.TOON.value, "title": texts.FORWARD_BACK,
                                "associatedInputs": "none", "data": {"handoff": handoff.id}}]
            return card
        return self.templates.bind("doorsturen", {
            "handoff": handoff.id,
            "poging": handoff.live_attempt,
            "titel": texts.FORWARD_TITLE.format(reference=handoff.reference),
            "stijl": "accent",
            "inleiding": texts.FORWARD_INTRO.format(agency=agency),
            "label": texts.FORWARD_LABEL,
            "placeholder": texts.FORWARD_PLACEHOLDER,
            "verplicht": texts.FORWARD_REQUIRED,
            "collegas": [{"naam": c.naam, "id": c.aad_object_id} for c in colleagues],
            "knop": texts.FORWARD_CONFIRM,
            "terug": texts.FORWARD_BACK,
        })

    def forwarded(self, handoff: Handoff, *, copy: bool = False) -> Card:
        """What the previous recipient sees after "Doorsturen" and what their old ``copy`` becomes:
        "verwijderd" only once Teams confirmed it."""
        person = texts.PERSON_AT.format(name=handoff.recipient.naam, agency=texts.AGENCY_NAMES[handoff.agency])
        text = (texts.FORWARDED_COPY if copy else
                texts.FORWARDED_PENDING if handoff.stale_copy is not None else texts.FORWARDED)
        return self.templates.bind("afgehandeld", {"referentie": handoff.reference,
                                                   "tekst": text.format(reference=handoff.reference, recipient=person)})

    def undo_offered(self, handoff: Handoff) -> Card:
        """After "Overgezet" with an undo window: no client data, "Ongedaan maken" until HH:MM."""
        assert handoff.undo_until is not None
        return self.templates.bind("overgezet", {
            "handoff": handoff.id,
            "poging": handoff.live_attempt,
            "titel": texts.UNDO_TITLE.format(reference=handoff.reference),
            "stijl": "good",
            "tekst": texts.UNDO_TEXT.format(until=f"{handoff.undo_until.astimezone(BRUSSELS):%H:%M}"),
            "knop": texts.UNDO,
        })

    def old_copy(self, handoff: Handoff) -> Card:
        """What a recipient's previous copy becomes: handed on ("doorgestuurd"), or moved further
        down the chat by ``toon`` (or closed meanwhile); never client data."""
        if handoff.state is HandoffState.DELIVERING:
            return self.forwarded(handoff, copy=True)
        return self.superseded(handoff) if handoff.state.is_open else self.closed(handoff)
    # -- issue 14, the counsellor's side: the overview, a correction, a withdrawal ------------------

    def overview(self, handoffs: Sequence[Handoff], *, page: int, more: bool, unreadable: int = 0) -> Card:
        """The counsellor's own terugkoppelingen, newest first, one page; the client's name while the
        content exists (after a purge the card says it is gone). Shown to the sender only."""
        items = []
        for handoff in handoffs:
            name = handoff.client.identity.naam if handoff.client else texts.OVERVIEW_PURGED_NAME
            state = texts.OVERVIEW_STATES[handoff.state.value] + (texts.OVERVIEW_CORRECTED if handoff.corrections
                                                                   else "")
            labels = texts.OVERVIEW_LABELS
            purge = (("purged", dmy(handoff.closed_at.astimezone(BRUSSELS).date())) if handoff.closed_at
                     else ("purge", self.purge_day(handoff)))
            facts = [
                ("recipient", texts.PERSON_AT.format(name=handoff.recipient.naam,
                                                     agency=texts.AGENCY_NAMES[handoff.recipient.agentschap])),
                ("sent", moment(handoff.sent_at) if handoff.sent_at else texts.OVERVIEW_NOT_SENT),
                ("reminders", str(handoff.reminders_sent)),
                ("state", state),
                purge,
            ]
            items.append({
                "kop": f"{handoff.reference} · {name}",
                "feiten": [{"label": labels[k], "waarde": v} for k, v in facts],
                "open": handoff.state is HandoffState.DELIVERED and handoff.client is not None,
                "handoff": handoff.id,
            })
        return self.templates.bind("overzicht", {
            "titel": texts.OVERVIEW_TITLE, "stijl": "accent", "intro": texts.OVERVIEW_INTRO,
            "leeg": texts.OVERVIEW_EMPTY if not items and page == 1 else "",
            "onleesbaar": self.say(texts.OVERVIEW_UNREADABLE, count=unreadable) if unreadable else "",
            "items": items, "pagina": str(page), "paginatekst": texts.OVERVIEW_PAGE.format(page=page),
            "vorige": str(page - 1) if page > 1 else "", "volgende": str(page + 1) if more else "",
            "vorige_titel": texts.OVERVIEW_PREVIOUS, "volgende_titel": texts.OVERVIEW_NEXT,
            "wijzigen": texts.CORRECT_BUTTON, "intrekken": texts.WITHDRAW_BUTTON, "nieuw_titel": texts.NEW_HANDOFF,
            # in the "…" menu beside Vorige/Volgende, so three buttons never crowd a phone's 320 px
            "nieuw_modus": "secondary" if page > 1 or more else "primary",
        })

    def corrected(self, handoff: Handoff, *, queued: bool) -> Card:
        """After a correction: the receipt (reference, recipient, time), no client data."""
        text = (texts.CORRECTED_QUEUED_TEXT if queued else texts.CORRECTED_TEXT).format(reference=handoff.reference)
        return self.templates.bind("ontvangstbewijs", {
            "referentie": handoff.reference, "ontvanger": _recipient(handoff.recipient),
            "verstuurd": moment(handoff.sent_at or handoff.created_at), "wachtrij": True,
            "titel": texts.CORRECTED_QUEUED_TITLE if queued else texts.CORRECTED_TITLE,
            "stijl": "accent" if queued else "good", "tijdlabel": texts.OFFERED_AT if queued else texts.SENT_AT,
            "wachttekst": text, "overzicht_titel": texts.OVERVIEW_BUTTON,
        })

    def withdraw_confirmation(self, handoff: Handoff) -> Card:
        """Before ``Intrekken`` purges: what confirming does. No client data (only the reference)."""
        return self.templates.bind("intrekken", {
            "handoff": handoff.id, "titel": texts.WITHDRAW_TITLE.format(reference=handoff.reference),
            "inleiding": texts.WITHDRAW_INTRO, "gevolgen": [{"tekst": t} for t in texts.WITHDRAW_CONSEQUENCES],
            "onomkeerbaar": texts.WITHDRAW_IRREVERSIBLE, "bevestig": texts.WITHDRAW_CONFIRM,
            "terug": texts.WITHDRAW_BACK,
        })

    def cancelled(self, corrects: str | None = None) -> Card:
        """``annuleer``: nothing sent, nothing kept; a dropped correction leaves the sent version standing."""
        if corrects:
            return self.message(texts.CORRECTION_CANCELLED_TITLE, texts.CORRECTION_CANCELLED_TEXT.format(
                reference=corrects), offer_new=True)
        return self.message(texts.CANCELLED_TITLE, texts.CANCELLED_TEXT, offer_new=True)

    def withdrawn(self, handoff: Handoff, *, removed: bool) -> Card:
        text = texts.WITHDRAWN_TEXT if removed else texts.WITHDRAWN_PENDING_TEXT
        return self.message(texts.WITHDRAWN_TITLE, text.format(reference=handoff.reference), offer_new=True)
