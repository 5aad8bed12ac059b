"""The webhook's Prometheus metrics: events as counters and histograms.

One CollectorRegistry per app (never the global default), so tests and
several apps in one process do not share series. With several gunicorn
workers each worker serves its own numbers; set PROMETHEUS_MULTIPROC_DIR to
aggregate (prometheus-client's multiprocess mode). Labels are bounded: kind,
operation and decision are closed sets, hosts are the registries in use.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS_S = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class WebhookMetrics:
    """Counters and histograms the webhook updates as it answers."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.admissions = Counter(
            "ballast_admission_requests",
            "Admission reviews answered, by object kind, operation and decision.",
            ["kind", "operation", "decision"],
            registry=registry,
        )
        self.latency = Histogram(
            "ballast_admission_duration_seconds",
            "Time from receiving an admission review to answering it.",
            ["kind"],
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.cache_lookups = Counter(
            "ballast_cache_lookups",
            "Image facts looked up for admissions, by result (hit: no registry request).",
            ["result"],
            registry=registry,
        )
        self.registry_requests = Counter(
            "ballast_registry_requests",
            "HTTP requests to registries by host and status (0: connection failed).",
            ["host", "status"],
            registry=registry,
        )
        self.failure_mode = Counter(
            "ballast_failure_mode_activations",
            "Images judged by the failure mode because facts were not available in time.",
            ["mode", "reason"],
            registry=registry,
        )
        self.exceptions_honoured = Counter(
            "ballast_exceptions_honoured",
            "Policy exceptions (ballast.dev/exception) honoured, by rule and namespace.",
            ["rule", "namespace"],
            registry=registry,
        )
        self.bad_requests = Counter(
            "ballast_admission_bad_requests",
            "Requests refused before judging (not an AdmissionReview), by HTTP status.",
            ["status"],
            registry=registry,
        )

        self.shared_cache_outages = Counter(
            "ballast_shared_cache_outages",
            "Times the shared cache (Redis) became unreachable; each process fell back to its "
            "local cache until it returned.",
            registry=registry,
        )
        self.shared_cache_up = Gauge(
            "ballast_shared_cache_up",
            "1 while every worker reaches the shared cache (Redis), 0 when one does not.",
            multiprocess_mode="min",
            registry=registry,
        )

    def observe_shared_cache(self, up: bool) -> None:
        """TieredStore's observer: called on each outage and recovery."""
        if not up:
            self.shared_cache_outages.inc()
        self.shared_cache_up.set(1 if up else 0)

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition for /metrics: all workers' samples when multiprocess."""
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def observe_registry(self, host: str, status: int) -> None:
        self.registry_requests.labels(host=host, status=str(status)).inc()
