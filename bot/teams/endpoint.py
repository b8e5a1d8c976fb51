"""From a parsed HTTP body to a bot turn: authentication, activity checks, invoke response."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import requests
from botbuilder.core import Bot
from botbuilder.core.cloud_adapter_base import CloudAdapterBase
from botbuilder.schema import Activity
from msrest.exceptions import ClientRequestError
from msrest.serialization import Model

from bot.app.ports import StoreUnavailable
from bot.chat.inbound import plausible, routable
from bot.teams.connector import serialized

log = logging.getLogger(__name__)


class TeamsEndpoint:
    """Runs one incoming activity through the CloudAdapter and the bot."""

    def __init__(self, adapter: CloudAdapterBase, bot: Bot) -> None:
        self.adapter = adapter
        self.bot = bot

    async def handle(self, body: dict[str, Any], auth_header: str) -> tuple[int, object | None]:
        activity = _activity(body)
        if activity is None:
            log.info("request rejected", extra={"status": 400, "error": "not a valid activity"})
            return 400, {"error": "not a valid activity"}
        # Authenticate apart from the turn, so that every way a token can fail is a 401 (botbuilder
        # raises IndexError for an unknown key id, a bare Exception for a missing endorsement), and
        # the signing keys being out of reach is a 503, not a 500.
        try:
            authenticated = await self.adapter.bot_framework_authentication.authenticate_request(activity, auth_header)
        except PermissionError as error:  # (an OSError: it must come first)
            log.warning("request rejected", extra={"status": 401, "error": type(error).__name__})
            return 401, {"error": "unauthorized"}
        except (requests.RequestException, OSError) as error:
            log.error("signing keys unreachable", extra={"status": 503, "error": type(error).__name__})
            return 503, {"error": "temporarily unavailable, try again"}
        except Exception as error:  # noqa: BLE001 - any other failure to authenticate is unauthorized
            log.warning("request rejected", extra={"status": 401, "error": type(error).__name__})
            return 401, {"error": "unauthorized"}
        try:
            response = await self.adapter.process_activity(authenticated, activity, self.bot.on_turn)
        except StoreUnavailable as error:
            # Nothing was half-written; Teams (or the user) may simply try again.
            log.warning("store unavailable", extra={"error": str(error), "verb": activity.name or activity.type})
            return 503, {"error": "temporarily unavailable, try again"}
        except (ClientRequestError, aiohttp.ClientConnectionError) as error:
            # The reply could not reach the Bot Connector at the activity's serviceUrl (down, or in
            # local mode a URL nobody listens on): an outside failure, not a fault of this turn.
            log.warning("connector unreachable", extra={"status": 503, "error": type(error).__name__,
                                                        "verb": activity.name or activity.type})
            return 503, {"error": "temporarily unavailable, try again"}
        except Exception as error:  # noqa: BLE001 - no traceback (it may quote content) to caller or log
            log.error("turn failed", extra={"error": type(error).__name__, "verb": activity.name or activity.type})
            return 500, {"error": "internal error"}
        if response is None:
            return 201, None
        payload = response.body
        # CloudAdapter leaves msrest models in the body; serialise exactly once (BOTBUILDER-NOTES 2),
        # as msrest's serialize() would, without its cost (bot.teams.connector, issue 16).
        return response.status, serialized(payload) if isinstance(payload, Model) else payload


def _activity(body: dict[str, Any]) -> Activity | None:
    """The activity, or None when it is not one Teams could have sent (a 400, never a 500)."""
    if not plausible(body):
        return None
    try:
        activity = Activity().deserialize(body)
    except Exception:  # noqa: BLE001 - msrest raises assorted types for wrong shapes
        return None
    return activity if routable(activity) else None
