"""Keys from Azure Key Vault. The master key: one secret, its versions being the key's rotations;
the evidence signing key: one secret, its current version.

For the master key, the current version of the secret encrypts; every other *enabled* version
still decrypts, so a rotation is "add a new version", and an old key is retired by disabling its
version once the records it wrapped are purged (at most the retention period). Authentication is
``DefaultAzureCredential`` (the managed identity, with the *Key Vault Secrets User* role).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azure.core.credentials_async import AsyncTokenCredential
from azure.keyvault.secrets.aio import SecretClient

from bot.adapters.crypto import decode_key


@dataclass(frozen=True, slots=True)
class KeyRing:
    current: bytes
    previous: tuple[bytes, ...]  # newest first, oldest last


async def key_ring_from_key_vault(
    vault_url: str, secret_name: str, credential: AsyncTokenCredential, **client_options: Any
) -> KeyRing:
    """Read the secret's current value and every other enabled version (base64 of 32 bytes each)."""
    name = f"Key Vault secret {secret_name!r}"
    async with SecretClient(vault_url, credential, **client_options) as client:
        current = await client.get_secret(secret_name)
        older: list[tuple[datetime, str]] = []
        async for version in client.list_properties_of_secret_versions(secret_name):
            if version.enabled and version.version != current.properties.version:
                secret = await client.get_secret(secret_name, version.version)
                older.append((version.created_on or datetime.min.replace(tzinfo=UTC), secret.value or ""))
    older.sort(key=lambda pair: pair[0], reverse=True)
    return KeyRing(
        decode_key(current.value or "", name),
        tuple(decode_key(value, f"an older version of the {name}") for _, value in older),
    )


async def secret_from_key_vault(
    vault_url: str, secret_name: str, credential: AsyncTokenCredential, **client_options: Any
) -> bytes:
    """One key that does not rotate by versions (the evidence signing key): the secret's current
    value, base64 of 32 bytes."""
    async with SecretClient(vault_url, credential, **client_options) as client:
        secret = await client.get_secret(secret_name)
    return decode_key(secret.value or "", f"Key Vault secret {secret_name!r}")
