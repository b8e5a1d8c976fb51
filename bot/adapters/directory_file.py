"""The client directory from a JSON file: the embedded stand-in for VDAB's client system.

The file (``{"clients": [...]}``, see the README) is indexed at load by ``lookup_key`` (the name's
words in any order, normalised, and the birth date), so a look-up is one dict access whatever the
file's size. Entries are read one at a time and kept compactly (a tuple each, the trajectbegeleiders
shared), so memory stays near the file's size.

The file is re-read when it changes: each look-up compares its modification time, size and inode
(at most every ``check_every`` seconds) and, if they moved, loads it again in a worker thread
while the event loop goes on. That look-up waits for the new version, up to ``reload_wait``
seconds (a Teams invoke has about 5 s in all); past that it is answered from the last good one and
the reload finishes for the next. A new file that is not valid keeps the last good one and logs an
error that names the entry's index and field, never a value. At start-up an invalid file raises
``DirectoryFileError``, whose message is equally free of client data.
"""

from __future__ import annotations

import asyncio
import codecs
import ctypes
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from bot.domain.directory import lookup_key
from bot.domain.model import Agency, DirectoryClient, Recipient
from bot.domain.template import Identity

log = logging.getLogger(__name__)

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
_FIELD_NAMES = frozenset(DirectoryClient.model_fields) | frozenset(Recipient.model_fields)
# (klant_id, naam, geboortedatum, actief_inburgeringstraject, index of the trajectbegeleider).
# Only atomic values, so the garbage collector untracks these tuples (and the index's keys and
# values): a full collection does not walk 100k entries, and a reload in its worker thread does not
# hold the event loop for the length of one.
_Entry = tuple[str, str, date, bool, int]
_Key = tuple[str, date]
_Signature = tuple[int, int, int, int]  # mtime_ns, ctime_ns, size, inode


class DirectoryFileError(ValueError):
    """The directory file is not a valid client directory. The message is a predicate to follow
    the file's name ("is not valid JSON (…)", "is not a valid client directory (entry 3, field
    geboortedatum: …)", "cannot be read (…)"): it says where, and never quotes a value from the file."""


@dataclass(frozen=True, slots=True)
class _Index:
    by_key: dict[_Key, tuple[_Entry, ...]]
    by_id: dict[str, _Entry]  # klant_id → entry, for the re-checks at verstuur and before delivery
    recipients: tuple[Recipient, ...]
    count: int
    signature: _Signature


def _signature(path: Path) -> _Signature:
    st = os.stat(path)
    return st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino


_CHUNK = 1 << 20  # bytes read, and characters kept ahead of the parser, at a time


class _Malformed(Exception):
    def __init__(self, line: int, column: int, what: str, *, json_ok: bool = False) -> None:
        kind = "is not a valid client directory" if json_ok else "is not valid JSON"
        super().__init__(f"{kind} ({what} at line {line}, column {column})")


