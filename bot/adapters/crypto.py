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


def key_id_of(master_key: bytes) -> str:
    """Identifies which master key wrapped a record, without revealing anything about it."""
    return hashlib.sha256(b"key-id|" + master_key).hexdigest()[:16]


def _derive(base: bytes, purpose: bytes) -> bytes:
    return HKDF(SHA256(), 32, salt=None, info=purpose).derive(base)


class Sealer:
    """Seals record content with per-record keys wrapped by the current master key; opens records
    wrapped by the current or any previous master key (key rotation without losing pending records).

    The keyed-hash keys (client fingerprints, the audit chain) must not change with a rotation, or
    repeat detection and ``audit verify`` would break: they derive from ``hmac_key`` if given, else
    from the oldest master key listed. That fallback only keeps deployments that started without
    ``BOT_HMAC_KEY`` readable: configuration refuses a rotation without it (``bootstrap.sealer_of``),
    because once the oldest key is dropped the derived keys would change. Setting ``hmac_key`` to
    the key they derived from so far gives the very same keys, so the chain carries on unbroken.
    """

    def __init__(self, master_key: bytes, previous: tuple[bytes, ...] = (), hmac_key: bytes | None = None) -> None:
        for key in (master_key, *previous):
            if len(key) != 32:
                raise ValueError("a master key must be 32 bytes (base64 of 32 random bytes)")
        self.key_id = key_id_of(master_key)
        self._master = AESGCM(master_key)
        self._keyring = {key_id_of(key): AESGCM(key) for key in (*previous, master_key)}
        base = hmac_key or (previous[-1] if previous else master_key)
        self.fingerprint_key = _derive(base, b"client-fingerprint")  # recognises a client by keyed hash
        self.audit_key = _derive(base, b"audit-chain")  # chains audit events (tamper evidence)

    def seal(self, record_id: str, plaintext: bytes) -> Sealed:
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(_NONCE)
        ciphertext = nonce + AESGCM(data_key).encrypt(nonce, plaintext, record_id.encode())
        wrap_nonce = os.urandom(_NONCE)
        wrapped = wrap_nonce + self._master.encrypt(wrap_nonce, data_key, b"dek|" + record_id.encode())
        return Sealed(self.key_id, wrapped, ciphertext)

    def open(self, record_id: str, sealed: Sealed) -> bytes:
        master = self._keyring.get(sealed.key_id)
        if master is None:
            raise ValueError(f"sealed under an unknown master key {sealed.key_id}: list it in BOT_DATA_KEYS_PREVIOUS")
        wrapped = sealed.wrapped_key
        data_key = master.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], b"dek|" + record_id.encode())
        ct = sealed.ciphertext
        return AESGCM(data_key).decrypt(ct[:_NONCE], ct[_NONCE:], record_id.encode())


def decode_key(value: str, name: str = "BOT_DATA_KEY") -> bytes:
    """A key from configuration: base64 of exactly 32 bytes."""
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except ValueError:
        raise ValueError(f"{name} is not valid base64") from None
    if len(key) != 32:
        raise ValueError(f"{name} must be base64 of 32 bytes")
    return key


def generate_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()
