"""Signed exports: every party can check an export with nothing but the file and a public key.

The format is the same for CSV, JSON and the HTML report: **the last line of the file is the
signature; it signs every byte before it** (Ed25519, over the exact bytes). So an agency's privacy
officer can verify with ``python -m bot audit verify-export FILE --public-key KEY`` or with
OpenSSL alone::

    head -n -1 export.csv > signed-part
    openssl pkeyutl -verify -pubin -inkey vdab-evidence.pem -rawin -in signed-part -sigfile sig.bin

(``sig.bin``: the signature's base64 ``value``, decoded). The signature line also lists a short
SHA-256 digest of every signed line, so a failed verification can say *which* line differs; the
digests only locate, the signature alone decides.

This module needs nothing but ``cryptography``: no settings, no store, no secret.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"
SIGNED_OVER = "every byte of this file before this line"
_DIGEST = 6  # bytes of SHA-256 per line: enough to point at the edited line, not to decide anything
_JSON_PREFIX = ' "signature": '
_HTML_PREFIX, _HTML_SUFFIX = "<!-- signature ", " -->"
_CSV_PREFIX = "signature,"


class BadKey(ValueError):
    """A key that is not an Ed25519 key in a form this module reads; the message says why."""


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: Ed25519PublicKey) -> str:
    """What people compare on the phone: SHA-256 of the raw key, 128 bits, in groups of four."""
    digest = hashlib.sha256(_raw(public)).hexdigest()[:32]
    return "-".join(digest[i:i + 4] for i in range(0, 32, 4))


def private_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    if len(seed) != 32:
        raise BadKey("an Ed25519 signing key is 32 bytes (base64 of a 32-byte seed)")
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_text(public: Ed25519PublicKey) -> str:
    """The raw public key in base64: one line to hand over, paste, or pass to ``--public-key``."""
    return base64.b64encode(_raw(public)).decode()


def public_key_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(value: str) -> Ed25519PublicKey:
    """A public key as given on the command line: the base64 text, a PEM block, or a file holding
    either (for instance the saved output of ``python -m bot audit public-key``)."""
    text = value
    if len(value) < 4096 and "\n" not in value and Path(value).is_file():
        text = Path(value).read_text(encoding="utf-8", errors="replace")
    if "-----BEGIN PUBLIC KEY-----" in text:
        block = text[text.index("-----BEGIN PUBLIC KEY-----"):]
        try:
            key = serialization.load_pem_public_key(block.encode())
        except ValueError:
            raise BadKey("the PEM block is not a readable public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise BadKey("the PEM block is not an Ed25519 public key")
        return key
    for token in re.findall(r"[A-Za-z0-9+/]{43}=", text):
        raw = base64.b64decode(token)
        if len(raw) == 32:
            return Ed25519PublicKey.from_public_bytes(raw)
    raise BadKey("expected an Ed25519 public key: base64 of 32 bytes, a PEM block, or a file holding one")


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def _digests(signed: bytes) -> str:
    return base64.b64encode(b"".join(hashlib.sha256(line).digest()[:_DIGEST] for line in _lines(signed))).decode()


def sign(body: str, key: Ed25519PrivateKey, kind: str) -> bytes:
    """``body`` (complete lines) plus its signature line, as the bytes to write. ``kind`` is
    ``csv``, ``json`` (the body must end inside the top-level object, after a comma) or ``html``."""
    signed = body.encode("utf-8")
    if signed and not signed.endswith(b"\n"):
        raise ValueError("the signed part must end with a newline")
    block = {"algorithm": ALGORITHM, "public_key_fingerprint": fingerprint(key.public_key()),
             "signed_over": SIGNED_OVER, "lines": len(_lines(signed)), "line_digests": _digests(signed),
             "value": base64.b64encode(key.sign(signed)).decode()}
    if kind == "json":
        line = _JSON_PREFIX + json.dumps(block) + "}"
    elif kind == "html":
        line = _HTML_PREFIX + json.dumps(block) + _HTML_SUFFIX
    elif kind == "csv":
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(
            ["signature", ALGORITHM, block["public_key_fingerprint"], SIGNED_OVER, block["value"],
             block["lines"], block["line_digests"]])
        line = out.getvalue()
    else:
        raise ValueError(f"unknown export kind {kind!r}")
    return signed + line.encode() + b"\n"


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of ``verify-export``: valid, or what is wrong and (if it can tell) on which line."""

    valid: bool
    message: str
    line: int | None = None
    lines: int = 0
    fingerprint: str = ""


