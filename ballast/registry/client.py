"""The registry client: every HTTP request ballast makes to a registry goes through here.

Bounded everything: connect/read timeouts and a total deadline per request,
retries with jittered exponential backoff on 5xx and connection errors, 429
honouring ``Retry-After`` up to a cap, redirects followed by hand (limited,
each target checked by the host guard, credentials never forwarded to another
host), size caps on manifests and configs, and the sha256 of every manifest
and blob checked against the digest it was fetched by.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from ballast._errors import (
    AuthError,
    DigestMismatch,
    NotFound,
    RateLimited,
    RegistryError,
    RegistryUnavailable,
    TooLarge,
)
from ballast.reference import Reference
from ballast.registry import media
from ballast.registry.auth import Authenticator, Challenge, basic_header, pull_scope
from ballast.registry.credentials import Credential, CredentialStore
from ballast.registry.guard import HostGuard, Resolver, split_host_port, system_resolver
from ballast.settings import RegistrySettings

logger = logging.getLogger(__name__)

_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
_TOKEN_MAX_BYTES = 1024 * 1024
_RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
_CHUNK = 64 * 1024
USER_AGENT = "ballast/0.1 (+https://github.com/ballast-dev/ballast)"

# Called once per HTTP response (or transport failure, status 0) for metrics.
ResponseObserver = Callable[[str, int], None]


@dataclass(frozen=True, slots=True)
class ManifestHead:
    """What a HEAD on a manifest tells: the digest the tag points at and its kind."""

    digest: str
    media_type: str


@dataclass(frozen=True, slots=True)
class ManifestDocument:
    """A manifest or index as fetched: raw bytes, media type, and verified digest."""

    body: bytes
    media_type: str
    digest: str


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RegistryClient:
    """One httpx client shared by all registries (thread-safe; pools connections)."""

    def __init__(
        self,
        settings: RegistrySettings,
        *,
        credentials: CredentialStore | None = None,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver = system_resolver,
        observer: ResponseObserver | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._insecure = {h.lower() for h in settings.insecure_registries}
        self._guard = HostGuard(
            trusted_hosts=[*settings.insecure_registries, *settings.allowed_private_registries],
            resolver=resolver,
        )
        self._credentials = credentials or CredentialStore()
        for host, conf in settings.hosts.items():
            if conf.username is not None and conf.password is not None:
                self._credentials.add(host, Credential(conf.username, conf.password))
        self._auth = Authenticator(self._credentials, self._fetch_token)
        self._observer = observer
        self._sleep = sleep
        self._transport = transport
        self._clients: dict[str | None, httpx.Client] = {}
        self._clients_lock = threading.Lock()

    def close(self) -> None:
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- public operations -------------------------------------------------

    def head_manifest(self, ref: Reference, reference: str) -> ManifestHead | None:
        """Resolve a tag (or check a digest) with HEAD, which Docker Hub does not count as a pull.

        Returns None when the registry answers but gives no usable
        ``Docker-Content-Digest`` (it is optional); the caller then GETs by tag
        and computes the digest itself.
        """
        with self._call("HEAD", ref, f"manifests/{reference}", accept=media.ACCEPT) as response:
            digest = response.headers.get("docker-content-digest", "")
            kind = response.headers.get("content-type", "").split(";")[0].strip()
        if not _DIGEST_RE.match(digest):
            return None
        return ManifestHead(digest=digest, media_type=kind)

    def get_manifest(self, ref: Reference, reference: str) -> ManifestDocument:
        """Fetch a manifest or index by tag or digest; its sha256 is computed and checked."""
        with self._call("GET", ref, f"manifests/{reference}", accept=media.ACCEPT) as response:
            body = self._read_capped(
                response, self._settings.manifest_max_bytes, what="manifest", ref=ref
            )
            kind = response.headers.get("content-type", "").split(";")[0].strip()
            announced = response.headers.get("docker-content-digest", "")
        digest = sha256_digest(body)
        expected = reference if reference.startswith("sha256:") else announced
        if expected and _DIGEST_RE.match(expected) and expected != digest:
            raise DigestMismatch(
                f"registry {ref.registry} sent a manifest for {ref} whose sha256 is {digest}, "
                f"not {expected}: the registry or a proxy in between altered it; not trusting it",
                host=ref.registry,
                image=str(ref),
            )
        return ManifestDocument(body=body, media_type=kind, digest=digest)

    def get_blob(self, ref: Reference, digest: str, *, max_bytes: int) -> bytes:
        """Fetch a small blob (an image config) whole, capped and digest-checked."""
        with self._call("GET", ref, f"blobs/{digest}") as response:
            body = self._read_capped(response, max_bytes, what=f"blob {digest}", ref=ref)
        actual = sha256_digest(body)
        if actual != digest:
            raise DigestMismatch(
                f"registry {ref.registry} sent blob {digest} of {ref} with sha256 {actual}; "
                "not trusting it",
                host=ref.registry,
                image=str(ref),
            )
        return body

    @contextmanager
    def stream_blob(self, ref: Reference, digest: str) -> Iterator[Iterator[bytes]]:
        """Stream a (layer) blob in chunks; the reader verifies the digest as it goes."""
        with self._call("GET", ref, f"blobs/{digest}", total_deadline=False) as response:
            # Raw bytes: the digest is of the blob as stored, never of a decoded body.
            yield response.iter_raw(_CHUNK)

    # -- request machinery ---------------------------------------------------

    def _base_url(self, ref: Reference) -> tuple[str, str]:
        conf = self._settings.hosts.get(ref.registry)
        host = (conf.mirror if conf and conf.mirror else None) or ref.api_registry
        scheme = "http" if host.lower() in self._insecure else "https"
        return host, f"{scheme}://{host}/v2/{ref.repository}/"

    def _client_for(self, host: str) -> httpx.Client:
        conf = self._settings.hosts.get(host)
        ca = conf.ca_bundle if conf else None
        with self._clients_lock:
            client = self._clients.get(ca)
            if client is None:
                client = httpx.Client(
                    timeout=httpx.Timeout(
                        self._settings.read_timeout_s, connect=self._settings.connect_timeout_s
                    ),
                    limits=httpx.Limits(
                        max_connections=self._settings.max_connections,
                        max_keepalive_connections=self._settings.max_connections,
                    ),
                    verify=ca if ca else True,
                    follow_redirects=False,
                    transport=self._transport,
                    headers={"User-Agent": USER_AGENT},
                    trust_env=False,
                )
                self._clients[ca] = client
            return client

    @contextmanager
    def _call(
        self,
        method: str,
        ref: Reference,
        path: str,
        *,
        accept: str | None = None,
        total_deadline: bool = True,
    ) -> Iterator[httpx.Response]:
        """One registry API call with auth; maps failures onto the error tree."""
        host, base = self._base_url(ref)
        image = str(ref)
        scope = pull_scope(ref.repository)
        headers = {"Accept": accept} if accept else {}
        sent = self._auth.header_for(host, scope)
        for attempt in range(2):  # at most one retry after a 401 challenge
            if sent:
                headers["Authorization"] = sent
            response = self._exchange(
                method,
                base + path,
                headers=headers,
                host=host,
                image=image,
                total_deadline=total_deadline,
            )
            if response.status_code == 401 and attempt == 0:
                challenge = response.headers.get("www-authenticate", "")
                _release(response)
                retry_with = self._auth.on_challenge(host, challenge, scope, sent=sent)
                if retry_with is None:
                    raise self._auth_error(host, image, 401, challenge)
                sent = retry_with
                continue
            break
        try:
            self._raise_for_status(response, host=host, image=image, path=path)
            yield response
        finally:
            _release(response)

    def _raise_for_status(
        self, response: httpx.Response, *, host: str, image: str, path: str
    ) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in (401, 403):
            raise self._auth_error(host, image, status, response.headers.get("www-authenticate"))
        what = "manifest" if path.startswith("manifests/") else "blob"
        if status == 404:
            raise NotFound(
                f"{image} not found on {host} ({what} {path.split('/', 1)[1]} does not exist); "
                "check the repository name and tag",
                host=host,
                image=image,
                status=status,
            )
        if status == 429:
            raise RateLimited(
                f"registry {host} is rate limiting requests for {image} (429); "
                "add credentials for it or retry later",
                host=host,
                image=image,
                status=status,
            )
        if status >= 500:
            raise RegistryUnavailable(
                f"registry {host} failed with HTTP {status} for {image} after retries",
                host=host,
                image=image,
                status=status,
            )
        raise RegistryError(
            f"registry {host} answered HTTP {status} for the {what} of {image}",
            host=host,
            image=image,
            status=status,
        )

    def _auth_error(self, host: str, image: str, status: int, challenge: str | None) -> AuthError:
        credential = self._credentials.get(host)
        detail = "refused credentials" if credential else "requires credentials"
        scope_hint = ""
        if challenge and "insufficient_scope" in challenge:
            scope_hint = " (the token lacks pull access to this repository)"
        return AuthError(
            f"registry {host} {detail} for {image} ({status}){scope_hint}: "
            "create an imagePullSecret or set BALLAST_REGISTRY_AUTH_FILE to a Docker config.json "
            "with credentials for it",
            host=host,
            image=image,
            status=status,
        )

    def _exchange(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        host: str,
        image: str,
        data: dict[str, str] | None = None,
        total_deadline: bool = True,
        guarded: bool = True,
    ) -> httpx.Response:
        """Send with retries, backoff, Retry-After and hand-followed redirects.

        Returns the final response with its body unread (streaming); the caller closes it.
        """
        settings = self._settings
        deadline = time.monotonic() + settings.total_timeout_s
        attempt = 0
        while True:
            try:
                response = self._follow(
                    method,
                    url,
                    headers=headers,
                    host=host,
                    image=image,
                    data=data,
                    guarded=guarded,
                )
            except httpx.TransportError as exc:
                self._observe(host, 0)
                if attempt >= settings.retries or time.monotonic() >= deadline:
                    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
                    raise RegistryUnavailable(
                        f"registry {host} {kind} for {image} after {attempt + 1} attempt(s): "
                        f"{exc.__class__.__name__}; check that the registry is up and reachable",
                        host=host,
                        image=image,
                    ) from exc
                self._backoff(attempt)
                attempt += 1
                continue
            status = response.status_code
            self._observe(host, status)
            if status in _RETRYABLE_STATUS and attempt < settings.retries:
                _release(response)
                self._backoff(attempt)
                attempt += 1
                continue
            if status == 429 and attempt < settings.retries:
                wait_s = _retry_after_s(response.headers.get("retry-after"))
                if (
                    wait_s is not None
                    and wait_s <= settings.max_retry_after_s
                    and (not total_deadline or time.monotonic() + wait_s < deadline)
                ):
                    _release(response)
                    logger.info("registry %s asked to retry after %.1fs", host, wait_s)
                    self._sleep(wait_s)
                    attempt += 1
                    continue
            return response

    def _follow(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        host: str,
        image: str,
        data: dict[str, str] | None,
        guarded: bool,
    ) -> httpx.Response:
        current_headers = dict(headers)
        for hop in range(self._settings.max_redirects + 1):
            target_host = urlsplit(url).netloc
            if guarded or hop > 0:
                self._guard.check(target_host, image=image)
            client = self._client_for(target_host)
            request = client.build_request(method, url, headers=current_headers, data=data)
            response = client.send(request, stream=True)
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            location = response.headers.get("location", "")
            _release(response)
            if not location:
                break
            url = urljoin(url, location)
            if urlsplit(url).netloc != target_host:
                # Blob storage (S3, GCS) gets a signed URL; our token must not travel there.
                current_headers.pop("Authorization", None)
            if response.status_code == 303:
                method, data = "GET", None
        raise RegistryUnavailable(
            f"registry {host} redirected more than {self._settings.max_redirects} times "
            f"for {image}; refusing to follow further",
            host=host,
            image=image,
        )

    def _read_capped(
        self, response: httpx.Response, cap: int, *, what: str, ref: Reference
    ) -> bytes:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise TooLarge(
                f"the {what} of {ref} is {int(declared):,} bytes, above the {cap:,}-byte cap; "
                "refusing to read it",
                host=ref.registry,
                image=str(ref),
            )
        deadline = time.monotonic() + self._settings.total_timeout_s
        chunks: list[bytes] = []
        total = 0
        try:
            for chunk in response.iter_bytes(_CHUNK):
                total += len(chunk)
                if total > cap:
                    raise TooLarge(
                        f"the {what} of {ref} is larger than the {cap:,}-byte cap; "
                        "refusing to read it",
                        host=ref.registry,
                        image=str(ref),
                    )
                if time.monotonic() > deadline:
                    raise RegistryUnavailable(
                        f"registry {ref.registry} took over {self._settings.total_timeout_s:.0f}s "
                        f"to send the {what} of {ref}",
                        host=ref.registry,
                        image=str(ref),
                    )
                chunks.append(chunk)
        except httpx.TransportError as exc:
            raise RegistryUnavailable(
                f"registry {ref.registry} stopped sending the {what} of {ref} "
                f"({exc.__class__.__name__})",
                host=ref.registry,
                image=str(ref),
            ) from exc
        return b"".join(chunks)

    def _fetch_token(
        self, challenge: Challenge, scope: str, credential: Credential | None
    ) -> tuple[str, float]:
        """Ask the challenge's realm for a token (GET, or POST with an identity token)."""
        realm = urlsplit(challenge.realm)
        if realm.scheme not in ("http", "https") or not realm.netloc:
            raise AuthError(f"registry sent an unusable token realm {challenge.realm!r}")
        realm_name, _ = split_host_port(realm.netloc)
        trusted_name = any(
            split_host_port(h)[0] == realm_name
            for h in (
                *self._settings.insecure_registries,
                *self._settings.allowed_private_registries,
            )
        )
        if realm.scheme == "http" and not trusted_name:
            raise AuthError(
                f"token realm {challenge.realm} is plain HTTP; refusing to send credentials there"
            )
        headers: dict[str, str] = {"Accept": "application/json"}
        params = {k: v for k, v in {"service": challenge.service, "scope": scope}.items() if v}
        url = str(httpx.URL(challenge.realm).copy_merge_params(params))
        data: dict[str, str] | None = None
        method = "GET"
        if credential and credential.identity_token:
            method, url = "POST", challenge.realm
            data = {
                "grant_type": "refresh_token",
                "refresh_token": credential.identity_token,
                "service": challenge.service,
                "scope": scope,
                "client_id": "ballast",
            }
        elif credential and credential.password:
            headers["Authorization"] = basic_header(credential)
        response = self._exchange(
            method,
            url,
            headers=headers,
            host=realm.netloc,
            image="",
            data=data,
            guarded=not trusted_name,
        )
        try:
            if response.status_code in (401, 403):
                raise AuthError(
                    f"token service {realm.netloc} refused "
                    f"{'the credentials' if credential else 'anonymous access'} for {scope} "
                    f"({response.status_code}): check the registry credentials",
                    host=realm.netloc,
                    status=response.status_code,
                )
            if response.status_code != 200:
                raise RegistryUnavailable(
                    f"token service {realm.netloc} answered HTTP {response.status_code}",
                    host=realm.netloc,
                    status=response.status_code,
                )
            body = self._read_token(response, realm.netloc)
        finally:
            _release(response)
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthError(
                f"token service {realm.netloc} answered without a token", host=realm.netloc
            )
        lifetime = body.get("expires_in")
        lifetime_s = (
            float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else (60.0)
        )
        return token, lifetime_s

    def _read_token(self, response: httpx.Response, host: str) -> dict[str, object]:
        raw = b""
        for chunk in response.iter_bytes(_CHUNK):
            raw += chunk
            if len(raw) > _TOKEN_MAX_BYTES:
                raise AuthError(f"token service {host} sent an oversized answer", host=host)
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise AuthError(f"token service {host} sent invalid JSON", host=host) from exc
        if not isinstance(body, dict):
            raise AuthError(f"token service {host} sent a non-object answer", host=host)
        return body

    def _backoff(self, attempt: int) -> None:
        delay = self._settings.backoff_s * (2**attempt)
        self._sleep(delay * (0.5 + random.random() / 2))

    def _observe(self, host: str, status: int) -> None:
        if self._observer is not None:
            self._observer(host, status)


_DRAIN_MAX_BYTES = 64 * 1024


def _release(response: httpx.Response) -> None:
    """Close a response, reading a small unread body first so the connection is reused.

    httpcore drops a pooled connection whose response was not read to the end;
    HEAD answers and JSON error bodies are tiny, and a new TLS handshake per
    image would cost more than reading them.
    """
    try:
        if not response.is_stream_consumed:
            length = response.headers.get("content-length")
            if response.request.method == "HEAD" or (
                length is not None and length.isdigit() and int(length) <= _DRAIN_MAX_BYTES
            ):
                response.read()
    except httpx.HTTPError:
        pass
    finally:
        response.close()


def _retry_after_s(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