class _Source:
    """The file's text, a window at a time: what the parser has passed is dropped, so the whole
    file is never one string in memory, and no single step decodes all of it (in a worker thread,
    such a step would hold the interpreter, and so the event loop)."""

    def __init__(self, chunks: Iterator[str], window: int = _CHUNK) -> None:
        self._chunks = chunks
        self._window = window
        self.text = ""
        self.pos = 0  # in ``text``
        self.eof = False
        self._base = 0  # the file offset of ``text[0]``, in characters
        self._line = 1  # the line ``text[0]`` is on
        self._line_start = 0  # the file offset where that line starts

    def ensure(self, ahead: int = 0) -> None:
        """At least ``ahead`` characters after ``pos`` (default: the window), or all that is left."""
        ahead = ahead or self._window
        if len(self.text) - self.pos >= ahead or self.eof:
            return
        passed = self.text[: self.pos]
        newline = passed.rfind("\n")
        if newline != -1:
            self._line += passed.count("\n")
            self._line_start = self._base + newline + 1
        self._base += self.pos
        kept, self.pos = [self.text[self.pos :]], 0
        size = len(kept[0])
        while size < ahead and not self.eof:
            chunk = next(self._chunks, None)
            if chunk is None:
                self.eof = True
            else:
                kept.append(chunk)
                size += len(chunk)
        self.text = "".join(kept)

    def malformed(self, position: int, what: str, *, json_ok: bool = False) -> _Malformed:
        line = self._line + self.text.count("\n", 0, position)
        newline = self.text.rfind("\n", 0, position)
        column = position - newline if newline != -1 else self._base + position - self._line_start + 1
        return _Malformed(line, column, what, json_ok=json_ok)

    def peek(self) -> str:
        """The next character that is not white space ("" at the end), without taking it."""
        while True:
            self.ensure()
            self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr] # always matches
            if self.pos < len(self.text) or self.eof:
                return self.text[self.pos : self.pos + 1]

    def expect(self, allowed: str) -> str:
        found = self.peek()
        if not found or found not in allowed:
            raise self.malformed(self.pos, "expected " + " or ".join(repr(c) for c in allowed))
        self.pos += 1
        return found

    def value(self) -> object:
        """One JSON value. One longer than the window grows the window until it fits."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as error:  # its message names a position, never the text
                if self.eof:
                    raise self.malformed(error.pos, error.msg.lower()) from None
            except RecursionError:
                raise self.malformed(self.pos, "nested too deeply") from None
            else:
                if end < len(self.text) or self.eof:  # a number could go on in the next chunk
                    self.pos = end
                    return value
            self.ensure(2 * (len(self.text) - self.pos) + self._window)


def _clients(source: _Source) -> Iterator[object]:
    """Each element of the top-level ``clients`` array, decoded one at a time (the whole file is
    never a tree of dicts in memory at once)."""
    source.expect("{")
    seen = False
    if source.peek() == "}":
        raise source.malformed(source.pos, 'no "clients" list', json_ok=True)
    while True:
        if source.peek() != '"':
            raise source.malformed(source.pos, "expected '\"'")
        key = source.value()
        source.expect(":")
        if key == "clients":
            if seen:
                raise source.malformed(source.pos, 'a second "clients" list', json_ok=True)
            seen = True
            source.expect("[")
            if source.peek() == "]":
                source.pos += 1
            else:
                while True:
                    yield source.value()
                    if source.expect(",]") == "]":
                        break
        else:
            source.value()
        if source.expect(",}") == "}":
            break
    if source.peek():
        raise source.malformed(source.pos, "data after the end")
    if not seen:
        raise source.malformed(source.pos, 'no "clients" list', json_ok=True)


def _where(error: ValidationError) -> str:
    """The first problem's field path and kind: names of our own fields only, never a value."""
    first = error.errors(include_input=False, include_url=False, include_context=False)[0]
    parts = [str(p) if isinstance(p, int) or p in _FIELD_NAMES else "?" for p in first["loc"]]
    return f"{'field ' + '.'.join(parts) if parts else 'the entry itself'}: {first['type']}"


def _invalid(index: int, what: str) -> DirectoryFileError:
    return DirectoryFileError(f"is not a valid client directory (entry {index}, {what})")


