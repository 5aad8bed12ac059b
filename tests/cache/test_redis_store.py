"""The Redis store against a real redis-server on loopback: bytes, TTLs, prefixes, failures.

One ``redis-server`` per module (``--save '' --appendonly no``, its own port), stopped by
PID at the end; tests that kill it get it started again by the ``redis`` fixture.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ballast import CacheError
from ballast.cache import FactsCache, MemoryStore, SQLiteStore, TagEntry, open_store
from ballast.redis_store import RedisStore, TieredStore, redact_url
from ballast.settings import load_settings
from tests.support.redis_server import LocalRedis, start_redis
from tests.support.sockets import StalledServer, refusing_address

DIGEST = "sha256:" + "b" * 64


@pytest.fixture(scope="module")
def redis_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedis]:
    with start_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_server(redis_module: LocalRedis) -> LocalRedis:
    """The module's Redis, running and empty."""
    redis_module.ensure_running()
    redis_module.flush()
    return redis_module


@pytest.fixture
def store(redis_server: LocalRedis) -> Iterator[RedisStore]:
    opened = RedisStore(redis_server.url())
    yield opened
    opened.close()


# -- RedisStore on a healthy server ----------------------------------------------------------


def test_values_round_trip_as_bytes_under_a_versioned_prefix(
    store: RedisStore, redis_server: LocalRedis
) -> None:
    binary = bytes(range(256)) * 40
    store.put("image:" + DIGEST, binary)
    store.put("empty", b"")
    assert store.get("image:" + DIGEST) == binary
    assert store.get("empty") == b""
    assert store.get("missing") is None
    assert redis_server.keys() == ["ballast:v1:empty", "ballast:v1:image:" + DIGEST]


def test_ttl_is_kept_by_redis_and_reported_with_the_value(
    store: RedisStore, redis_server: LocalRedis
) -> None:
    store.put("tag:r/x:1", b"entry", ttl_s=30)
    store.put("forever", b"facts")
    value, ttl_s = store.get_with_ttl("tag:r/x:1") or (b"", None)
    assert value == b"entry"
    assert ttl_s is not None and 29 < ttl_s <= 30
    assert store.get_with_ttl("forever") == (b"facts", None)
    assert store.get_with_ttl("missing") is None
    assert 29_000 < int(redis_server.cli("PTTL", "ballast:v1:tag:r/x:1")) <= 30_000
    store.put("short", b"v", ttl_s=0.05)
    time.sleep(0.1)
    assert store.get("short") is None


def test_prefixes_and_databases_keep_installations_apart(redis_server: LocalRedis) -> None:
    one = RedisStore(redis_server.url(0))
    other_prefix = RedisStore(redis_server.url(0), key_prefix="ballast-staging:v1:")
    other_db = RedisStore(redis_server.url(3))
    try:
        one.put("k", b"1")
        assert other_prefix.get("k") is None
        assert other_db.get("k") is None
        other_db.put("k", b"3")
        assert one.get("k") == b"1"
        assert redis_server.keys(db=3) == ["ballast:v1:k"]
    finally:
        for opened in (one, other_prefix, other_db):
            opened.close()


def test_many_threads_share_one_pool_bounded_by_max_connections(redis_server: LocalRedis) -> None:
    store = RedisStore(redis_server.url(), max_connections=16)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(200):
                store.put(f"t{n}-{i}", f"{n}:{i}".encode())
                assert store.get(f"t{n}-{i}") == f"{n}:{i}".encode()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        listed = redis_server.cli("CLIENT", "LIST").splitlines()
        assert 1 <= len([line for line in listed if "cmd=client" not in line]) <= 16
    finally:
        store.close()


def test_a_password_in_the_url_is_used_and_never_shown(tmp_path: Path) -> None:
    with start_redis(tmp_path, password="s3cret-pass") as server:
        good = RedisStore(server.url())
        good.put("k", b"v")
        assert good.get("k") == b"v"
        good.close()
        wrong = RedisStore(f"redis://:wrong-pass@{server.host}/0")
        with pytest.raises(CacheError) as caught:
            wrong.get("k")
        wrong.close()
    assert "wrong-pass" not in str(caught.value)
    assert f"redis://:***@{server.host}/0" in str(caught.value)
    assert redact_url("rediss://user:pw@cache:6380/1") == "rediss://user:***@cache:6380/1"
    assert redact_url("redis://cache:6379/0") == "redis://cache:6379/0"


