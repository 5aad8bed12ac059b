"""Fixtures for the monitoring tests: two real audit passes, served like a running auditor."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry, start_http_server

from auditor.metrics import AuditMetrics
from tests.monitoring.cluster import Passes, audited_passes
from tests.support.registry import LocalRegistry


@pytest.fixture(scope="module")
def passes(
    registry_session: LocalRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Passes]:
    """The monitored cluster audited against the real local registry (cold, then deep)."""
    with audited_passes(registry_session, tmp_path_factory.mktemp("monitoring")) as audited:
        yield audited


@dataclass
class Endpoint:
    """An auditor-like ``/metrics`` endpoint on loopback."""

    metrics: AuditMetrics
    host: str

    @property
    def url(self) -> str:
        return f"http://{self.host}/metrics"


@pytest.fixture(scope="module")
def endpoint(passes: Passes) -> Iterator[Endpoint]:
    """AuditMetrics after the deep pass, served over HTTP as the auditor serves them."""
    metrics = AuditMetrics(CollectorRegistry(), interval_s=60)
    metrics.record_pass(passes.cold)
    metrics.record_pass(passes.deep)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=metrics.registry)
    try:
        yield Endpoint(metrics, f"127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
