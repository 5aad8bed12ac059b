"""The shared facts store: Redis behind each process's local store.

:class:`RedisStore` is the :class:`~ballast.cache.Store` protocol over redis-py
with a bounded connection pool and short timeouts (an admission must never
wait on Redis for longer than one socket timeout). :class:`TieredStore` puts
it behind the local store every process already has (SQLite or memory): reads
go local first, then shared, and shared hits are copied locally; writes go to
both, the shared write best-effort. When Redis fails, the tiered store stops
using it, logs once, counts the outage, and a background thread probes it
every ``backoff_s``; when Redis answers again, the keys written during the
outage are re-published (a bounded queue) and sharing resumes. Facts are
immutable by digest and tag entries carry their own timestamp, so
last-writer-wins is safe.

Imports the cache protocol and errors only; nothing here knows about Flask,
Kubernetes or Prometheus (the webhook reads :meth:`TieredStore.stats` or sets
:attr:`TieredStore.observer` to export outages).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ballast._errors import CacheError
from ballast.cache import Store

logger = logging.getLogger(__name__)

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
"""URL prefixes that name a Redis server (TCP, TLS, Unix socket)."""
DEFAULT_KEY_PREFIX = "ballast:v1:"
"""Prepended to every key; the version changes when the stored encoding does."""
DEFAULT_CONNECT_TIMEOUT_S = 0.1
"""Seconds to open a connection (refused is immediate; this bounds a host that drops SYNs)."""
DEFAULT_TIMEOUT_S = 0.2
"""Seconds per read, and per wait for a pooled connection. A loopback GET takes ~0.05 ms,
but a busy Redis (a fork for BGSAVE, a big value) stalls for tens of ms: 0.2 s keeps those
from being taken for outages while bounding what one admission can lose to Redis."""
DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_BACKOFF_S = 2.0
DEFAULT_REPLAY_KEYS = 1024
_PROBE_KEY = "probe"
_PROBE_TTL_MS = 60_000


class SharedStore(Store, Protocol):
    """A Store several processes share; :class:`TieredStore` needs these extras."""

    location: str
    """Where it lives, safe to log (no credentials)."""

    def get_with_ttl(self, key: str) -> tuple[bytes, float | None] | None:
        """The value and its remaining lifetime in seconds (None: never expires)."""
        ...

    def ping(self) -> None:
        """One round trip that proves the store reads and writes; raises CacheError."""
        ...


def redact_url(url: str) -> str:
    """``url`` without its password, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class RedisStore:
    """Bytes by key in Redis, through a bounded, thread-safe connection pool.

    Every failure (refused, timed out, protocol or server error) is raised as
    CacheError; nothing is retried here, because the caller (TieredStore) has
    a local store to fall back on and must not pay a timeout twice. Timeouts
    and pool size are keyword arguments; the URL's query string overrides
    them (``redis://cache:6379/0?socket_timeout=0.2``), as in redis-py.

    ``max_connections`` should be at least the number of threads that use the
    store at once (webhook: threads + fetch workers per process): a thread
    that finds every connection busy waits at most ``timeout_s`` for one and
    then fails like a timeout, which a TieredStore takes for an outage.
    """

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.location = redact_url(url)
        self.key_prefix = key_prefix
        try:
            # BlockingConnectionPool: when every connection is busy, wait up to one
            # timeout for a free one instead of failing at once (a burst is not an outage).
            self._pool = redis.BlockingConnectionPool.from_url(
                url,
                max_connections=max_connections,
                timeout=timeout_s,
                socket_connect_timeout=connect_timeout_s,
                socket_timeout=timeout_s,
                retry=Retry(NoBackoff(), 0),
            )
            # Connections are made lazily: build one (without connecting) so that a bad
            # option in the URL's query string fails now, not on the first admission.
            self._pool.connection_class(**self._pool.connection_kwargs)
        except (ValueError, TypeError, redis.RedisError) as exc:
            raise CacheError(
                f"invalid Redis cache URL {self.location}: {exc}; use redis://HOST:PORT/DB, "
                "rediss://HOST:PORT/DB (TLS) or unix:///PATH.sock?db=N"
            ) from exc
        self._client = redis.Redis(connection_pool=self._pool)

    def _key(self, key: str) -> str:
        return self.key_prefix + key

    def _failed(self, action: str, exc: Exception) -> CacheError:
        return CacheError(f"{action} the shared cache at {self.location} failed: {exc}")

    def get(self, key: str) -> bytes | None:
        try:
            value = self._client.get(self._key(key))
        except (redis.RedisError, OSError) as exc:
            raise self._failed("reading", exc) from exc
        return _as_bytes(value)

    def get_with_ttl(self, key: str) -> tuple[bytes, float | None] | None:
        """GET and PTTL in one round trip (a pipeline without MULTI)."""
        name = self._key(key)
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.get(name)
            pipe.pttl(name)
            value, ttl_ms = pipe.execute()
        except (redis.RedisError, OSError) as exc:
            raise self._failed("reading", exc) from exc
        raw = _as_bytes(value)
        if raw is None:
            return None
        return raw, (ttl_ms / 1000 if isinstance(ttl_ms, int) and ttl_ms > 0 else None)

    def put(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        try:
            if ttl_s is None:
                self._client.set(self._key(key), value)
            else:
                self._client.set(self._key(key), value, px=max(int(ttl_s * 1000), 1))
        except (redis.RedisError, OSError) as exc:
            raise self._failed("writing", exc) from exc

    def ping(self) -> None:
        """A write and a read: a Redis that is up but refuses writes (OOM, replica) is down."""
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.set(self._key(_PROBE_KEY), b"1", px=_PROBE_TTL_MS)
            pipe.get(self._key(_PROBE_KEY))
            pipe.execute()
        except (redis.RedisError, OSError) as exc:
            raise self._failed("probing", exc) from exc

    def close(self) -> None:
        self._pool.disconnect()


def _as_bytes(value: object) -> bytes | None:
    """A GET reply as bytes (the pool never decodes, but its type says it might)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise CacheError(f"unexpected Redis reply of type {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class TierStats:
    """What the tiered store has done since it was opened (for metrics)."""

    shared_up: bool
    """False while the shared store is considered down (reads and writes stay local)."""
    outages: int
    """Times the shared store went down (one per outage, however many requests failed)."""
    shared_hits: int
    """Reads the local store missed and the shared store answered (one fetch serving all)."""
    replayed: int
    """Entries written during outages and re-published once the shared store came back."""
    replay_dropped: int
    """Entries written during outages that the bounded queue could not keep (still local)."""
    pending: int
    """Entries waiting to be re-published."""


SharedStateObserver = Callable[[bool], None]
"""Called with False when the shared store goes down and True when it is back."""


class TieredStore:
    """A local Store in front of a shared one; the shared one may fail at any time.

    Thread-safe. Local errors are raised as they would be without the shared
    store; shared errors never are. While the shared store is down, requests do
    not touch it at all (no timeout per request): a daemon thread, started at
    the outage (so after any fork), probes it every ``backoff_s`` and
    re-publishes the queued writes when it answers. With
    ``probe_in_background=False`` nothing probes by itself; call
    :meth:`recover` (tests with a controlled clock).
    """

    def __init__(
        self,
        local: Store,
        shared: SharedStore,
        *,
        backoff_s: float = DEFAULT_BACKOFF_S,
        replay_keys: int = DEFAULT_REPLAY_KEYS,
        probe_in_background: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.local = local
        self.shared = shared
        self.backoff_s = backoff_s
        self.observer: SharedStateObserver | None = None
        """Set by the front end that exports metrics; called outside any lock."""
        self._replay_keys = max(replay_keys, 0)
        self._probe_in_background = probe_in_background
        self._clock = clock
        self._lock = threading.Lock()
        self._recovering = threading.Lock()
        self._closed = threading.Event()
        self._down_since: float | None = None
        self._generation = 0
        self._pending: OrderedDict[str, float | None] = OrderedDict()
        self._outages = 0
        self._shared_hits = 0
        self._replayed = 0
        self._replay_dropped = 0
        self._prober: threading.Thread | None = None

    @property
    def shared_is_up(self) -> bool:
        return self._down_since is None

    def stats(self) -> TierStats:
        with self._lock:
            return TierStats(
                shared_up=self._down_since is None,
                outages=self._outages,
                shared_hits=self._shared_hits,
                replayed=self._replayed,
                replay_dropped=self._replay_dropped,
                pending=len(self._pending),
            )

    # -- the Store protocol ------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        value = self.local.get(key)
        if value is not None or self._down_since is not None:
            return value
        try:
            entry = self.shared.get_with_ttl(key)
        except CacheError as exc:
            self._mark_down(exc)
            return None
        if entry is None:
            return None
        value, ttl_s = entry
        self.local.put(key, value, ttl_s=ttl_s)
        with self._lock:
            self._shared_hits += 1
        return value

    def put(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        self.local.put(key, value, ttl_s=ttl_s)
        with self._lock:
            if self._down_since is not None:
                self._queue([(key, ttl_s)])
                return
        try:
            self.shared.put(key, value, ttl_s=ttl_s)
        except CacheError as exc:
            self._mark_down(exc, unpublished=(key, ttl_s))

    def close(self) -> None:
        self._closed.set()
        prober = self._prober
        if prober is not None and prober is not threading.current_thread():
            prober.join(timeout=self.backoff_s + 1.0)
        try:
            self.shared.close()
        except CacheError as exc:
            logger.debug("closing the shared cache %s: %s", self.shared.location, exc)
        self.local.close()

    # -- outages -----------------------------------------------------------------------------

    def _queue(self, items: list[tuple[str, float | None]]) -> None:
        """Remember keys to re-publish, newest last; drops the oldest past the bound.

        Called with the lock held.
        """
        for key, ttl_s in items:
            self._pending[key] = ttl_s
            self._pending.move_to_end(key)
        while len(self._pending) > self._replay_keys:
            self._pending.popitem(last=False)
            self._replay_dropped += 1

    def _mark_down(
        self, exc: CacheError, *, unpublished: tuple[str, float | None] | None = None
    ) -> None:
        """Stop using the shared store; log, count and start probing once per outage.

        ``unpublished`` is queued under the same lock as the state change, so a
        recovery running at the same time either sees it or has not started.
        """
        with self._lock:
            if unpublished is not None:
                self._queue([unpublished])
            if self._down_since is not None:
                return
            self._down_since = self._clock()
            self._outages += 1
            self._generation += 1
            generation = self._generation
        logger.warning(
            "shared cache %s unreachable, serving from the local cache and retrying every "
            "%.1f s: %s",
            self.shared.location,
            self.backoff_s,
            exc,
        )
        self._notify(False)
        if self._probe_in_background and not self._closed.is_set():
            self._prober = threading.Thread(
                target=self._probe_until_recovered,
                args=(generation,),
                name="ballast-shared-cache-probe",
                daemon=True,
            )
            self._prober.start()

    def _probe_until_recovered(self, generation: int) -> None:
        while not self._closed.wait(self.backoff_s):
            with self._lock:
                if self._generation != generation or self._down_since is None:
                    return
            try:
                if self.recover():
                    return
            except Exception:  # a bug here must not kill recovery for good
                logger.exception("probing the shared cache %s failed", self.shared.location)

    def recover(self) -> bool:
        """Probe the shared store; if it answers, re-publish the queue and use it again.

        Returns whether the shared store is up afterwards. One caller at a time
        probes; others return False at once. Never raises CacheError.
        """
        if self._down_since is None:
            return True
        if not self._recovering.acquire(blocking=False):
            return False
        try:
            try:
                self.shared.ping()
            except CacheError as exc:
                logger.debug("shared cache %s still down: %s", self.shared.location, exc)
                return False
            replayed = 0
            while True:
                with self._lock:
                    if not self._pending:
                        down_since = self._down_since
                        self._down_since = None
                        self._replayed += replayed
                        break
                    batch = list(self._pending.items())
                    self._pending.clear()
                done, published, error = self._replay(batch)
                replayed += published
                if error is not None:
                    with self._lock:
                        newer = list(self._pending.items())
                        self._pending.clear()
                        self._queue(batch[done:] + newer)
                        self._replayed += replayed
                    logger.debug("shared cache %s failed again: %s", self.shared.location, error)
                    return False
        finally:
            self._recovering.release()
        outage_s = 0.0 if down_since is None else self._clock() - down_since
        logger.info(
            "shared cache %s is back after %.1f s; re-published %d entries written meanwhile",
            self.shared.location,
            outage_s,
            replayed,
        )
        self._notify(True)
        return True

    def _replay(self, batch: list[tuple[str, float | None]]) -> tuple[int, int, CacheError | None]:
        """Copy queued keys from local to shared.

        Returns how many keys were handled, how many were published, and the
        shared error that stopped it (None: all done). Keys gone from local
        (expired) are skipped.
        """
        published = 0
        for done, (key, ttl_s) in enumerate(batch):
            try:
                value = self.local.get(key)
            except CacheError as exc:
                logger.debug("re-publishing %s: the local cache failed: %s", key, exc)
                continue
            if value is None:
                continue
            try:
                self.shared.put(key, value, ttl_s=ttl_s)
            except CacheError as exc:
                return done, published, exc
            published += 1
        return len(batch), published, None

    def _notify(self, up: bool) -> None:
        observer = self.observer
        if observer is None:
            return
        try:
            observer(up)
        except Exception:  # metrics must never break the cache
            logger.exception("shared cache observer failed")
