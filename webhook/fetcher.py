"""Facts for an admission's images within its deadline, and no later.

The API server gives the webhook ``timeout`` seconds; the answer must leave
before that, whatever the registries do. Cache hits are answered in the
request thread with no network. Misses are resolved in parallel on a
long-lived pool; when the budget runs out, the request goes on without them
(the policy's failure mode decides) while the lookups keep running in the
pool, so the cache has the answer for the next request (the ReplicaSet's
retry, the next replica). Must not import Flask.
"""

from __future__ import annotations

import functools
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from typing import Any, TypeVar

from ballast._errors import BallastError
from ballast.facts import ResolvedImage
from ballast.lookup import FactsLookup
from ballast.reference import parse_reference

logger = logging.getLogger(__name__)
_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class Pending:
    """An image whose facts were not ready in time; its lookup goes on in the background."""

    image: str


Outcome = ResolvedImage | BallastError | Pending


class DaemonPool:
    """A fixed pool of daemon threads running submitted calls.

    Not ``ThreadPoolExecutor``: its threads are joined at interpreter exit, so
    one registry lookup hanging in the background would keep a gunicorn
    worker from exiting on SIGTERM until it is SIGKILLed. Background lookups
    are only cache warming; losing them at exit costs nothing.
    """

    def __init__(self, max_workers: int, *, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(max_workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, call: Callable[[], _R]) -> Future[_R]:
        future: Future[_R] = Future()
        self._jobs.put((call, future))
        return future

    def shutdown(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            call, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:
                future.set_exception(exc)


class DeadlineFetcher:
    """Resolves images through a lookup on a bounded pool, waiting at most a budget."""

    def __init__(self, lookup: FactsLookup, *, max_workers: int = 32) -> None:
        self._lookup = lookup
        self._pool = DaemonPool(max_workers, name="facts")
        self._inflight: dict[str, Future[ResolvedImage]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown()

    def fetch(self, images: Sequence[str], *, budget_s: float) -> dict[str, Outcome]:
        """Facts, an error, or Pending for each image string, within ``budget_s`` seconds."""
        outcomes: dict[str, Outcome] = {}
        waiting: dict[str, Future[ResolvedImage]] = {}
        for image in images:
            try:
                ref = parse_reference(image)
            except BallastError as exc:
                outcomes[image] = exc
                continue
            hit = self._lookup.cached(ref)
            if hit is not None:
                outcomes[image] = hit
            else:
                waiting[image] = self._submit(image)
        if waiting:
            wait_futures(list(waiting.values()), timeout=max(budget_s, 0.0))
        for image, future in waiting.items():
            if not future.done():
                outcomes[image] = Pending(image)
                continue
            error = future.exception()
            if error is None:
                outcomes[image] = future.result()
            elif isinstance(error, BallastError):
                outcomes[image] = error
            else:  # a bug in a lookup must not fail the admission: treat as unavailable
                logger.error("lookup of %s failed unexpectedly", image, exc_info=error)
                outcomes[image] = BallastError(f"internal error while resolving {image}")
        return outcomes

    def _submit(self, image: str) -> Future[ResolvedImage]:
        """One background lookup per image at a time, shared by concurrent admissions."""
        with self._lock:
            future = self._inflight.get(image)
            if future is None or future.done():
                future = self._pool.submit(functools.partial(self._lookup.resolve, image))
                self._inflight[image] = future
                future.add_done_callback(functools.partial(self._forget, image))
            return future

    def _forget(self, image: str, future: Future[ResolvedImage]) -> None:
        with self._lock:
            if self._inflight.get(image) is future:
                del self._inflight[image]


def budget_from_timeout(
    timeout_param: str | None, *, default_s: float, margin_s: float, started: float
) -> float:
    """Seconds left to wait for registries, from the API server's ``?timeout=10s``.

    The API server sends the webhook's timeoutSeconds as a Go duration. We
    keep ``margin_s`` (plus a fifth of the timeout for slow networks, capped
    at 1 s) for evaluating, serialising and the trip back.
    """
    timeout_s = parse_go_duration(timeout_param) if timeout_param else None
    if timeout_s is None or timeout_s <= 0:
        timeout_s = default_s
    margin = margin_s + min(timeout_s * 0.2, 1.0)
    return max(timeout_s - margin - (time.monotonic() - started), 0.0)


_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_go_duration(text: str) -> float | None:
    """``10s`` → 10.0, ``1m30s`` → 90.0, ``500ms`` → 0.5; None when it does not parse."""
    text = text.strip()
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(number) * _UNITS[unit] for number, unit in parts)
