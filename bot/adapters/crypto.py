"""Envelope encryption for client data at rest.

Each record gets its own random 256-bit data key; the content is sealed with AES-GCM under that
key (the record id is bound as associated data, so a ciphertext cannot be moved to another
record), and the data key is wrapped with the master key. Deleting a record's wrapped key makes
every copy of its ciphertext (backups, WAL pages, replicas) unreadable: crypto-shredding.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE = 12


@dataclass(frozen=True, slots=True)
class Sealed:
    key_id: str
    wrapped_key: bytes
    ciphertext: bytes


class Sealer:
    """Seals and opens record content with per-record keys wrapped by one master key."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes (base64 of 32 random bytes)")
        self._master = AESGCM(master_key)
        # Identifies which master key wrapped a record, without revealing anything about it.
        self.key_id = hashlib.sha256(b"key-id|" + master_key).hexdigest()[:16]
        self._fingerprint_key = HKDF(SHA256(), 32, salt=None, info=b"client-fingerprint").derive(master_key)

    @property
    def fingerprint_key(self) -> bytes:
        """A key for recognising clients again by keyed hash, derived from the master key."""
        return self._fingerprint_key

    def seal(self, record_id: str, plaintext: bytes) -> Sealed:
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(_NONCE)
        ciphertext = nonce + AESGCM(data_key).encrypt(nonce, plaintext, record_id.encode())
        wrap_nonce = os.urandom(_NONCE)
        wrapped = wrap_nonce + self._master.encrypt(wrap_nonce, data_key, b"dek|" + record_id.encode())
        return Sealed(self.key_id, wrapped, ciphertext)

    def open(self, record_id: str, sealed: Sealed) -> bytes:
        if sealed.key_id != self.key_id:
            raise ValueError(f"record sealed under another master key ({sealed.key_id})")
        wrapped = sealed.wrapped_key
        data_key = self._master.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], b"dek|" + record_id.encode())
        ct = sealed.ciphertext
        return AESGCM(data_key).decrypt(ct[:_NONCE], ct[_NONCE:], record_id.encode())


def decode_key(value: str) -> bytes:
    """A master key from configuration: base64 of exactly 32 bytes."""
    key = base64.b64decode(value, validate=True)
    if len(key) != 32:
        raise ValueError("BOT_DATA_KEY must be base64 of 32 bytes")
    return key


def generate_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()
