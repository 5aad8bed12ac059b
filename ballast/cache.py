"""The facts cache: an in-process LRU of decoded facts in front of a byte store.

Image and index facts are keyed by digest and never expire; a tag → digest
answer carries the time it was checked, and the lookup revalidates it with one
HEAD once it is older than the TTL. The default store is an embedded SQLite
file in WAL mode: it survives restarts, works from many threads (one
connection per thread) and from several processes (WAL readers never block,
writers wait up to ``busy_timeout``). A Redis store can sit behind the same
:class:`Store` protocol.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ballast._errors import CacheError
from ballast.facts import ImageFacts, IndexFacts

_BUSY_TIMEOUT_MS = 10_000
_TAG_RETENTION_S = 7 * 24 * 3600.0


class Store(Protocol):
    """Bytes by key, optionally expiring; implementations must be thread-safe."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None: ...

    def close(self) -> None: ...


class MemoryStore:
    """A dict; for tests and ``--cache :memory:`` (nothing survives the process)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._data.get(key)
        if item is None or (item[1] is not None and item[1] < self._clock()):
            return None
        return item[0]

    def put(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        expires = None if ttl_s is None else self._clock() + ttl_s
        with self._lock:
            self._data[key] = (value, expires)

    def close(self) -> None:
        return None


class SQLiteStore:
    """An embedded SQLite key/value table in WAL mode, shared by threads and processes."""

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            connection = self._connection()
            connection.execute(
                "CREATE TABLE IF NOT EXISTS facts ("
                " key TEXT PRIMARY KEY, value BLOB NOT NULL, expires_at REAL)"
            )
            connection.execute("DELETE FROM facts WHERE expires_at < ?", (self._clock(),))
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(
                f"cannot open the facts cache at {path}: {exc}; point BALLAST_CACHE_PATH at a "
                "writable file (or use --cache :memory:)"
            ) from exc

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None or getattr(self._local, "pid", None) != os.getpid():
            connection = sqlite3.connect(
                self.path,
                timeout=_BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            connection.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
            self._local.pid = os.getpid()
            with self._lock:
                self._connections.append(connection)
        return connection

    def get(self, key: str) -> bytes | None:
        try:
            row = (
                self._connection()
                .execute("SELECT value, expires_at FROM facts WHERE key = ?", (key,))
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise CacheError(f"reading the facts cache at {self.path} failed: {exc}") from exc
        if row is None or (row[1] is not None and row[1] < self._clock()):
            return None
        return bytes(row[0])

    def put(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        expires = None if ttl_s is None else self._clock() + ttl_s
        try:
            self._connection().execute(
                "INSERT OR REPLACE INTO facts (key, value, expires_at) VALUES (?, ?, ?)",
                (key, value, expires),
            )
        except sqlite3.Error as exc:
            raise CacheError(f"writing the facts cache at {self.path} failed: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    connection.close()
            self._connections.clear()
        self._local = threading.local()


@dataclass(frozen=True, slots=True)
class TagEntry:
    """Where a tag pointed when we last asked, and when that was (wall-clock seconds)."""

    digest: str
    media_type: str
    checked_at: float


class FactsCache:
    """Decoded facts by key, LRU in memory, persisted in a Store.

    The hit path is a dict lookup and a move-to-end under a lock: no I/O,
    no decoding. Misses go to the store, and what the store has is decoded
    once and kept in the LRU.
    """

    def __init__(self, store: Store, *, lru_entries: int, clock: Callable[[], float] = time.time):
        self.store = store
        self._lru: OrderedDict[str, Any] = OrderedDict()
        self._max = max(lru_entries, 1)
        self._lock = threading.Lock()
        self._clock = clock

    def close(self) -> None:
        self.store.close()

    def _remember(self, key: str, value: Any) -> None:
        with self._lock:
            self._lru[key] = value
            self._lru.move_to_end(key)
            while len(self._lru) > self._max:
                self._lru.popitem(last=False)

    def _recall(self, key: str, decode: Callable[[bytes], Any]) -> Any:
        with self._lock:
            value = self._lru.get(key)
            if value is not None:
                self._lru.move_to_end(key)
                return value
        raw = self.store.get(key)
        if raw is None:
            return None
        value = decode(raw)
        self._remember(key, value)
        return value

    def image(self, digest: str) -> ImageFacts | None:
        result: ImageFacts | None = self._recall(
            "image:" + digest, lambda raw: ImageFacts.from_dict(json.loads(raw))
        )
        return result

    def put_image(self, facts: ImageFacts) -> None:
        self.store.put("image:" + facts.digest, _dumps(facts.to_dict()))
        self._remember("image:" + facts.digest, facts)

    def index(self, digest: str) -> IndexFacts | None:
        result: IndexFacts | None = self._recall(
            "index:" + digest, lambda raw: IndexFacts.from_dict(json.loads(raw))
        )
        return result

    def put_index(self, facts: IndexFacts) -> None:
        self.store.put("index:" + facts.digest, _dumps(facts.to_dict()))
        self._remember("index:" + facts.digest, facts)

    def tag(self, name_and_tag: str) -> TagEntry | None:
        """The last known digest of ``registry/repo:tag``, fresh or not (the caller decides)."""
        result: TagEntry | None = self._recall(
            "tag:" + name_and_tag, lambda raw: TagEntry(*json.loads(raw))
        )
        return result

    def put_tag(self, name_and_tag: str, entry: TagEntry) -> None:
        self.store.put(
            "tag:" + name_and_tag,
            _dumps([entry.digest, entry.media_type, entry.checked_at]),
            ttl_s=_TAG_RETENTION_S,
        )
        self._remember("tag:" + name_and_tag, entry)

    def blob(self, key: str) -> bytes | None:
        """Raw cached bytes (layer facts use this), without LRU decoding."""
        return self.store.get(key)

    def put_blob(self, key: str, value: bytes) -> None:
        self.store.put(key, value)


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def open_store(spec: str, *, local_path: str | None = None) -> Store:
    """A Store for a cache spec.

    ``:memory:``, a file path or ``sqlite:///path`` open that store alone.
    ``redis://HOST:PORT/DB``, ``rediss://…`` (TLS) and ``unix:///PATH.sock?db=N``
    open a :class:`~ballast.redis_store.TieredStore`: the process's own store at
    ``local_path`` (a SQLite path or ``:memory:``; None keeps it in memory) in
    front of Redis, which it falls back from when Redis is down. Redis is not
    contacted here: a replica starts even while Redis is down.
    """
    if spec.startswith(("redis://", "rediss://", "unix://")):
        # Imported here so that the CLI and SQLite-only processes never load redis-py.
        from ballast.redis_store import RedisStore, TieredStore, redact_url

        if local_path is not None and "://" in local_path.removeprefix("sqlite://"):
            raise CacheError(
                f"the local cache in front of {spec.split('://')[0]}:// must be a SQLite file "
                f"path or :memory:, not {redact_url(local_path)!r}"
            )
        local = open_store(local_path) if local_path else MemoryStore()
        try:
            shared = RedisStore(spec)
        except CacheError:
            local.close()
            raise
        return TieredStore(local, shared)
    if spec == ":memory:":
        return MemoryStore()
    if spec.startswith("sqlite://"):
        spec = spec.removeprefix("sqlite://")
    if "://" in spec:
        raise CacheError(
            f"unsupported cache {spec!r}: use a SQLite file path, :memory:, or a shared "
            "Redis (redis://HOST:PORT/DB, rediss://… or unix:///PATH.sock)"
        )
    return SQLiteStore(spec)
