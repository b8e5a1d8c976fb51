"""The Bot Connector REST API (v3) as plain JSON on one keep-alive aiohttp session, for both hosts.

No SDK here (a test checks it): the Agents host (``bot.agents.connector``) and the botbuilder host
(``bot.teams.connector``, behind botbuilder's own ``ConnectorFactory``) each bring their tokens and
their SDK's shapes; this module only sends a JSON body, bounded by a timeout, and turns every
failure into a ``ConnectorError`` with the status, the Bot Connector's error code and message and
the ``Retry-After`` header, or with no status when the connector could not be reached.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
from multidict import CIMultiDict

from bot.adapters.ratelimit import retry_after_seconds


class ConnectorError(Exception):
    """The connector answered with an error status, or could not be reached (``status`` None)."""

    def __init__(self, status: int | None, code: str = "", message: str = "", retry_after: float | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"connector call failed (status {status}, code {code or '-'})")  # content-free
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after
        self.headers: Mapping[str, str] = headers or {}  # of the error answer (case-insensitive)


def conversation_path(conversation_id: str, activity_id: str | None = None) -> str:
    """``/v3/conversations/{id}/activities[/{activity id}]``, ids quoted as msrest does (``safe=''``)."""
    path = f"/v3/conversations/{quote(conversation_id, safe='')}/activities"
    return path if activity_id is None else f"{path}/{quote(activity_id, safe='')}"


class ConnectorSession:
    """One client session for every service URL; each call bounded by ``timeout`` seconds. Closed
    once at shutdown (after the server and the sweep stopped); a call after that fails as an
    unreachable connector would, rather than opening a session nobody closes."""

    def __init__(self, *, timeout: float = 4.0) -> None:
        self.timeout = timeout
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 2.0))
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _http(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ConnectorError(None, "closed")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=30)
            )
        return self._session

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, service_url: str, path: str, *, token: str | None = None,
                   body: Any = None, ok: Collection[int] | None = None) -> Any:
        """The answer's JSON (None when it had no JSON body). A status of 400 or more, or one
        outside ``ok`` when given, raises ``ConnectorError``."""
        url = service_url.rstrip("/") + path
        headers = {"Authorization": f"Bearer {token}"} if token else None
        try:
            async with self._http().request(method, url, json=body, headers=headers) as response:
                status = response.status
                if status >= 400 or (ok is not None and status not in ok):
                    code = message = ""
                    try:
                        error = (await response.json(content_type=None) or {}).get("error") or {}
                        code, message = str(error.get("code") or ""), str(error.get("message") or "")
                    except (ValueError, AttributeError, aiohttp.ClientError):
                        pass
                    raise ConnectorError(status, code, message, retry_after_seconds(response.headers),
                                         headers=CIMultiDict(response.headers))
                if response.content_length == 0:
                    return None
                try:
                    return await response.json(content_type=None)
                except ValueError:
                    return None
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise ConnectorError(None, type(error).__name__) from None