def _utf8(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate half, from a "\ud800" escape
        return False
    return True


def _read_text(path: Path) -> Iterator[str]:
    """The file as text, a megabyte at a time."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset = 0
    with path.open("rb") as file:
        try:
            while chunk := file.read(_CHUNK):
                yield decoder.decode(chunk)
                offset += len(chunk)
            yield decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            raise DirectoryFileError(f"cannot be read (not UTF-8 text, at byte {offset + error.start})") from None


def _release_freed_memory() -> None:
    """Hand the C heap's free pages back to the system after a load. The read window's megabyte
    strings and the index's growing tables come and go on that heap, and glibc keeps what they
    leave between the index's own blocks (at 100k clients: 120 MB resident instead of 85)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to ask
        pass


def _dismantle(index: _Index) -> None:
    """Free an old index entry by entry (in a worker thread): dropped at once, its 100k entries
    would be freed in one step that holds the interpreter for tens of milliseconds."""
    for table in (index.by_key, index.by_id):
        while table:
            table.popitem()


def _load(path: Path) -> _Index:
    """Read and index the file; ``DirectoryFileError`` if it is not a valid directory.
    ``OSError`` when it cannot be read at all."""
    signature = _signature(path)  # before reading: a change while we read shows at the next look-up
    source = _Source(_read_text(path))
    by_key: dict[_Key, tuple[_Entry, ...]] = {}
    by_id: dict[str, _Entry] = {}
    recipients: dict[tuple[object, ...], int] = {}  # one entry per trajectbegeleider, however many clients
    shared: list[Recipient] = []
    dates: dict[date, date] = {}
    count = 0
    try:
        for count, raw in enumerate(_clients(source), start=1):  # noqa: B007 - used after the loop
            try:
                client = DirectoryClient.model_validate(raw)
            except ValidationError as error:
                raise _invalid(count - 1, _where(error)) from None
            same = tuple(client.trajectbegeleider.__dict__.values())  # a tuple hashes and compares at C speed
            recipient = recipients.get(same)
            if recipient is None:
                recipient = recipients[same] = len(shared)
                shared.append(client.trajectbegeleider)
                fields = client.trajectbegeleider.model_dump(mode="json").values()
                if not all(_utf8(v) for v in fields if isinstance(v, str)):
                    raise _invalid(count - 1, "field trajectbegeleider: lone surrogate")
            if not (_utf8(client.naam) and _utf8(client.klant_id)):
                raise _invalid(count - 1, "field naam or klant_id: lone surrogate")
            born = dates.setdefault(client.geboortedatum, client.geboortedatum)
            entry: _Entry = (client.klant_id, client.naam, born, client.actief_inburgeringstraject, recipient)
            key = lookup_key(client.naam, born)
            by_key[key] = (*by_key[key], entry) if key in by_key else (entry,)
            by_id[client.klant_id] = entry
    except _Malformed as error:
        raise DirectoryFileError(str(error)) from None
    finally:
        del source
        _release_freed_memory()
    return _Index(by_key, by_id, tuple(shared), count, signature)


def _client(entry: _Entry, recipients: tuple[Recipient, ...]) -> DirectoryClient:
    klant_id, naam, geboortedatum, actief, recipient = entry
    return DirectoryClient.model_construct(  # validated at load
        klant_id=klant_id, naam=naam, geboortedatum=geboortedatum, actief_inburgeringstraject=actief,
        trajectbegeleider=recipients[recipient],
    )


class FileDirectory:
    """A ``ClientDirectory`` over a JSON file that follows the file's changes.

    ``check_every``: seconds between two checks of the file's modification time (0: every look-up;
    a check is one ``stat``). ``reload_wait``: how long a look-up waits for a changed file's load."""

    def __init__(self, path: Path, *, check_every: float = 0.0, reload_wait: float = 2.0) -> None:
        self.path = Path(path)
        self.check_every = check_every
        self.reload_wait = reload_wait
        self._index = _load(self.path)
        self._checked_at = time.monotonic()
        self._rejected: _Signature | None = None  # a bad version: not read again until it changes
        self._missing = False
        self._reloading: asyncio.Future[None] | None = None

    def reload(self) -> None:
        """Read the file again now (raises ``DirectoryFileError`` or ``OSError``; keeps the old index then)."""
        self._index = _load(self.path)
        self._rejected = None

    def __len__(self) -> int:
        return self._index.count

    async def find(self, identity: Identity) -> list[DirectoryClient]:
        """The entries with this name (its words in any order) and birth date."""
        await self._follow_changes()
        index = self._index
        entries = index.by_key.get(lookup_key(identity.naam, identity.geboortedatum), ())
        return [_client(e, index.recipients) for e in entries]

    async def lookup(self, klant_id: str) -> DirectoryClient | None:
        """The entry with this ``klant_id`` as the file says now, or ``None``."""
        await self._follow_changes()
        index = self._index
        entry = index.by_id.get(klant_id)
        return _client(entry, index.recipients) if entry is not None else None

    async def colleagues(self, agency: Agency) -> list[Recipient]:
        """Issue 14, "Doorsturen": every trajectbegeleider of ``agency`` the file names, once each."""
        await self._follow_changes()
        seen: dict[tuple[str, str], Recipient] = {}
        for person in self._index.recipients:
            if person.agentschap is agency:
                seen.setdefault((person.tenant_id, person.aad_object_id), person)
        return list(seen.values())

    async def _follow_changes(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.check_every:
            return
        self._checked_at = now
        try:
            signature = _signature(self.path)
        except OSError as error:
            if not self._missing:
                self._missing = True
                log.error("client directory file unreadable; keeping the last good one",
                          extra={"error": type(error).__name__, "path": str(self.path)})
            return
        self._missing = False
        if signature in (self._index.signature, self._rejected):
            return
        if self._reloading is None:
            self._reloading = asyncio.ensure_future(self._reload_in_thread())
        try:
            await asyncio.wait_for(asyncio.shield(self._reloading), self.reload_wait)
        except TimeoutError:
            log.warning("client directory still loading; answered from the last good version",
                        extra={"count": self._index.count})

    async def _reload_in_thread(self) -> None:
        started = time.monotonic()
        attempted: _Signature | None = None
        try:
            attempted = _signature(self.path)
            index = await asyncio.to_thread(_load, self.path)
        except Exception as error:  # noqa: BLE001 - whatever went wrong, the last good index stays
            # This version is not read again; the next change (an operator's fix) is. An OSError
            # (the file half-replaced, say) is tried again at the next look-up.
            self._rejected = None if isinstance(error, OSError) else attempted
            problem = str(error) if isinstance(error, DirectoryFileError) else type(error).__name__
            log.error("client directory file rejected; keeping the last good one",
                      extra={"error": problem, "path": str(self.path), "count": self._index.count})
        else:
            old, self._index, self._rejected = self._index, index, None
            await asyncio.to_thread(_dismantle, old)
            log.info("client directory reloaded", extra={
                "count": index.count, "elapsed_ms": round((time.monotonic() - started) * 1000, 1)})
        finally:
            self._reloading = None
