"""The Bot Connector REST API (v3) as plain JSON on one keep-alive aiohttp session
(``bot.chat.connector``, shared with the botbuilder host).

The Agents SDK's own connector client builds two client sessions and a new TCP connection per
turn (PERF-NOTES); this one keeps a session per process and reuses its connections. Tokens come
from ``bot.agents.auth`` (the SDK's MSAL provider); in local mode there is none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from bot.chat.connector import ConnectorError, ConnectorSession

__all__ = ["CARD_TYPE", "Connector", "ConnectorError", "TokenSource", "card_activity", "text_activity"]
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
# tenant id → bearer token for the registration that serves it, or None (local mode)
TokenSource = Callable[[str], Awaitable[str | None]]


def card_activity(card: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"type": "message", "attachments": [{"contentType": CARD_TYPE, "content": card}], **fields}


def text_activity(text: str) -> dict[str, Any]:
    return {"type": "message", "text": text}


class Connector:
    """One session for every service URL; each call bounded by ``timeout`` seconds."""

    def __init__(self, tokens: TokenSource, *, timeout: float = 4.0) -> None:
        self._tokens = tokens
        self._session = ConnectorSession(timeout=timeout)

    async def close(self) -> None:
        await self._session.close()

    async def _call(self, method: str, service_url: str, path: str, tenant_id: str,
                    body: dict[str, Any] | None = None) -> Any:
        return await self._session.call(method, service_url, path, token=await self._tokens(tenant_id), body=body)

    @staticmethod
    def _conversation(conversation_id: str) -> str:
        return f"/v3/conversations/{quote(conversation_id, safe='')}"

    async def create_conversation(self, service_url: str, tenant_id: str, member_id: str,
                                  bot_id: str = "") -> str:
        # "tenantID" as botbuilder's ConversationParameters spells it on the wire (what runs in
        # production today); Teams also reads the tenant from channelData.
        body: dict[str, Any] = {"isGroup": False, "members": [{"id": member_id}], "tenantID": tenant_id,
                                "channelData": {"tenant": {"id": tenant_id}}}
        if bot_id:
            body["bot"] = {"id": bot_id}
        answer = await self._call("POST", service_url, "/v3/conversations", tenant_id, body)
        return str((answer or {}).get("id") or "")

    async def send(self, service_url: str, tenant_id: str, conversation_id: str, activity: dict[str, Any],
                   reply_to: str | None = None) -> str:
        path = self._conversation(conversation_id) + "/activities"
        if reply_to:
            path += "/" + quote(reply_to, safe="")
        answer = await self._call("POST", service_url, path, tenant_id, activity)
        return str((answer or {}).get("id") or "")

    async def update(self, service_url: str, tenant_id: str, conversation_id: str, activity_id: str,
                     activity: dict[str, Any]) -> None:
        path = f"{self._conversation(conversation_id)}/activities/{quote(activity_id, safe='')}"
        await self._call("PUT", service_url, path, tenant_id, {**activity, "id": activity_id})

    async def delete(self, service_url: str, tenant_id: str, conversation_id: str, activity_id: str) -> None:
        path = f"{self._conversation(conversation_id)}/activities/{quote(activity_id, safe='')}"
        await self._call("DELETE", service_url, path, tenant_id)
