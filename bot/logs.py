"""Structured logs that cannot carry client data.

Each record is one JSON line: time, level, logger, message, and only the ``extra`` keys named in
``SAFE_FIELDS`` (ids, statuses, counts). Exception text is replaced by the exception's type,
because exception messages (pydantic's, for one) quote the input they choke on.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

SAFE_FIELDS = frozenset(
    {"ref", "draft", "status", "error", "step", "event", "verb", "path", "method", "mode", "port", "host",
     "count", "elapsed_ms", "store", "directory"}
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.msg if isinstance(record.msg, str) else type(record.msg).__name__,
        }
        for key in SAFE_FIELDS & record.__dict__.keys():
            entry[key] = record.__dict__[key]
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # msrest logs request bodies and aiosqlite query parameters at DEBUG: never let them through.
    for noisy in ("msrest", "botframework", "azure", "urllib3", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
