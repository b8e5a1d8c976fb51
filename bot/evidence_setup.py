"""Wiring for the evidence commands: the key that signs exports, and the processors they list.

The signing key is its own key, never derived from the data key: it proves who made an export,
and it can be handed to no one (only its public half is). ``BOT_EVIDENCE_SIGNING_KEY`` (base64 of
a 32-byte seed), or the Key Vault secret ``BOT_EVIDENCE_SIGNING_SECRET`` in ``BOT_KEY_VAULT_URL``;
in local mode, a development key kept beside the database.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.adapters.crypto import decode_key, generate_key
from bot.app.signing import private_key_from_seed
from bot.bootstrap import ConfigurationError, check_store
from bot.config import Settings

log = logging.getLogger(__name__)
DEV_KEY_FILE = "dev-evidence-signing.key"


async def signing_key_of(settings: Settings, *, key_vault_options: dict[str, Any] | None = None) -> Ed25519PrivateKey:
    try:
        if settings.evidence_signing_key:
            return private_key_from_seed(decode_key(settings.evidence_signing_key, "BOT_EVIDENCE_SIGNING_KEY"))
        if settings.evidence_signing_secret:
            return private_key_from_seed(await _from_key_vault(settings, dict(key_vault_options or {})))
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    check_store(settings)
    if not settings.local_mode or settings.sqlite_path is None:
        raise ConfigurationError("exports are signed: set BOT_EVIDENCE_SIGNING_KEY (base64 of 32 random bytes) "
                                 "or BOT_EVIDENCE_SIGNING_SECRET (a Key Vault secret in BOT_KEY_VAULT_URL)")
    key_file = settings.sqlite_path.parent / DEV_KEY_FILE
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(generate_key())
        log.warning("generated a development evidence signing key", extra={"path": str(key_file)})
    return private_key_from_seed(decode_key(key_file.read_text().strip(), str(key_file)))


async def _from_key_vault(settings: Settings, options: dict[str, Any]) -> bytes:
    if not settings.key_vault_url:
        raise ConfigurationError("BOT_EVIDENCE_SIGNING_SECRET names a Key Vault secret: set BOT_KEY_VAULT_URL too")
    from azure.core.exceptions import AzureError
    from azure.identity.aio import DefaultAzureCredential

    from bot.adapters.key_vault import secret_from_key_vault

    credential = options.pop("credential", None) or DefaultAzureCredential()
    try:
        return await secret_from_key_vault(settings.key_vault_url, settings.evidence_signing_secret, credential,
                                           **options)
    except AzureError as error:
        raise ConfigurationError(
            f"BOT_EVIDENCE_SIGNING_SECRET: cannot read secret {settings.evidence_signing_secret!r} "
            f"({type(error).__name__}); the identity needs the Key Vault Secrets User role"
        ) from None
    finally:
        await credential.close()


def processors_of(settings: Settings) -> list[dict[str, str]]:
    """The processors (art. 6) this deployment uses, for the export's summary and the report."""
    if settings.processors.strip():
        entries = [p.partition(":") for p in settings.processors.split(";") if p.strip()]
        return [{"name": name.strip(), "role": role.strip()} for name, _, role in entries]
    hosting = settings.hosting or "De hosting van deze server (niet opgegeven: BOT_HOSTING)"
    found = [{"name": "Microsoft Teams en Azure Bot Service (Microsoft)",
              "role": "bezorgen de berichten en kaarten tussen consulent en trajectbegeleider"}]
    if settings.sqlite_path is not None:
        found.append({"name": f"{hosting}: de schijf van de host (SQLite)",
                      "role": "bewaart concepten, overdrachten en de audittrail; cliëntgegevens versleuteld"})
    else:
        found.append({"name": "Azure Table Storage (Microsoft)",
                      "role": "bewaart concepten, overdrachten en de audittrail; cliëntgegevens versleuteld"})
    if settings.key_vault_url:
        found.append({"name": "Azure Key Vault (Microsoft)",
                      "role": "bewaart de sleutels (hoofdsleutel, handtekening)"})
    if settings.graph_credential:
        found.append({"name": "Microsoft Graph (Microsoft)",
                      "role": "installeert de app voor een trajectbegeleider die de bot nog niet opende"})
    found.append({"name": hosting, "role": "draait de bot"})
    if settings.applicationinsights_connection_string:
        found.append({"name": "Application Insights (Microsoft)",
                      "role": "ontvangt logs en metingen, zonder cliëntgegevens"})
    return found
