"""The master key from Azure Key Vault: the current version encrypts, older enabled versions still
decrypt (rotation, with BOT_HMAC_KEY keeping the keyed hashes), disabled ones are gone; and the
evidence signing key from its own secret; against a Key Vault stand-in on loopback HTTPS."""

import base64

import pytest

from bot.adapters.crypto import Sealer
from bot.bootstrap import ConfigurationError, sealer_of
from bot.config import Settings
from tests.support.key_vault import FakeCredential, KeyVaultStandIn

KEY1, KEY2, KEY3 = bytes(range(32)), bytes(range(1, 33)), bytes(range(2, 34))


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


@pytest.fixture
async def vault(tmp_path):
    stand_in = KeyVaultStandIn(tmp_path)
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


def settings(vault, **extra: str) -> Settings:
    return Settings(_env_file=None, BOT_KEY_VAULT_URL=vault.url, BOT_KEY_VAULT_SECRET="data-key",
                    BOT_STORE="sqlite:///./unused.db", **extra)


def options() -> dict:
    # The stand-in's certificate is self-signed and it does not live under vault.azure.net.
    return {"credential": FakeCredential(), "connection_verify": False, "verify_challenge_resource": False}


async def test_rotation_through_key_vault_versions(vault):
    vault.add_version("data-key", b64(KEY1))
    before = await sealer_of(settings(vault), key_vault_options=options())
    sealed = before.seal("rec-1", b"Amina")
    assert vault.unauthenticated_calls >= 1  # the SDK's challenge handshake happened for real

    vault.add_version("data-key", b64(KEY2))  # rotate: a new version of the secret ...
    with pytest.raises(ConfigurationError, match="key rotation needs BOT_HMAC_KEY"):
        await sealer_of(settings(vault), key_vault_options=options())
    # ... with BOT_HMAC_KEY set to the key the keyed hashes derived from so far (README, Keys)
    after = await sealer_of(settings(vault, BOT_HMAC_KEY=b64(KEY1)), key_vault_options=options())
    assert after.key_id == Sealer(KEY2).key_id != before.key_id
    assert after.open("rec-1", sealed) == b"Amina"  # old records stay readable
    assert (after.fingerprint_key, after.audit_key) == (before.fingerprint_key, before.audit_key)

    vault.secrets["data-key"][0].enabled = False  # the retention period later: the old version retired
    retired = await sealer_of(settings(vault, BOT_HMAC_KEY=b64(KEY1)), key_vault_options=options())
    assert (retired.fingerprint_key, retired.audit_key) == (before.fingerprint_key, before.audit_key)
    with pytest.raises(ValueError, match="unknown master key"):
        retired.open("rec-1", sealed)


async def test_the_evidence_signing_key_from_a_key_vault_secret(vault):
    from bot.app.signing import fingerprint, private_key_from_seed
    from bot.evidence_setup import signing_key_of

    vault.add_version("evidence-signing", b64(KEY3))
    configured = settings(vault, BOT_EVIDENCE_SIGNING_SECRET="evidence-signing", MicrosoftAppId="app")
    key = await signing_key_of(configured, key_vault_options=options())
    assert fingerprint(key.public_key()) == fingerprint(private_key_from_seed(KEY3).public_key())
    missing = settings(vault, BOT_EVIDENCE_SIGNING_SECRET="no-such-secret", MicrosoftAppId="app")
    with pytest.raises(ConfigurationError, match="BOT_EVIDENCE_SIGNING_SECRET.*Key Vault Secrets User"):
        await signing_key_of(missing, key_vault_options=options())


async def test_a_disabled_version_no_longer_decrypts(vault):
    vault.add_version("data-key", b64(KEY1), enabled=False)
    vault.add_version("data-key", b64(KEY3))
    sealer = await sealer_of(settings(vault), key_vault_options=options())
    with pytest.raises(ValueError, match="unknown master key"):
        sealer.open("rec-1", Sealer(KEY1).seal("rec-1", b"x"))


async def test_a_missing_secret_is_a_configuration_error_naming_the_role(vault):
    with pytest.raises(ConfigurationError, match="Key Vault Secrets User"):
        await sealer_of(settings(vault), key_vault_options=options())


async def test_a_bad_secret_value_is_named(vault):
    vault.add_version("data-key", "not base64!")
    with pytest.raises(ConfigurationError, match="Key Vault secret 'data-key' is not valid base64"):
        await sealer_of(settings(vault), key_vault_options=options())
