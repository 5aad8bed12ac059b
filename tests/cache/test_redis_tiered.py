"""TieredStore logic: local first, shared best-effort, outages logged once, nothing lost.

The shared store here is a fake that can be switched off, because these are the edge
cases (a failure in the middle of a re-publish, a full queue, writes racing a recovery)
that a real Redis cannot be made to produce on cue. test_redis_store.py runs the same
store against a real redis-server.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ballast import CacheError
from ballast.cache import FactsCache, MemoryStore, TagEntry
from ballast.redis_store import TieredStore

DIGEST = "sha256:" + "a" * 64


class FakeShared:
    """A dict behind a switch; counts the calls that reach it."""

    location = "fake://shared"

    def __init__(self, clock: list[float] | None = None) -> None:
        self.data: dict[str, tuple[bytes, float | None]] = {}
        self.up = True
        self.calls = 0
        self.fail_after: int | None = None
        """Succeed this many more calls, then go down (a failure in the middle of work)."""
        self.closed = False
        self._lock = threading.Lock()

    def _touch(self) -> None:
        with self._lock:
            self.calls += 1
            if self.fail_after is not None:
                if self.fail_after == 0:
                    self.up = False
                    self.fail_after = None
                else:
                    self.fail_after -= 1
            if not self.up:
                raise CacheError("fake shared store is down")

    def get(self, key: str) -> bytes | None:
        entry = self.get_with_ttl(key)
        return None if entry is None else entry[0]

    def get_with_ttl(self, key: str) -> tuple[bytes, float | None] | None:
        self._touch()
        return self.data.get(key)

    def put(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        self._touch()
        self.data[key] = (value, ttl_s)

    def ping(self) -> None:
        self._touch()

    def close(self) -> None:
        self.closed = True

    def values(self) -> dict[str, bytes]:
        """What it holds, without TTLs."""
        return {key: value for key, (value, _) in self.data.items()}


def tiered(
    shared: FakeShared | None = None, *, now: list[float] | None = None, **kwargs: object
) -> tuple[TieredStore, MemoryStore, FakeShared]:
    clock = now if now is not None else [1000.0]
    local = MemoryStore(clock=lambda: clock[0])
    fake = shared or FakeShared()
    store = TieredStore(local, fake, probe_in_background=False, **kwargs)  # type: ignore[arg-type]
    return store, local, fake


def test_reads_come_from_local_first_and_shared_hits_are_copied_locally_with_their_ttl() -> None:
    now = [1000.0]
    store, local, shared = tiered(now=now)
    shared.data["tag:r/x:1"] = (b"entry", 60.0)
    shared.data["image:" + DIGEST] = (b"facts", None)
    assert store.get("image:" + DIGEST) == b"facts"
    assert store.get("tag:r/x:1") == b"entry"
    calls = shared.calls
    assert store.get("image:" + DIGEST) == b"facts"
    assert shared.calls == calls  # served locally the second time
    assert local.get("image:" + DIGEST) == b"facts"
    now[0] += 61  # the tag's copy expires locally when it does in Redis
    assert local.get("tag:r/x:1") is None
    assert store.stats().shared_hits == 2


def test_writes_go_to_both_stores() -> None:
    store, local, shared = tiered()
    store.put("k", b"v", ttl_s=30)
    assert local.get("k") == b"v"
    assert shared.data["k"] == (b"v", 30)


def test_a_miss_everywhere_is_none() -> None:
    store, _, _ = tiered()
    assert store.get("missing") is None


def test_shared_outage_falls_back_to_local_logs_once_and_stops_calling_shared(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, _, shared = tiered()
    store.put("before", b"1")
    events: list[bool] = []
    store.observer = events.append
    shared.up = False
    caplog.set_level(logging.INFO, logger="ballast.redis_store")
    assert store.get("unknown") is None  # the failure is not raised
    calls = shared.calls
    for i in range(50):
        assert store.get("unknown") is None
        assert store.get("before") == b"1"
        store.put(f"during-{i}", b"2")
        assert store.get(f"during-{i}") == b"2"
    assert shared.calls == calls  # no request paid for the outage after the first
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "fake://shared unreachable, serving from the local cache" in warnings[0].getMessage()
    stats = store.stats()
    assert (stats.shared_up, stats.outages, stats.pending) == (False, 1, 50)
    assert events == [False]


def test_failed_write_is_kept_locally_and_republished_on_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, local, shared = tiered()
    shared.up = False
    store.put("image:" + DIGEST, b"facts")
    store.put("tag:r/x:1", b"entry", ttl_s=60)
    assert local.get("image:" + DIGEST) == b"facts"
    assert shared.data == {}
    assert store.recover() is False  # still down: nothing changes, nothing logged again
    assert store.stats().pending == 2
    shared.up = True
    events: list[bool] = []
    store.observer = events.append
    caplog.set_level(logging.INFO, logger="ballast.redis_store")
    assert store.recover() is True
    assert shared.data == {"image:" + DIGEST: (b"facts", None), "tag:r/x:1": (b"entry", 60)}
    stats = store.stats()
    assert (stats.shared_up, stats.replayed, stats.pending, stats.outages) == (True, 2, 0, 1)
    assert events == [True]
    (back,) = [r.getMessage() for r in caplog.records if "is back" in r.getMessage()]
    assert "re-published 2 entries" in back
    store.put("after", b"x")
    assert shared.data["after"] == (b"x", None)


def test_each_outage_is_counted_once() -> None:
    store, _, shared = tiered()
    for _ in range(3):
        shared.up = False
        for _ in range(5):
            store.get("k")
        shared.up = True
        assert store.recover()
    assert store.stats().outages == 3


def test_a_failure_in_the_middle_of_a_republish_keeps_the_rest_for_later() -> None:
    store, _, shared = tiered()
    shared.up = False
    for i in range(10):
        store.put(f"k{i}", str(i).encode())
    shared.up = True
    shared.fail_after = 4  # the ping and three puts succeed
    assert store.recover() is False
    assert len(shared.data) == 3
    assert store.stats().pending == 7
    assert not store.shared_is_up
    shared.up = True
    assert store.recover() is True
    assert shared.values() == {f"k{i}": str(i).encode() for i in range(10)}
    assert store.stats().replayed == 10


def test_the_replay_queue_is_bounded_and_drops_the_oldest_which_stay_local() -> None:
    store, local, shared = tiered(replay_keys=3)
    shared.up = False
    for i in range(5):
        store.put(f"k{i}", b"v")
    store.put("k3", b"newer")  # re-queued as the newest, not counted twice
    stats = store.stats()
    assert (stats.pending, stats.replay_dropped) == (3, 2)
    shared.up = True
    assert store.recover()
    assert sorted(shared.data) == ["k2", "k3", "k4"]
    assert shared.data["k3"][0] == b"newer"
    assert local.get("k0") == b"v"  # dropped from the queue, not from the cache


def test_entries_that_expired_locally_are_not_republished() -> None:
    now = [1000.0]
    store, _, shared = tiered(now=now)
    shared.up = False
    store.put("short", b"v", ttl_s=1)
    store.put("long", b"v")
    now[0] += 2
    shared.up = True
    assert store.recover()
    assert sorted(shared.data) == ["long"]
    assert store.stats().replayed == 1


def test_local_errors_are_raised_as_before() -> None:
    class BrokenLocal(MemoryStore):
        def get(self, key: str) -> bytes | None:
            raise CacheError("disk full")

    store = TieredStore(BrokenLocal(), FakeShared(), probe_in_background=False)
    with pytest.raises(CacheError, match="disk full"):
        store.get("k")


def test_a_failing_observer_does_not_break_the_cache(caplog: pytest.LogCaptureFixture) -> None:
    store, _, shared = tiered()

    def observer(up: bool) -> None:
        raise RuntimeError("metrics bug")

    store.observer = observer
    shared.up = False
    assert store.get("k") is None
    assert "shared cache observer failed" in caplog.text


def test_facts_cache_over_a_tiered_store_shares_facts_between_two_processes_views() -> None:
    shared = FakeShared()
    first, _, _ = tiered(shared)
    second, _, _ = tiered(shared)
    FactsCache(first, lru_entries=8).put_tag("r/x:1", TagEntry(DIGEST, "t", 1700000000.0))
    assert FactsCache(second, lru_entries=8).tag("r/x:1") == TagEntry(DIGEST, "t", 1700000000.0)


def test_the_background_probe_recovers_and_republishes_by_itself() -> None:
    shared = FakeShared()
    store = TieredStore(MemoryStore(), shared, backoff_s=0.05)
    try:
        shared.up = False
        store.put("k", b"v")
        assert not store.shared_is_up
        time.sleep(0.2)
        assert not store.shared_is_up  # probes keep failing quietly
        shared.up = True
        deadline = time.monotonic() + 5
        while not store.shared_is_up and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.shared_is_up
        assert shared.data["k"] == (b"v", None)
    finally:
        store.close()
    assert shared.closed


def test_close_stops_the_probe_thread() -> None:
    shared = FakeShared()
    store = TieredStore(MemoryStore(), shared, backoff_s=0.05)
    shared.up = False
    store.get("k")
    prober = store._prober
    assert prober is not None and prober.is_alive()
    store.close()
    assert not prober.is_alive()


def test_writes_racing_outages_and_recoveries_all_reach_the_shared_store() -> None:
    """Eight writers while the shared store flaps and a recoverer runs: no key is lost."""
    store, local, shared = tiered(replay_keys=100_000)
    stop = threading.Event()
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(400):
                store.put(f"w{n}-{i}", f"{n}-{i}".encode())
        except BaseException as exc:
            errors.append(exc)

    def flap() -> None:
        while not stop.is_set():
            shared.up = not shared.up
            store.recover()
            time.sleep(0.0005)

    flapper = threading.Thread(target=flap)
    flapper.start()
    writers = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    flapper.join()
    assert errors == []
    shared.up = True
    assert store.recover()
    expected = {f"w{n}-{i}": f"{n}-{i}".encode() for n in range(8) for i in range(400)}
    assert shared.values() == expected
    assert all(local.get(k) == v for k, v in expected.items())
    assert store.stats().pending == 0


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from("abcde"), st.binary(min_size=1, max_size=4)),
        st.tuples(st.just("get"), st.sampled_from("abcde"), st.just(b"")),
        st.tuples(st.just("down"), st.just(""), st.just(b"")),
        st.tuples(st.just("up"), st.just(""), st.just(b"")),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_any_sequence_of_writes_and_outages_ends_with_the_last_values_everywhere(
    ops: list[tuple[str, str, bytes]],
) -> None:
    store, _, shared = tiered()
    last: dict[str, bytes] = {}
    for op, key, value in ops:
        if op == "put":
            store.put(key, value)
            last[key] = value
        elif op == "get":
            assert store.get(key) == last.get(key)  # a process reads its own writes
        elif op == "down":
            shared.up = False
        else:
            shared.up = True
            store.recover()
    shared.up = True
    assert store.recover()
    assert shared.values() == last
