"""An Azure Key Vault (secrets) stand-in on loopback HTTPS, with the bearer-challenge handshake the
SDK performs, versions of one secret, and a self-signed certificate made on the spot."""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from azure.core.credentials import AccessToken
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TOKEN = "stand-in-vault-token"


class FakeCredential:
    """An ``AsyncTokenCredential`` that hands out one fixed token and records the scopes asked."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    async def get_token(self, *scopes: str, **_: object) -> AccessToken:
        self.scopes += scopes
        return AccessToken(TOKEN, int(dt.datetime.now(dt.UTC).timestamp()) + 3600)

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> FakeCredential:
        return self

    async def __aexit__(self, *_: object) -> None:
        pass


@dataclass
class Version:
    id: str
    value: str
    created: int
    enabled: bool = True


@dataclass
class KeyVaultStandIn:
    folder: Path
    secrets: dict[str, list[Version]] = field(default_factory=dict)  # name → versions, oldest first
    runner: web.AppRunner | None = None
    url: str = ""
    unauthenticated_calls: int = 0

    def add_version(self, name: str, value: str, *, enabled: bool = True) -> None:
        versions = self.secrets.setdefault(name, [])
        versions.append(Version(f"v{len(versions) + 1:02d}", value, 1_700_000_000 + len(versions) * 1000, enabled))

    async def start(self) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*self._certificate())
        app = web.Application()
        app.router.add_get("/secrets/{name}/versions", self._versions)
        app.router.add_get("/secrets/{name}/{version}", self._get)
        app.router.add_get("/secrets/{name}", self._get)
        app.router.add_get("/secrets/{name}/", self._get)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        self.url = f"https://127.0.0.1:{self.runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    def _certificate(self) -> tuple[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
        cert_path, key_path = self.folder / "vault.crt", self.folder / "vault.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return str(cert_path), str(key_path)

    def _challenge(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") == f"Bearer {TOKEN}":
            return None
        self.unauthenticated_calls += 1
        return web.Response(status=401, headers={"WWW-Authenticate": (
            'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001", '
            'resource="https://vault.azure.net"')})

    def _bundle(self, name: str, version: Version, *, with_value: bool) -> dict:
        bundle = {"id": f"{self.url}/secrets/{name}/{version.id}",
                  "attributes": {"enabled": version.enabled, "created": version.created, "updated": version.created}}
        return {**bundle, "value": version.value} if with_value else bundle

    async def _get(self, request: web.Request) -> web.Response:
        if (challenge := self._challenge(request)) is not None:
            return challenge
        versions = self.secrets.get(request.match_info["name"], [])
        wanted = request.match_info.get("version")
        found = [v for v in versions if v.id == wanted] if wanted else [v for v in versions if v.enabled][-1:]
        if not found:
            return web.json_response({"error": {"code": "SecretNotFound", "message": "not found"}}, status=404)
        return web.json_response(self._bundle(request.match_info["name"], found[0], with_value=True))

    async def _versions(self, request: web.Request) -> web.Response:
        if (challenge := self._challenge(request)) is not None:
            return challenge
        name = request.match_info["name"]
        return web.json_response({"value": [self._bundle(name, v, with_value=False)
                                            for v in self.secrets.get(name, [])], "nextLink": None})