def test_stale_pooled_connections_are_replaced_after_a_redis_restart(
    store: RedisStore, redis_server: LocalRedis
) -> None:
    store.put("k", b"v")
    redis_server.kill()
    with pytest.raises(CacheError, match="Connection refused"):
        store.get("k")
    redis_server.start()
    store.ping()  # the first command after the restart already works
    assert store.get("k") is None  # no persistence: the data went with the process


# -- failures are CacheError, and fast --------------------------------------------------------


def test_refused_connection_is_a_cache_error_that_names_the_server() -> None:
    address = refusing_address()
    store = RedisStore(f"redis://{address}/0")
    started = time.monotonic()
    with pytest.raises(CacheError, match=f"reading the shared cache at redis://{address}/0"):
        store.get("k")
    with pytest.raises(CacheError, match="writing the shared cache"):
        store.put("k", b"v")
    assert time.monotonic() - started < 1.0
    store.close()


def test_a_redis_that_never_answers_costs_one_socket_timeout(
    stalled_address: StalledServer,
) -> None:
    store = RedisStore(f"redis://{stalled_address.host}/0", timeout_s=0.1)
    actions: list[Callable[[], object]] = [
        lambda: store.get("k"),
        lambda: store.put("k", b"v"),
        store.ping,
    ]
    for action in actions:
        started = time.monotonic()
        with pytest.raises(CacheError, match="Timeout"):
            action()
        assert 0.09 < time.monotonic() - started < 0.6
    store.close()


def test_bad_urls_fail_when_opened_not_on_the_first_admission() -> None:
    with pytest.raises(CacheError, match="invalid Redis cache URL"):
        RedisStore("redis://cache:6379/0?no_such_option=1")
    with pytest.raises(CacheError, match="invalid Redis cache URL"):
        RedisStore("redis://cache:6379/0?socket_timeout=soon")


# -- open_store ------------------------------------------------------------------------------


def test_open_store_keeps_memory_and_sqlite_specs_as_they_were(tmp_path: Path) -> None:
    assert type(open_store(":memory:")) is MemoryStore
    assert type(open_store(str(tmp_path / "a.db"))) is SQLiteStore
    assert type(open_store("sqlite://" + str(tmp_path / "b.db"))) is SQLiteStore
    assert type(open_store(str(tmp_path / "c.db"), local_path=":memory:")) is SQLiteStore
    with pytest.raises(CacheError, match="unsupported cache"):
        open_store("memcached://localhost")


def test_open_store_puts_redis_behind_the_local_sqlite_file(
    redis_server: LocalRedis, tmp_path: Path
) -> None:
    path = str(tmp_path / "facts.db")
    opened = open_store(redis_server.url(), local_path=path)
    assert isinstance(opened, TieredStore)
    assert isinstance(opened.local, SQLiteStore) and opened.local.path == path
    assert isinstance(opened.shared, RedisStore)
    opened.put("k", b"v")
    opened.close()
    assert SQLiteStore(path).get("k") == b"v"
    assert redis_server.keys() == ["ballast:v1:k"]
    for spec, local_path in ((redis_server.url(), None), (redis_server.url(), ":memory:")):
        in_memory = open_store(spec, local_path=local_path)
        assert isinstance(in_memory, TieredStore) and type(in_memory.local) is MemoryStore
        in_memory.close()
    for url in (f"rediss://{redis_server.host}/0", "unix:///run/redis/redis.sock?db=2"):
        other = open_store(url)  # no connection is made when opening
        assert isinstance(other, TieredStore)
        other.close()


