"""A Docker-style token server for a local registry (the Docker Hub / GHCR bearer flow).

``GET /token?service=…&scope=repository:NAME:pull`` answers
``{"token", "access_token", "expires_in", "issued_at"}`` with an ES256 JWT whose header
carries ``x5c`` (the self-signed certificate that the registry trusts through its
``rootcertbundle``). See https://distribution.github.io/distribution/spec/auth/token/ and
https://distribution.github.io/distribution/spec/auth/jwt/.

Policy: with the right Basic credentials every requested action is granted; anonymously,
only ``pull`` on repositories under ``public/`` is granted (other scopes get a token with no
access, like Docker Hub, so the registry answers ``insufficient_scope``); wrong credentials
get 401. Imports only the standard library, ``cryptography`` and ``PyJWT``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.sockets import LOOPBACK

SERVICE = "ballast-test-registry"
ISSUER = "ballast-test-token-issuer"
PUBLIC_PREFIX = "public/"
DEFAULT_EXPIRES_IN_S = 300

AccessEntry = dict[str, Any]


def _make_signing_identity() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A fresh P-256 key and a self-signed certificate for it (the registry's trust root)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def parse_scope(scope: str) -> tuple[str, str, list[str]]:
    """Split ``type:name:actions`` (the name itself never holds a colon in practice)."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return kind, name, [a for a in actions.split(",") if a]


class TokenServer:
    """A threaded token server on loopback; counts every request it answers."""

    def __init__(
        self,
        cert_path: Path,
        *,
        username: str,
        password: str,
        port: int = 0,
        expires_in_s: int = DEFAULT_EXPIRES_IN_S,
    ) -> None:
        self.username = username
        self.password = password
        self.expires_in_s = expires_in_s
        """Lifetime written into new tokens (``exp`` and ``expires_in``); tests may lower it."""
        self.requests: list[tuple[str, bool]] = []
        """One ``(scope, authenticated)`` per ``/token`` request; several scopes are joined
        by a space, no scope is ``""``. Wrong credentials count as not authenticated."""
        self.internal_username = "ballast-internal-pusher"
        self.internal_password = secrets.token_hex(16)
        """An all-powerful account whose requests are *not* counted: used by skopeo pushes
        so that seeding a registry never shows up in a test's token counts."""
        self._key, self._cert = _make_signing_identity()
        self._x5c = base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode()
        self._key_pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.cert_path = cert_path
        cert_path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def realm(self) -> str:
        return f"http://{LOOPBACK}:{self._port}/token"

    @property
    def is_running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self._server is not None:
            return
        owner = self

        class Handler(_TokenHandler):
            server_owner = owner

        server = ThreadingHTTPServer((LOOPBACK, self._port), Handler)
        server.daemon_threads = True
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"token-server-{self._port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def grant(self, scopes: list[str], *, authenticated: bool) -> list[AccessEntry]:
        """Apply the policy: what a caller gets for these scopes."""
        access: list[AccessEntry] = []
        for scope in scopes:
            kind, name, actions = parse_scope(scope)
            if authenticated:
                allowed = actions
            elif kind == "repository" and name.startswith(PUBLIC_PREFIX):
                allowed = [a for a in actions if a == "pull"]
            else:
                allowed = []
            if allowed:
                access.append({"type": kind, "name": name, "actions": allowed})
        return access

    def mint(self, access: list[AccessEntry], *, subject: str = "") -> str:
        """Sign a JWT with these grants (no request is counted: for helpers and for tests
        that need a hand-made token, e.g. one that has expired)."""
        now = int(dt.datetime.now(dt.UTC).timestamp())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + self.expires_in_s,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        return jwt.encode(claims, self._key_pem, algorithm="ES256", headers={"x5c": [self._x5c]})

    def mint_for(self, repo: str, actions: tuple[str, ...] = ("pull", "push", "delete")) -> str:
        """A token for one repository (uncounted)."""
        return self.mint([{"type": "repository", "name": repo, "actions": list(actions)}])


class _TokenHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_owner: TokenServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line."""

    def _reply(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _credentials(self) -> tuple[str, str] | None:
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return ("", "")
        return user, password

    def do_GET(self) -> None:
        owner = self.server_owner
        url = urlsplit(self.path)
        if url.path != "/token":
            self._reply(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
            return
        query = parse_qs(url.query)
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        scope_text = " ".join(scopes)
        creds = self._credentials()
        internal = creds == (owner.internal_username, owner.internal_password)
        authenticated = internal or creds == (owner.username, owner.password)
        if not internal:
            owner.requests.append((scope_text, authenticated))
        if creds is not None and not authenticated:
            self._reply(
                401,
                {"errors": [{"code": "UNAUTHORIZED", "message": "incorrect username or password"}]},
                {"WWW-Authenticate": 'Basic realm="ballast-test-token"'},
            )
            return
        subject = creds[0] if creds else ""
        token = owner.mint(owner.grant(scopes, authenticated=authenticated), subject=subject)
        issued_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._reply(
            200,
            {
                "token": token,
                "access_token": token,
                "expires_in": owner.expires_in_s,
                "issued_at": issued_at,
            },
        )

    def do_POST(self) -> None:
        """The OAuth2 POST flow is not implemented; 404 makes clients fall back to GET, as
        the Docker client does against registries that only know the GET flow."""
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._reply(404, {"errors": [{"code": "UNSUPPORTED", "message": "use GET /token"}]})
