"""Structured logs that cannot carry client data.

Each record is one JSON line: time, level, logger, message, and only the ``extra`` keys named in
``SAFE_FIELDS`` (ids, statuses, counts). Exception text is replaced by the exception's type,
because exception messages (pydantic's, for one) quote the input they choke on.

On top of that, ``RedactingFilter`` (on every handler ``setup`` installs) removes client data from
whatever a developer writes later — an f-string with a name in it, say: every value the bot has
seen typed or decrypted in the current request (``sensitive``), and anything shaped like a date,
an INSZ number, an e-mail address or a phone number, becomes ``[…]``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

SAFE_FIELDS = frozenset(
    {"ref", "draft", "status", "error", "step", "event", "verb", "path", "method", "mode", "port", "host",
     "count", "elapsed_ms", "store", "directory", "attempt", "delay_s", "done"}
)
REDACTED = "[…]"
_MAX_SENSITIVE = 512  # per request (task); a long-lived task keeps the newest
_sensitive: ContextVar[dict[str, None] | None] = ContextVar("sensitive_values", default=None)
_SHAPES = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b"  # ISO date
    r"|\b\d{2}[ .]?\d{2}[ .]?\d{2}[ .-]?\d{3}[ .]?\d{2}\b"  # INSZ / rijksregisternummer
    r"|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b"  # dd/mm/jjjj
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail
    r"|(?:\+|00)32[\d /.]{8,}|\b0\d{1,3}[ /.]?\d{2,3}[ /.]?\d{2}[ /.]?\d{2}\b"  # Belgian phone
)


def sensitive(*values: object) -> None:
    """Remember client data seen in this request (typed into a card, or decrypted), so that no
    log line can carry it. Names are also remembered word by word."""
    seen = _sensitive.get()
    if seen is None:
        seen = {}
        _sensitive.set(seen)
    for value in values:
        text = str(value).strip() if value is not None else ""
        for piece in (text, *text.split()):
            if len(piece) >= 3:
                seen.pop(piece, None)
                seen[piece] = None
    while len(seen) > _MAX_SENSITIVE:
        del seen[next(iter(seen))]


def redact(text: str) -> str:
    seen = _sensitive.get()
    if seen:
        for value in sorted(seen, key=len, reverse=True):
            if value in text:
                text = text.replace(value, REDACTED)
    return _SHAPES.sub(REDACTED, text)


def is_own(name: str) -> bool:
    """The bot's own loggers (``bot``, ``bot.…``): their records never get their arguments formatted in."""
    return name == "bot" or name.startswith("bot.")


def message_of(record: logging.LogRecord) -> str:
    """The text to show. The bot's own records drop their arguments (the usual way data slips in:
    its code logs ids in ``extra``); other libraries' messages mean little without theirs, so
    those are formatted in (and redacted like everything else)."""
    if not isinstance(record.msg, str):
        return type(record.msg).__name__
    if record.args and not is_own(record.name):
        try:
            return record.getMessage()
        except (TypeError, ValueError, KeyError):  # a library's own formatting bug: show its template
            return record.msg
    return record.msg


class RedactingFilter(logging.Filter):
    """Strips client data from a record before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(message_of(record))
        record.args = None  # formatted in above (other libraries) or dropped (the bot's own)
        for key in SAFE_FIELDS & record.__dict__.keys():
            if isinstance(record.__dict__[key], str):
                record.__dict__[key] = redact(record.__dict__[key])
        if record.exc_info and record.exc_info[0] is not None:
            record.__dict__["exception"] = record.exc_info[0].__name__
            record.exc_info, record.exc_text = None, None  # a traceback quotes values
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            # Without the filter (it has already done this), other libraries' arguments are formatted in here.
            "msg": redact(message_of(record)) if record.args else message_of(record),
        }
        for key in SAFE_FIELDS & record.__dict__.keys():
            entry[key] = record.__dict__[key]
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        elif "exception" in record.__dict__:
            entry["exception"] = record.__dict__["exception"]
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # msrest logs request bodies and aiosqlite query parameters at DEBUG: never let them through.
    for noisy in ("msrest", "botframework", "azure", "urllib3", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