def _signature_block(line: str) -> dict[str, object]:
    block: dict[str, object]
    if line.startswith(_JSON_PREFIX) and line.endswith("}"):
        block = json.loads(line[len(_JSON_PREFIX):-1])
        return block
    if line.startswith(_HTML_PREFIX) and line.endswith(_HTML_SUFFIX):
        block = json.loads(line[len(_HTML_PREFIX):-len(_HTML_SUFFIX)])
        return block
    if line.startswith(_CSV_PREFIX):
        row = line.split(",")  # no field holds a comma; and csv's field limit is below the digests' size
        if len(row) == 7:
            return {"algorithm": row[1], "public_key_fingerprint": row[2], "signed_over": row[3], "value": row[4],
                    "lines": int(row[5]), "line_digests": row[6]}
    raise ValueError("not a signature line")


def _first_difference(signed: bytes, digests: str) -> tuple[int | None, int]:
    """The first line (1-based) whose digest differs from the signed list, and how many were signed."""
    try:
        listed = base64.b64decode(digests, validate=True)
    except (binascii.Error, ValueError):
        return None, 0
    expected = [listed[i:i + _DIGEST] for i in range(0, len(listed), _DIGEST)]
    found = [hashlib.sha256(line).digest()[:_DIGEST] for line in _lines(signed)]
    for number, (want, got) in enumerate(zip(expected, found, strict=False), start=1):
        if want != got:
            return number, len(expected)
    if len(expected) != len(found):
        return min(len(expected), len(found)) + 1, len(expected)
    return None, len(expected)


def verify(data: bytes, public: Ed25519PublicKey) -> Check:
    """Check an export's signature against ``public``; on failure, name the first altered line."""
    body = data[:-1] if data.endswith(b"\n") else data
    cut = body.rfind(b"\n") + 1
    signed, last = data[:cut], body[cut:].decode("utf-8", errors="replace").rstrip("\r")
    number = len(_lines(signed)) + 1
    try:
        block = _signature_block(last)
        value = base64.b64decode(str(block["value"]), validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return Check(False, f"line {number} (the last) is not a signature line: the file is not a signed "
                            "export, or its end was cut off or changed", number)
    mine = fingerprint(public)
    if block.get("algorithm") != ALGORITHM:
        return Check(False, f"line {number}: unknown signature algorithm {block.get('algorithm')!r}", number)
    try:
        public.verify(value, signed)
    except InvalidSignature:
        pass
    else:
        lines = len(_lines(signed))
        if (block.get("public_key_fingerprint"), block.get("lines"), block.get("line_digests")) != (
                mine, lines, _digests(signed)):
            return Check(False, f"line {number} (the signature line) was altered; the {lines} lines it signs "
                                "are intact", number)
        return Check(True, f"export verified: {lines} lines signed by key {mine}, not one byte changed"
                           f"{_describe(signed)}", lines=lines, fingerprint=mine)
    if block.get("public_key_fingerprint") != mine:
        return Check(False, f"signed by another key ({block.get('public_key_fingerprint')}), not by {mine}: "
                            "check that you have the right public key", number)
    normalised = data.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n")
    if normalised != data and verify(normalised, public).valid:
        return Check(False, "the file was re-saved (line endings changed to CRLF, or a byte order mark added, e.g. "
                            "by an editor, a spreadsheet or a mail program); apart from that it is exactly as signed")
    line, count = _first_difference(signed, str(block.get("line_digests", "")))
    if line is None:
        return Check(False, f"line {number}: the signature line itself was altered", number)
    found = len(_lines(signed))
    extra = f" ({count} lines were signed, the file has {found})" if count != found else ""
    return Check(False, f"line {line}{_event_on(signed, line)} differs from what was signed: it was altered after "
                        f"signing{extra}", line)


def _describe(signed: bytes) -> str:
    """What the export says it covers (its header, in CSV or JSON), so the reader knows what was verified."""
    text = signed[:20_000].decode("utf-8", errors="replace") + signed[-20_000:].decode("utf-8", errors="replace")
    found = {}
    for name in ("agency", "since", "until", "exported_at"):
        match = re.search(rf'^ "{name}": "?([^",]*)"?,$', text, re.MULTILINE) or re.search(
            rf"^{name},([^,\n]*)$", text, re.MULTILINE)
        if match and match.group(1) not in ("", "null"):
            found[name] = match.group(1)
    if not found:
        return ""
    since, until = found.get("since"), found.get("until")
    period = (f"{since} up to {until} (not included)" if since and until else f"from {since}" if since
              else f"up to {until} (not included)" if until else "the whole trail")
    who = f"agency {found['agency']}" if "agency" in found else "every agency"
    made = f", exported {found['exported_at']}" if "exported_at" in found else ""
    return f"; it covers {who}, {period}{made}"


def _event_on(signed: bytes, number: int) -> str:
    """`` (event #12)`` if that line is an event of a CSV or JSON export: a hint for the reader."""
    lines = _lines(signed)
    text = lines[number - 1].decode("utf-8", errors="replace") if number <= len(lines) else ""
    found = re.match(r"(\d+),", text) or re.search(r'"seq": (\d+)[,}]', text)
    return f" (event #{found.group(1)})" if found else ""
