"""Edge cases of the registry client that a real registry cannot be made to produce.

These use httpx.MockTransport (a 429 with Retry-After, redirect loops, a
redirect to an internal address). The evidence that the client works against
a real registry is in test_registry_real.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import httpx
import pytest

from ballast import (
    AuthError,
    DigestMismatch,
    RateLimited,
    RegistryUnavailable,
    TooLarge,
    UnsupportedMedia,
    parse_reference,
)
from ballast.cache import FactsCache, MemoryStore
from ballast.lookup import FactsLookup
from ballast.registry.client import RegistryClient
from ballast.registry.credentials import Credential, CredentialStore
from ballast.settings import RegistrySettings

REF = parse_reference("registry.example.com/team/app:1.0")
PUBLIC_DNS = {
    "registry.example.com": ["93.184.216.34"],
    "blobs.example.net": ["93.184.216.35"],
    "auth.example.com": ["93.184.216.36"],
}


def resolver(host: str) -> list[str]:
    return PUBLIC_DNS.get(host, ["10.0.0.1"])


def make_client(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    sleeps: list[float] | None = None,
    credentials: CredentialStore | None = None,
    **settings: object,
) -> RegistryClient:
    return RegistryClient(
        RegistrySettings(**settings),  # type: ignore[arg-type]
        transport=httpx.MockTransport(handler),
        resolver=resolver,
        credentials=credentials,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def digest_of(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def test_5xx_is_retried_with_backoff_then_succeeds() -> None:
    body = b'{"schemaVersion": 2}'
    answers = iter([httpx.Response(503), httpx.Response(502), httpx.Response(200, content=body)])
    sleeps: list[float] = []
    client = make_client(lambda request: next(answers), sleeps=sleeps, retries=2)
    assert client.get_manifest(REF, "1.0").body == body
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] * 0.9


def test_5xx_after_all_retries_is_registry_unavailable_with_status() -> None:
    client = make_client(lambda request: httpx.Response(503), retries=1)
    with pytest.raises(RegistryUnavailable, match="HTTP 503") as caught:
        client.get_manifest(REF, "1.0")
    assert caught.value.status == 503 and caught.value.host == "registry.example.com"


def test_429_waits_as_long_as_retry_after_says() -> None:
    answers = iter(
        [httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, content=b"{}")]
    )
    sleeps: list[float] = []
    client = make_client(lambda request: next(answers), sleeps=sleeps)
    client.get_manifest(REF, "1.0")
    assert sleeps == [2.0]


def test_429_asking_for_too_long_a_wait_fails_as_rate_limited_at_once() -> None:
    sleeps: list[float] = []
    client = make_client(
        lambda request: httpx.Response(429, headers={"Retry-After": "3600"}), sleeps=sleeps
    )
    with pytest.raises(RateLimited, match="rate limiting"):
        client.get_manifest(REF, "1.0")
    assert sleeps == []


def test_redirects_are_limited() -> None:
    client = make_client(
        lambda request: httpx.Response(307, headers={"Location": str(request.url) + "x"}),
        max_redirects=3,
    )
    with pytest.raises(RegistryUnavailable, match="redirected more than 3 times"):
        client.get_blob(REF, "sha256:" + "a" * 64, max_bytes=100)


def test_redirect_to_an_internal_address_is_refused() -> None:
    client = make_client(
        lambda request: httpx.Response(302, headers={"Location": "http://169.254.169.254/x"})
    )
    with pytest.raises(RegistryUnavailable, match="non-public address"):
        client.get_blob(REF, "sha256:" + "a" * 64, max_bytes=100)


def test_credentials_are_not_forwarded_to_blob_storage_on_another_host() -> None:
    blob = b"config"
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = request.headers.get("authorization")
        if request.url.host == "registry.example.com":
            if "authorization" not in request.headers:
                return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
            return httpx.Response(307, headers={"Location": "https://blobs.example.net/b?sig=1"})
        return httpx.Response(200, content=blob)

    store = CredentialStore()
    store.add("registry.example.com", Credential("u", "p"))
    client = make_client(handler, credentials=store)
    assert client.get_blob(REF, digest_of(blob), max_bytes=100) == blob
    assert seen["registry.example.com"] is not None
    assert seen["blobs.example.net"] is None


def test_manifest_above_cap_by_content_length_is_refused_without_reading() -> None:
    client = make_client(
        lambda request: httpx.Response(
            200, headers={"Content-Length": str(5 * 1024 * 1024)}, content=b"x" * (5 * 1024 * 1024)
        ),
    )
    with pytest.raises(TooLarge, match="above the 4,194,304-byte cap"):
        client.get_manifest(REF, "1.0")


def test_manifest_above_cap_without_content_length_is_cut_off() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"x" * 65536] * 80))  # 5 MiB, chunked

    with pytest.raises(TooLarge, match="larger than"):
        make_client(handler).get_manifest(REF, "1.0")


def test_announced_digest_that_does_not_match_the_body_is_refused() -> None:
    client = make_client(
        lambda request: httpx.Response(
            200, content=b"{}", headers={"Docker-Content-Digest": "sha256:" + "0" * 64}
        )
    )
    with pytest.raises(DigestMismatch, match="altered"):
        client.get_manifest(REF, "1.0")


def test_schema1_manifest_is_refused_with_advice() -> None:
    body = json.dumps({"schemaVersion": 1, "name": "team/app", "fsLayers": []}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {
            "Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws",
            "Docker-Content-Digest": digest_of(body),
        }
        return httpx.Response(
            200, content=b"" if request.method == "HEAD" else body, headers=headers
        )

    lookup = FactsLookup(
        make_client(handler),
        FactsCache(MemoryStore(), lru_entries=10),
        platforms=["linux/amd64"],
        tag_ttl_s=60,
        negative_ttl_s=5,
        config_max_bytes=1 << 20,
    )
    with pytest.raises(UnsupportedMedia, match="schema1.*push it again"):
        lookup.resolve(REF)


def test_token_is_fetched_once_per_scope_and_reused_until_it_expires() -> None:
    token_calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            token_calls.append(request.url.params["scope"])
            return httpx.Response(200, json={"token": "T1", "expires_in": 300})
        if request.headers.get("authorization") != "Bearer T1":
            return httpx.Response(
                401,
                headers={
                    "WWW-Authenticate": (
                        'Bearer realm="https://auth.example.com/token",service="reg",'
                        'scope="repository:team/app:pull"'
                    )
                },
            )
        return httpx.Response(200, content=b"{}")

    client = make_client(handler)
    for _ in range(3):
        client.get_manifest(REF, "1.0")
    assert token_calls == ["repository:team/app:pull"]


def test_token_service_refusing_credentials_is_an_auth_error_naming_the_scope() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            return httpx.Response(401)
        return httpx.Response(
            401,
            headers={
                "WWW-Authenticate": ('Bearer realm="https://auth.example.com/token",service="reg"')
            },
        )

    with pytest.raises(AuthError, match="repository:team/app:pull"):
        make_client(handler).get_manifest(REF, "1.0")


def test_plain_http_token_realm_on_an_untrusted_host_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            headers={
                "WWW-Authenticate": ('Bearer realm="http://auth.example.com/token",service="reg"')
            },
        )

    with pytest.raises(AuthError, match="plain HTTP"):
        make_client(handler).get_manifest(REF, "1.0")
