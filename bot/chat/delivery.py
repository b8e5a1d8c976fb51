"""What both hosts' messengers share: which connector failures are worth retrying, the
"not installed" refusal and the Graph install that answers it, and the DPO's incident notice
(art. 9) as a card or an e-mail. The SDK calls themselves stay in each host's messenger."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.app.ports import DeliveryError, IncidentNotice
from bot.domain.handoff import Handoff
from bot.domain.model import DpoContact
from bot.teams import texts
from bot.teams.cards import Card, Cards, moment
from bot.teams.graph import GraphError, GraphInstaller

log = logging.getLogger(__name__)

# Teams documents these as worth retrying; 403 (e.g. MessageWritesBlocked) and 404 are not.
RETRYABLE = frozenset({408, 412, 429, 500, 502, 503, 504})
# Throttled calls the messengers retry on the spot (issue 16). A new card's POST only when Teams
# surely did not apply it (412, 429): after a 502/504 it may be live, and the outbox's next attempt
# (a new attempt number) is what keeps a second copy content-free. Everything else may be sent again.
RETRY_UNAPPLIED = frozenset({412, 429})

# What Teams answers ``POST /v3/conversations`` for a user who does not have the app in their
# personal scope: documented as 403 ``ForbiddenOperationException`` "Bot isn't installed in user's
# personal scope"; answered in practice as 403 ``BadArgument`` "Bot is not installed in user's
# personal scope". ``BadArgument`` is a generic code, so that one is recognised by its message too.
NOT_INSTALLED_CODE = "ForbiddenOperationException"
NOT_INSTALLED_PHRASE = "installed in user's personal scope"


def delivery_error(status: int | None, retry_after: float | None) -> DeliveryError:
    """A connector failure as the outbox sees it: no status (unreachable) or a listed one is retryable."""
    return DeliveryError(status, retryable=status is None or status in RETRYABLE, retry_after=retry_after)


def not_installed(status: int | None, code: str, message: str) -> bool:
    """Teams refused to open the 1:1 chat because the app is not installed for that user."""
    return status == 403 and (code == NOT_INSTALLED_CODE or (code == "BadArgument" and NOT_INSTALLED_PHRASE in message))


class NotInstalled(DeliveryError):
    """The recipient does not have the app and it could not be installed for them through Graph
    (``status`` is Graph's). Nothing was sent. Final for 401/403/404: that tenant's administrator
    has to grant consent or upload the app; retryable when Graph was throttled or down."""

    reason = "not_installed"


async def install(handoff: Handoff, installer: GraphInstaller) -> None:
    """Install the app for the recipient through Graph, in the recipient's tenant."""
    recipient = handoff.recipient
    log.info("installing the app for the recipient", extra={"ref": handoff.reference, "step": "install"})
    try:
        await installer.install_for_user(recipient.tenant_id, recipient.aad_object_id)
    except GraphError as error:
        log.warning(
            "app not installed for the recipient",
            extra={"ref": handoff.reference, "status": error.status, "error": error.code or None},
        )
        raise NotInstalled(error.status, retryable=error.retryable, retry_after=error.retry_after) from None


# -- art. 9: incidents to the data protection officers ------------------------------------------


async def send_dpo_notice(cards: Cards, installer: GraphInstaller | None, contact: DpoContact,
                          incident: IncidentNotice, post_card: Callable[[Card, str], Awaitable[None]]) -> None:
    """The incident notice to one DPO: an e-mail through Graph ``sendMail`` if that is their
    channel, else the content-free card and its notification summary, which ``post_card`` (the
    host's) puts in their 1:1 chat; ``DeliveryError`` if it did not go out."""
    if contact.channel == "mail":
        await mail_dpo(installer, contact, incident)
        return
    await post_card(dpo_card(cards, incident), texts.DPO_SUMMARY.format(reference=incident.reference))


def dpo_card(cards: Cards, incident: IncidentNotice) -> Card:
    """The content-free card in the DPO's 1:1 chat, with "Kennis genomen"."""
    return cards.templates.bind("incident", {
        "titel": texts.DPO_TITLE.format(reference=incident.reference), "stijl": "attention",
        "intro": texts.DPO_INTRO, "hint": texts.DPO_ACK_HINT, "knop": texts.DPO_ACKNOWLEDGE,
        "melding": incident.notification_id,
        "feiten": [{"label": label, "waarde": value} for label, value in dpo_facts(incident)],
    })


async def mail_dpo(installer: GraphInstaller | None, contact: DpoContact, incident: IncidentNotice) -> None:
    """The incident notice as an e-mail through Graph ``sendMail``; ``DeliveryError`` if it did not go out."""
    if installer is None or not incident.sender_mailbox or not incident.sender_tenant:
        log.error("dpo mail not configured", extra={"ref": incident.reference})
        raise DeliveryError(None, retryable=False)
    lines = [texts.DPO_INTRO, "", *(f"{label}: {value}" for label, value in dpo_facts(incident)), "",
             texts.DPO_MAIL_ACK]
    try:
        await installer.send_mail(incident.sender_tenant, incident.sender_mailbox, contact.mailbox,
                                  texts.DPO_TITLE.format(reference=incident.reference), "\n".join(lines))
    except GraphError as error:
        raise DeliveryError(error.status, retryable=error.retryable, retry_after=error.retry_after) from None


def dpo_facts(incident: IncidentNotice) -> list[tuple[str, str]]:
    """What a DPO reads, card or mail: names and codes worded, never a value of the client's."""
    labels = texts.DPO_LABELS
    fields = (texts.DPO_FIELDS_REQUIRED.format(fields=", ".join(incident.fields)) if incident.fields
              else texts.DPO_NO_FIELDS)
    agency = next((name for a, name in texts.AGENCY_NAMES.items() if a.value == incident.agency), texts.DPO_NO_AGENCY)
    return [
        (labels["reference"], incident.reference),
        (labels["category"], texts.DPO_CATEGORIES.get(incident.category, incident.category)),
        (labels["agency"], agency),
        (labels["detected"], moment(incident.detected_at)),
        (labels["notified"], moment(incident.notified_at)),
        (labels["fields"], fields),
        (labels["actions"], "; ".join(texts.DPO_ACTIONS.get(a, a) for a in incident.actions)),
    ]