def test_cache_settings_name_the_shared_redis_and_the_local_file_in_front_of_it(
    redis_server: LocalRedis, tmp_path: Path
) -> None:
    """The wiring for the front ends: ``cache.url`` shared, ``cache.path`` local."""
    environ = {
        "BALLAST_CACHE__URL": redis_server.url(),
        "BALLAST_CACHE_PATH": str(tmp_path / "facts.db"),
    }
    cache = load_settings(environ).cache
    assert cache.url == redis_server.url()
    opened = open_store(cache.url, local_path=cache.resolved_path(environ))
    assert isinstance(opened, TieredStore) and isinstance(opened.local, SQLiteStore)
    assert opened.local.path == str(tmp_path / "facts.db")
    opened.close()


def test_open_store_refuses_a_url_as_the_local_store(redis_server: LocalRedis) -> None:
    with pytest.raises(CacheError, match="must be a SQLite file path or :memory:"):
        open_store(redis_server.url(), local_path=redis_server.url(1))


def test_open_store_does_not_need_redis_to_be_up() -> None:
    opened = open_store(f"redis://{refusing_address()}/0")
    assert isinstance(opened, TieredStore) and opened.shared_is_up
    opened.close()


# -- TieredStore over the real server ---------------------------------------------------------


def test_two_processes_views_share_facts_through_redis(redis_server: LocalRedis) -> None:
    first = FactsCache(open_store(redis_server.url()), lru_entries=16)
    second = FactsCache(open_store(redis_server.url()), lru_entries=16)
    entry = TagEntry(DIGEST, "application/vnd.oci.image.manifest.v1+json", 1700000000.0)
    first.put_tag("r/x:1", entry)
    first.put_blob("layer:" + DIGEST, b"layer facts")
    assert second.tag("r/x:1") == entry
    assert second.blob("layer:" + DIGEST) == b"layer facts"
    assert isinstance(second.store, TieredStore) and second.store.stats().shared_hits == 2
    first.close()
    second.close()


def test_redis_killed_falls_back_locally_and_restarted_gets_the_outage_writes(
    redis_server: LocalRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ballast.redis_store")
    local = SQLiteStore(str(tmp_path / "facts.db"))
    store = TieredStore(local, RedisStore(redis_server.url()), backoff_s=0.2)
    other = TieredStore(MemoryStore(), RedisStore(redis_server.url()), backoff_s=0.2)
    try:
        store.put("before", b"1")
        redis_server.kill()
        for i in range(20):
            store.put(f"during-{i}", b"2")
            assert store.get(f"during-{i}") == b"2"
            assert store.get("before") == b"1"
            assert store.get("never") is None
        assert (store.stats().outages, store.stats().pending) == (1, 20)
        redis_server.start()
        deadline = time.monotonic() + 5
        while not store.shared_is_up and time.monotonic() < deadline:
            time.sleep(0.02)
        assert store.shared_is_up, "the probe did not notice Redis was back"
        assert other.get("during-7") == b"2"  # another process now reads the outage's writes
        assert store.stats().replayed == 20
        messages = [r.getMessage() for r in caplog.records if r.name == "ballast.redis_store"]
        assert len([m for m in messages if "unreachable" in m]) == 1
        assert len([m for m in messages if "is back" in m]) == 1
    finally:
        store.close()
        other.close()


def test_a_stalled_redis_costs_one_timeout_per_outage_not_per_request(
    stalled_address: StalledServer,
) -> None:
    store = TieredStore(
        MemoryStore(), RedisStore(f"redis://{stalled_address.host}/0", timeout_s=0.1), backoff_s=0.5
    )
    try:
        started = time.monotonic()
        assert store.get("first") is None
        first_s = time.monotonic() - started
        started = time.monotonic()
        for i in range(200):
            assert store.get(f"k{i}") is None
            store.put(f"k{i}", b"v")
        rest_s = time.monotonic() - started
        assert first_s < 0.6
        assert rest_s < 0.5, rest_s  # 400 operations without Redis
        time.sleep(1.2)  # two backoff windows: the probe thread tries twice, in the background
        assert 2 <= stalled_address.accepted <= 4
        assert store.stats().outages == 1
    finally:
        store.close()
