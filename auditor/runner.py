"""The auditor's loop: a pass on schedule, metrics and reports after each, layers learnt between.

A failed pass (the cluster unreachable, a pods file that is not a PodList)
is counted and logged; the loop carries on and the metrics keep the last
good snapshot, so dashboards do not go blank and the staleness alert fires.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from auditor.deepen import LayerDeepener, plan_layer_reads
from auditor.model import AuditSnapshot
from auditor.scan import audit
from auditor.schedule import Schedule
from auditor.source import PodSource
from ballast._errors import BallastError
from ballast.policy import PolicySource
from ballast.services import Services

logger = logging.getLogger(__name__)


class PassObserver(Protocol):
    """What the metrics need to hear from the loop."""

    def record_pass(self, snapshot: AuditSnapshot) -> None: ...

    def record_failure(self, error_type: str) -> None: ...


ReportWriter = Callable[[AuditSnapshot], list[Path]]


@dataclass(slots=True)
class RunnerState:
    """For /readyz and /healthz: how the last passes went."""

    passes: int = 0
    failures: int = 0
    last_success: dt.datetime | None = None
    last_error: str | None = None
    last_snapshot: AuditSnapshot | None = None
    started: float = field(default_factory=time.monotonic)


class AuditorRunner:
    """Runs audit passes; ``run_pass`` once, or ``run_forever`` on the schedule."""

    def __init__(
        self,
        *,
        make_source: Callable[[], PodSource],
        services: Services,
        policy: PolicySource,
        observer: PassObserver,
        schedule: Schedule,
        write_reports: ReportWriter | None = None,
        max_workers: int = 16,
        layer_budget_bytes: int = 0,
    ) -> None:
        self._make_source = make_source
        self._services = services
        self._policy = policy
        self._observer = observer
        self._schedule = schedule
        self._write_reports = write_reports
        self._max_workers = max_workers
        self._layer_budget_bytes = layer_budget_bytes
        self._deepener = LayerDeepener(services.layers)
        self._stop = threading.Event()
        self.state = RunnerState()

    def stop(self) -> None:
        self._stop.set()
        self._deepener.stop()

    def run_pass(self, *, deepen_in_background: bool = True) -> AuditSnapshot | None:
        """One pass; returns its snapshot, or None when it failed (see ``state``)."""
        try:
            source = self._make_source()
            snapshot = audit(
                source,
                self._services.lookup,
                policy=self._policy.current(),
                layer_report_for=self._services.layers.cached_report,
                max_workers=self._max_workers,
            )
        except BallastError as exc:
            self.state.failures += 1
            self.state.last_error = str(exc)
            self._observer.record_failure(type(exc).__name__)
            logger.error("audit pass failed: %s", exc)
            return None
        except Exception as exc:  # a bug of ours: count it, keep the loop alive
            self.state.failures += 1
            self.state.last_error = f"internal error: {exc.__class__.__name__}: {exc}"
            self._observer.record_failure("InternalError")
            logger.exception("audit pass failed with an internal error")
            return None
        self.state.passes += 1
        self.state.last_success = dt.datetime.now(dt.UTC)
        self.state.last_error = None
        self.state.last_snapshot = snapshot
        self._observer.record_pass(snapshot)
        if self._write_reports is not None:
            try:
                for path in self._write_reports(snapshot):
                    logger.info("report written: %s", path)
            except Exception as exc:  # reports are a side output: the pass still counts
                logger.error("writing reports failed: %s", exc)
        if self._layer_budget_bytes > 0:
            plan = plan_layer_reads(
                snapshot, self._services.layers, budget_bytes=self._layer_budget_bytes
            )
            if deepen_in_background:
                self._deepener.start(plan)
            else:
                self._deepener.run_now(plan)
        logger.info(
            "audit pass: %d pods, %d images (%d unknown) in %.2fs",
            snapshot.counts.pods,
            snapshot.counts.unique_images,
            snapshot.counts.unknown_images,
            snapshot.timing.duration_s,
        )
        return snapshot

    def run_forever(self) -> None:
        """Pass, wait for the schedule, repeat until ``stop()``."""
        while not self._stop.is_set():
            self.run_pass()
            wake = self._schedule.next_after(dt.datetime.now(dt.UTC))
            delay = (wake - dt.datetime.now(dt.UTC)).total_seconds()
            self._stop.wait(max(delay, 0.0))
