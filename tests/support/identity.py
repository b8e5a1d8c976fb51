"""A stand-in for the Bot Framework's token issuer: OpenID metadata and signing keys on loopback,
and tokens minted the way the Bot Connector mints them (RS256, ``iss``, ``aud`` = app id,
``serviceurl``). botbuilder fetches the keys with blocking ``requests``, so this serves them from
a thread of its own."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class IdentityStandIn:
    def __init__(self) -> None:
        self.signing_key, self.kid = _key(), "stand-in-key-1"
        self.stranger_key = _key()  # a key nobody published
        # published, but endorsed for another channel only: Teams' tokens are not signed with it
        self.other_channel_key, self.other_channel_kid = _key(), "stand-in-key-skype"
        self._server: ThreadingHTTPServer | None = None

    @property
    def metadata_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/.well-known/openidconfiguration"

    def start(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                base = f"http://127.0.0.1:{self.server.server_address[1]}"
                if self.path.endswith("openidconfiguration"):
                    body: Any = {"issuer": ISSUER, "jwks_uri": f"{base}/v1/keys"}
                elif self.path.endswith("/keys"):
                    jwk = json.loads(RSAAlgorithm.to_jwk(stand_in.signing_key.public_key()))
                    other = json.loads(RSAAlgorithm.to_jwk(stand_in.other_channel_key.public_key()))
                    body = {"keys": [{**jwk, "kid": stand_in.kid, "use": "sig", "endorsements": ["msteams"]},
                                     {**other, "kid": stand_in.other_channel_kid, "use": "sig",
                                      "endorsements": ["skype"]}]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def token(self, app_id: str, service_url: str, *, key: rsa.RSAPrivateKey | None = None, kid: str | None = None,
              issuer: str = ISSUER, lifetime: int = 3600) -> str:
        now = int(time.time())
        claims = {"iss": issuer, "aud": app_id, "serviceurl": service_url, "nbf": now - 10, "exp": now + lifetime,
                  "jti": str(uuid.uuid4())}
        return jwt.encode(claims, key or self.signing_key, algorithm="RS256", headers={"kid": kid or self.kid})
