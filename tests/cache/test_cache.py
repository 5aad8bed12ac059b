"""The facts cache: survives restarts, is safe under threads and processes, and is fast."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest

from ballast import CacheError
from ballast.cache import FactsCache, MemoryStore, SQLiteStore, TagEntry, open_store
from ballast.facts import HistoryEntry, ImageFacts, IndexEntry, IndexFacts, LayerInfo, Platform

FACTS = ImageFacts(
    digest="sha256:" + "1" * 64,
    media_type="application/vnd.oci.image.manifest.v1+json",
    platform=Platform("linux", "arm64", "v8"),
    config_digest="sha256:" + "2" * 64,
    config_bytes=1234,
    layers=(
        LayerInfo(
            "sha256:" + "3" * 64,
            "application/vnd.oci.image.layer.v1.tar+gzip",
            5_000_000,
            "RUN make",
        ),
        LayerInfo("sha256:" + "4" * 64, "application/vnd.oci.image.layer.v1.tar+zstd", 10, None),
    ),
    history=(
        HistoryEntry("RUN make", "2024-01-01T00:00:00Z", "buildkit", False),
        HistoryEntry("ENV A=1", empty_layer=True),
    ),
    created="2024-01-01T00:00:00Z",
    user="app",
    entrypoint=("/bin/app",),
    cmd=None,
    labels={"a": "b"},
    base_name="docker.io/library/debian:12",
    base_digest="sha256:" + "5" * 64,
)
INDEX = IndexFacts(
    digest="sha256:" + "6" * 64,
    media_type="application/vnd.oci.image.index.v1+json",
    manifests=(IndexEntry(FACTS.digest, FACTS.media_type, 999, Platform("linux", "arm64", "v8")),),
)


def test_facts_round_trip_through_sqlite_across_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "facts.db")
    first = FactsCache(SQLiteStore(path), lru_entries=10)
    first.put_image(FACTS)
    first.put_index(INDEX)
    first.put_tag("r/x:1", TagEntry(INDEX.digest, INDEX.media_type, 1700000000.0))
    first.close()
    second = FactsCache(SQLiteStore(path), lru_entries=10)
    assert second.image(FACTS.digest) == FACTS
    assert second.index(INDEX.digest) == INDEX
    assert second.tag("r/x:1") == TagEntry(INDEX.digest, INDEX.media_type, 1700000000.0)
    assert second.image("sha256:" + "0" * 64) is None


def test_sqlite_store_uses_wal_so_readers_do_not_block_writers(tmp_path: Path) -> None:
    path = tmp_path / "facts.db"
    SQLiteStore(str(path)).put("k", b"v")
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_expired_entries_are_not_returned() -> None:
    now = [1000.0]
    store = MemoryStore(clock=lambda: now[0])
    store.put("k", b"v", ttl_s=10)
    assert store.get("k") == b"v"
    now[0] += 11
    assert store.get("k") is None


def test_lru_keeps_only_the_configured_number_of_decoded_entries() -> None:
    store = MemoryStore()
    cache = FactsCache(store, lru_entries=2)
    for i in range(5):
        cache.put_tag(f"r/x:{i}", TagEntry("sha256:" + "a" * 64, "t", float(i)))
    assert len(cache._lru) == 2
    assert cache.tag("r/x:0") is not None  # still in the store


def test_many_threads_write_and_read_one_sqlite_file(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "facts.db"))
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(200):
                store.put(f"k{n}-{i}", str(i).encode())
                assert store.get(f"k{n}-{i}") == str(i).encode()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def _write_many(path: str, worker: int) -> None:
    store = SQLiteStore(path)
    for i in range(300):
        store.put(f"w{worker}-{i}", b"x" * 100)
    store.close()


def test_several_processes_write_one_sqlite_file_without_locking_errors(tmp_path: Path) -> None:
    path = str(tmp_path / "facts.db")
    SQLiteStore(path).close()
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_write_many, args=(path, n)) for n in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    store = SQLiteStore(path)
    assert all(store.get(f"w{n}-299") == b"x" * 100 for n in range(4))


def test_unwritable_cache_location_says_how_to_fix_it(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(CacheError, match="BALLAST_CACHE_PATH"):
        SQLiteStore(str(blocker / "facts.db"))


def test_unknown_cache_scheme_is_refused_clearly() -> None:
    with pytest.raises(CacheError, match="unsupported cache"):
        open_store("memcached://localhost")
