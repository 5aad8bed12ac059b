"""Registry authentication: Basic, and the Bearer token flow of the distribution spec.

A registry answers 401 with ``WWW-Authenticate: Bearer realm=…,service=…,scope=…``;
we ask the realm for a token (anonymously, or with Basic credentials, or with
an identity token), cache it per registry and scope until it expires, and
remember the challenge so the next repository on that registry gets its token
before the first request instead of after a 401.
See https://distribution.github.io/distribution/spec/auth/token/.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ballast.registry.credentials import Credential, CredentialStore

_PARAM_RE = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
_EXPIRY_MARGIN_S = 10.0
DEFAULT_TOKEN_LIFETIME_S = 60.0


@dataclass(frozen=True, slots=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` header."""

    scheme: str
    realm: str = ""
    service: str = ""
    scope: str = ""


def parse_challenge(header: str) -> Challenge | None:
    """Parse the first challenge of a ``WWW-Authenticate`` header, or None if unusable."""
    header = header.strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    params = {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _PARAM_RE.finditer(rest)
    }
    params = {k: v.replace('\\"', '"') for k, v in params.items()}
    return Challenge(
        scheme=scheme.lower(),
        realm=params.get("realm", ""),
        service=params.get("service", ""),
        scope=params.get("scope", ""),
    )


def basic_header(credential: Credential) -> str:
    raw = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    expires_at: float


# (challenge, scope, credential) → (token, lifetime seconds); performs the HTTP exchange.
TokenFetcher = Callable[[Challenge, str, Credential | None], tuple[str, float]]


class Authenticator:
    """Remembers challenges and tokens per registry; hands out Authorization headers."""

    def __init__(self, credentials: CredentialStore, fetch_token: TokenFetcher) -> None:
        self._credentials = credentials
        self._fetch_token = fetch_token
        self._challenges: dict[str, Challenge] = {}
        self._tokens: dict[tuple[str, str], Token] = {}
        self._lock = threading.Lock()
        self._fetch_locks: dict[tuple[str, str], threading.Lock] = {}

    def credential_for(self, host: str) -> Credential | None:
        return self._credentials.get(host)

    def header_for(self, host: str, scope: str) -> str | None:
        """The Authorization header to send before any 401, if we know one is needed."""
        challenge = self._challenges.get(host)
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            credential = self._credentials.get(host)
            return basic_header(credential) if credential and credential.password else None
        if challenge.scheme == "bearer":
            return self._bearer(host, challenge, scope)
        return None

    def on_challenge(self, host: str, header: str, scope: str, *, sent: str | None) -> str | None:
        """React to a 401: remember the challenge and return a header to retry with.

        Returns None when retrying cannot help (unknown scheme, Basic without
        credentials); the caller then reports the 401 as an AuthError.
        """
        challenge = parse_challenge(header)
        if challenge is None or challenge.scheme not in ("basic", "bearer"):
            return None
        with self._lock:
            self._challenges[host] = challenge
        if challenge.scheme == "basic":
            credential = self._credentials.get(host)
            return basic_header(credential) if credential and credential.password else None
        # The challenge's own scope is authoritative (it may add actions or a
        # different resource type); fall back to ours if it sent none.
        return self._bearer(host, challenge, challenge.scope or scope, rejected=sent)

    def _bearer(
        self, host: str, challenge: Challenge, scope: str, *, rejected: str | None = None
    ) -> str:
        """A Bearer header for ``scope``; ``rejected`` is a header the registry just refused.

        Several threads that hit the same 401 at once fetch one token between
        them: whoever comes second finds a token different from the one that
        was rejected and reuses it.
        """
        key = (host, scope)
        with self._lock:
            lock = self._fetch_locks.setdefault(key, threading.Lock())
        with lock:  # single flight per registry+scope
            token = self._tokens.get(key)
            if (
                token is not None
                and token.expires_at > time.monotonic()
                and "Bearer " + token.value != rejected
            ):
                return "Bearer " + token.value
            value, lifetime_s = self._fetch_token(challenge, scope, self._credentials.get(host))
            expires_at = time.monotonic() + max(lifetime_s - _EXPIRY_MARGIN_S, 1.0)
            self._tokens[key] = Token(value, expires_at)
            return "Bearer " + value
