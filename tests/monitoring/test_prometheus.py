"""A real Prometheus scrapes an auditor-like endpoint: every dashboard query returns data,
the alert rules evaluate cleanly against the real series, and gone workloads go stale."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.monitoring.cluster import Passes
from tests.monitoring.conftest import Endpoint
from tests.monitoring.prometheus import (
    PROMTOOL,
    RULES,
    Prometheus,
    dashboard_queries,
    run_prometheus,
    substitute,
)

JOB = "ballast-auditor"


@pytest.fixture(scope="module")
def prometheus(
    endpoint: Endpoint, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    """Prometheus scraping the endpoint every second, with the alert rules loaded; ready
    once it holds a few scrapes (so range functions over 1m have two samples or more)."""
    workdir = tmp_path_factory.mktemp("prometheus")
    with run_prometheus(workdir, job=JOB, targets=[endpoint.host], rule_files=[RULES]) as server:
        server.wait_for(f'up{{job="{JOB}"}} == 1')
        server.wait_for(f'count_over_time(up{{job="{JOB}"}}[1m]) >= 3')
        yield server


def test_every_dashboard_query_returns_data(prometheus: Prometheus) -> None:
    queries = dashboard_queries()
    assert len(queries) >= 30
    empty = []
    deadline = time.monotonic() + 10
    for query in queries:
        expr = substitute(query.expr)
        result = prometheus.query(expr)
        while not result and time.monotonic() < deadline:
            time.sleep(0.25)
            result = prometheus.query(expr)
        if not result:
            empty.append(f"{query.panel} [{query.ref_id}]: {expr}")
    assert empty == [], "queries without data:\n" + "\n".join(empty)


def test_dashboard_queries_are_valid_for_one_namespace_and_filter_by_it(
    prometheus: Prometheus, passes: Passes
) -> None:
    ml = 0
    for query in dashboard_queries():
        result = prometheus.query(substitute(query.expr, namespace="shop"))
        namespaces = {r["metric"].get("namespace") for r in result} - {None}
        assert namespaces <= {"shop"}, query.panel
        ml += "ml" in {
            r["metric"].get("namespace") for r in prometheus.query(substitute(query.expr))
        }
    assert ml > 0  # with every namespace selected, ml is in some panels


def test_the_namespace_variable_lists_the_audited_namespaces(
    prometheus: Prometheus, passes: Passes
) -> None:
    values = prometheus.get(
        "/api/v1/label/namespace/values", **{"match[]": "ballast_namespace_pull_footprint_bytes"}
    )
    assert set(values) == {n.name for n in passes.deep.namespaces}


def test_prometheus_sees_the_sizes_the_auditor_measured(
    prometheus: Prometheus, passes: Passes
) -> None:
    trainer = passes.cluster.trainer
    (sample,) = prometheus.query(f'ballast_image_compressed_bytes{{digest="{trainer.digest}"}}')
    assert float(sample["value"][1]) == trainer.compressed_size
    (total,) = prometheus.query("sum(ballast_image_pull_footprint_bytes)")
    assert float(total["value"][1]) == passes.deep.pull_footprint_bytes
    (savings,) = prometheus.query("sum(ballast_potential_savings_uncompressed_bytes)")
    assert float(savings["value"][1]) == passes.deep.savings_bytes


def test_alert_rules_evaluate_cleanly_against_the_real_series(prometheus: Prometheus) -> None:
    def rules() -> dict[str, dict[str, Any]]:
        groups = prometheus.get("/api/v1/rules")["groups"]
        return {rule["name"]: rule for group in groups for rule in group["rules"]}

    deadline = time.monotonic() + 10
    loaded = rules()
    while any(r["lastEvaluation"].startswith("0001") for r in loaded.values()):
        assert time.monotonic() < deadline, "rules were never evaluated"
        time.sleep(0.25)
        loaded = rules()
    assert set(loaded) == {
        "BallastOversizedImageRunning",
        "BallastSecretsInImage",
        "BallastImagesUnknown",
        "BallastAuditFailing",
        "BallastAuditStale",
        "BallastAuditorMetricsMissing",
    }
    for name, rule in loaded.items():
        assert (rule["health"], rule.get("lastError", "")) == ("ok", ""), name
    # The trainer ships a .env file: firing at once, naming the image and namespace.
    secrets = loaded["BallastSecretsInImage"]
    assert secrets["state"] == "firing"
    (alert,) = secrets["alerts"]
    assert alert["labels"]["namespace"] == "ml"
    assert alert["labels"]["repository"].endswith("/trainer")
    # The legacy image's registry refuses connections: pending (it must last an hour).
    assert loaded["BallastImagesUnknown"]["state"] == "pending"
    # No history yet, so no image is "new"; the audit is fresh and working.
    for quiet in (
        "BallastOversizedImageRunning",
        "BallastAuditFailing",
        "BallastAuditStale",
        "BallastAuditorMetricsMissing",
    ):
        assert loaded[quiet]["state"] == "inactive", quiet


def test_the_scraped_exposition_is_promtool_clean(endpoint: Endpoint, tmp_path: Path) -> None:
    response = httpx.get(endpoint.url, headers={"Accept": "text/plain"}, timeout=10)
    assert response.headers["content-type"].startswith("text/plain")
    result = subprocess.run(
        [PROMTOOL, "check", "metrics"],
        input=response.content,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_a_namespace_that_has_gone_goes_stale_in_prometheus(
    prometheus: Prometheus, endpoint: Endpoint, passes: Passes
) -> None:
    """Runs last in this module: it changes what the endpoint serves (and puts it back)."""
    assert prometheus.query('ballast_workload_image_info{namespace="ml"}')
    endpoint.metrics.record_pass(passes.cluster.audit(without_namespaces=("ml",)))
    try:
        deadline = time.monotonic() + 10
        while prometheus.query('ballast_workload_image_info{namespace="ml"}'):
            assert time.monotonic() < deadline, "the ml series never went stale"
            time.sleep(0.25)
        trainer = passes.cluster.trainer.digest
        assert prometheus.query(f'ballast_image_compressed_bytes{{digest="{trainer}"}}') == []
        assert prometheus.query('ballast_namespace_pull_footprint_bytes{namespace="ml"}') == []
        assert prometheus.query('ballast_workload_image_info{namespace="shop"}')
    finally:
        endpoint.metrics.record_pass(passes.deep)
