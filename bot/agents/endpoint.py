"""From a parsed HTTP body to a turn on the Agents host: activity checks, authentication with
the Agents SDK, the turn, and every failure as the botbuilder host answers it."""

from __future__ import annotations

import logging
from typing import Any

from microsoft_agents.activity import Activity
from pydantic import ValidationError

from bot.agents.auth import KeysUnreachable, Registrations, Unauthorized
from bot.agents.connector import ConnectorError
from bot.agents.handler import AgentsBot
from bot.app.ports import StoreUnavailable
from bot.chat.inbound import plausible, routable

log = logging.getLogger(__name__)
# The SDK logs a refused activity's validation error, input values included (client data may be
# among them): this host says "not a valid activity" itself, content-free.
logging.getLogger("microsoft_agents.activity").setLevel(logging.CRITICAL)


class AgentsEndpoint:
    def __init__(self, registrations: Registrations, bot: AgentsBot) -> None:
        self.registrations = registrations
        self.bot = bot

    async def handle(self, body: dict[str, Any], auth_header: str) -> tuple[int, object | None]:
        activity = _activity(body)
        if activity is None:
            log.info("request rejected", extra={"status": 400, "error": "not a valid activity"})
            return 400, {"error": "not a valid activity"}
        try:
            # the channel, without an Agents sub-channel ("msteams:…"): endorsements name channels
            channel = str(activity.channel_id or "").partition(":")[0]
            await self.registrations.authenticate(auth_header, activity.service_url, channel)
        except Unauthorized as error:
            log.warning("request rejected", extra={"status": 401, "error": str(error)})
            return 401, {"error": "unauthorized"}
        except KeysUnreachable:
            log.error("signing keys unreachable", extra={"status": 503, "error": "KeysUnreachable"})
            return 503, {"error": "temporarily unavailable, try again"}
        verb = activity.name or activity.type
        try:
            return await self.bot.on_turn(activity)
        except StoreUnavailable as error:
            log.warning("store unavailable", extra={"error": str(error), "verb": verb})
            return 503, {"error": "temporarily unavailable, try again"}
        except ConnectorError as error:
            # Unreachable is an outside failure (503, as on botbuilder); a refused reply is a 500 there too.
            status = 503 if error.status is None else 500
            what = "connector unreachable" if error.status is None else "connector call failed"
            log.warning(what, extra={"status": status, "error": error.code, "verb": verb})
            return status, {"error": "temporarily unavailable, try again" if status == 503 else "internal error"}
        except Exception as error:  # noqa: BLE001 - no traceback (it may quote content) to caller or log
            log.error("turn failed", extra={"error": type(error).__name__, "verb": verb})
            return 500, {"error": "internal error"}


def _activity(body: dict[str, Any]) -> Activity | None:
    """The SDK's activity model, or None when it is not one Teams could have sent (a 400)."""
    if not plausible(body):
        return None
    try:
        activity = Activity.model_validate(_without_nulls(body))
    except (ValidationError, ValueError, TypeError, RecursionError):
        return None
    return activity if routable(activity) else None


def _without_nulls(value: Any, key: str = "") -> Any:
    """The SDK's model refuses ``null`` where a field is optional (botbuilder took it as absent);
    the card's own ``value`` is left as sent."""
    if key == "value":
        return value
    if isinstance(value, dict):
        return {k: _without_nulls(v, k) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
