"""The auditor's metrics from real passes against the local registry: values, stale series,
bounded cardinality, no work at registration, and a promtool-clean exposition."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric

import auditor.metrics
from auditor.metrics import EVENT_METRICS, STATE_METRICS, AuditCollector, AuditMetrics
from auditor.model import AuditSnapshot, ImageRecord
from auditor.pods import parse_pod_list
from auditor.scan import audit_pods
from tests.auditor.podlists import C, make_pod, owner, pod_list
from tests.monitoring.cluster import POLICY, Passes, audited_passes
from tests.support.registry import LocalRegistry


@pytest.fixture(scope="module")
def passes(
    registry_session: LocalRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Passes]:
    with audited_passes(registry_session, tmp_path_factory.mktemp("metrics")) as passes:
        yield passes


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def exported(snapshot: AuditSnapshot, *, clock: Clock | None = None) -> AuditMetrics:
    metrics = AuditMetrics(CollectorRegistry(), interval_s=300, clock=clock or Clock(1.75e9))
    metrics.record_pass(snapshot)
    return metrics


def value(metrics: AuditMetrics, metric: str, /, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(metric, labels)


def samples(metrics: AuditMetrics, name: str) -> list[dict[str, str]]:
    return [s.labels for m in metrics.registry.collect() for s in m.samples if s.name == name]


def by_repo(snapshot: AuditSnapshot, name: str) -> ImageRecord:
    (record,) = [i for i in snapshot.images if any(r.endswith(f"/{name}") for r in i.repositories)]
    return record


def image_labels(record: ImageRecord) -> dict[str, str]:
    assert record.digest is not None
    return {"digest": record.digest, "repository": record.repositories[0]}


def test_running_images_are_exported_by_digest_with_compressed_size_layers_and_footprint(
    passes: Passes,
) -> None:
    cluster, snapshot = passes.cluster, passes.deep
    metrics = exported(snapshot)
    expected = {
        # repo: (layers, pods, nodes)
        "web": (2, 3, 3),
        "toolbox": (1, 4, 3),
        "exporter": (2, 3, 3),
        "trainer": (4, 2, 2),
    }
    for name, (layers, pods, nodes) in expected.items():
        labels = image_labels(by_repo(snapshot, name))
        size = cluster.size(name)
        assert value(metrics, "ballast_image_compressed_bytes", **labels) == size, name
        assert value(metrics, "ballast_image_layers", **labels) == layers, name
        assert value(metrics, "ballast_image_pods", **labels) == pods, name
        assert value(metrics, "ballast_image_nodes", **labels) == nodes, name
        assert value(metrics, "ballast_image_pull_footprint_bytes", **labels) == size * nodes
    # The multi-arch exporter: keyed by its index digest, sized for linux/amd64.
    exporter = by_repo(snapshot, "exporter")
    info = value(
        metrics,
        "ballast_image_info",
        **image_labels(exporter),
        reference=cluster.images.exporter.ref,
        platform="linux/amd64",
    )
    assert info == 1
    assert exporter.digest == cluster.images.exporter.digest
    known = [i for i in snapshot.images if not i.is_unknown]
    assert len(samples(metrics, "ballast_image_compressed_bytes")) == len(known) == 9
    assert (
        sum(
            value(metrics, "ballast_image_pull_footprint_bytes", **image_labels(i)) or 0
            for i in known
        )
        == snapshot.pull_footprint_bytes
    )


def test_unpacked_wasted_and_hidden_bytes_appear_once_the_layers_are_read(passes: Passes) -> None:
    cold = exported(passes.cold)
    trainer = by_repo(passes.cold, "trainer")
    for name in (
        "ballast_image_uncompressed_bytes",
        "ballast_image_wasted_bytes",
        "ballast_image_hidden_bytes",
    ):
        assert samples(cold, name) == [], name
    assert value(cold, "ballast_image_compressed_bytes", **image_labels(trainer)) is not None

    deep = exported(passes.deep)
    trainer = by_repo(passes.deep, "trainer")
    report = trainer.layer_report
    assert report is not None
    labels = image_labels(trainer)
    assert value(deep, "ballast_image_uncompressed_bytes", **labels) == report.uncompressed_bytes
    assert value(deep, "ballast_image_wasted_bytes", **labels) == report.wasted_bytes > 0
    assert value(deep, "ballast_image_hidden_bytes", **labels) == report.hidden_bytes >= 200_000
    # Only the image whose layers were read has unpacked sizes.
    assert len(samples(deep, "ballast_image_uncompressed_bytes")) == 1


def test_workloads_name_the_image_they_run_with_replicas_and_nodes(passes: Passes) -> None:
    cluster, snapshot = passes.cluster, passes.deep
    metrics = exported(snapshot)
    web = by_repo(snapshot, "web")
    migrate = by_repo(snapshot, "migrate")
    expected = {
        # (namespace, kind, name, digest, reference): (pods, nodes)
        ("shop", "Deployment", "web", web.digest, cluster.images.web.ref): (3, 3),
        # the init container of 3 running pods and of the Pending one
        ("shop", "Deployment", "web", migrate.digest, cluster.images.migrate.ref): (4, 3),
        ("batch", "Job", "migrate-2", migrate.digest, cluster.images.migrate.ref): (1, 1),
        ("ml", "Deployment", "trainer", cluster.trainer.digest, cluster.trainer.tag_ref): (2, 2),
        # never resolved, and no digest in the status: known by its reference only
        ("ml", "Pod", "legacy", "", cluster.legacy_ref): (1, 1),
    }
    for (namespace, kind, name, digest, reference), (pods, nodes) in expected.items():
        labels = {
            "namespace": namespace,
            "kind": kind,
            "name": name,
            "digest": digest or "",
            "reference": reference,
        }
        assert value(metrics, "ballast_workload_image_info", **labels) == 1, labels
        assert value(metrics, "ballast_workload_image_pods", **labels) == pods, labels
        assert value(metrics, "ballast_workload_image_nodes", **labels) == nodes, labels
    assert len(samples(metrics, "ballast_workload_image_info")) == sum(
        len(i.uses) for i in snapshot.images
    )
    web_workload = {"namespace": "shop", "kind": "Deployment", "name": "web"}
    footprint = value(metrics, "ballast_workload_pull_footprint_bytes", **web_workload)
    assert footprint == (
        cluster.size("web") * 3 + cluster.size("web-next") * 1 + cluster.size("migrate") * 3
    )
    for totals in snapshot.namespaces:
        ns = {"namespace": totals.name}
        assert (
            value(metrics, "ballast_namespace_pull_footprint_bytes", **ns)
            == totals.pull_footprint_bytes
        )
        assert (
            value(metrics, "ballast_namespace_images_compressed_bytes", **ns)
            == totals.compressed_bytes
        )
    for node in snapshot.nodes:
        assert (
            value(metrics, "ballast_node_images_compressed_bytes", node=node.name)
            == node.compressed_bytes
        )


def test_findings_savings_and_exceptions_are_counted_by_rule_and_namespace(
    passes: Passes,
) -> None:
    snapshot = passes.deep
    metrics = exported(snapshot)
    secrets = {"rule": "secrets", "category": "secrets", "severity": "high"}
    assert value(metrics, "ballast_findings", **secrets, status="fail", namespace="ml") == 1
    size_rule = {"rule": "maxCompressedSize", "category": "", "severity": "", "status": "fail"}
    assert value(metrics, "ballast_findings", **size_rule, namespace="shop") == 2  # web, web-next
    assert value(metrics, "ballast_findings", **size_rule, namespace="tools") == 1
    # The db's exception waives maxLayerCount: reported as warn, never as a failure.
    waived = {"rule": "maxLayerCount", "category": "", "severity": "", "namespace": "shop"}
    assert value(metrics, "ballast_findings", **waived, status="warn") == 1
    assert value(metrics, "ballast_findings", **waived, status="fail") is None
    failing = sum(
        value(metrics, "ballast_findings", **labels) or 0
        for labels in samples(metrics, "ballast_findings")
        if labels["status"] == "fail"
    )
    assert failing == snapshot.counts.failed_findings == 10

    trainer = image_labels(by_repo(snapshot, "trainer"))
    assert (
        value(
            metrics,
            "ballast_image_failed_findings",
            **trainer,
            rule="secrets",
            category="secrets",
            namespace="ml",
        )
        == 1
    )
    savings = samples(metrics, "ballast_potential_savings_uncompressed_bytes")
    total = sum(
        value(metrics, "ballast_potential_savings_uncompressed_bytes", **s) or 0 for s in savings
    )
    assert total == snapshot.savings_bytes > 0
    per_namespace = {
        n.name: value(
            metrics, "ballast_namespace_potential_savings_uncompressed_bytes", namespace=n.name
        )
        for n in snapshot.namespaces
    }
    assert per_namespace == {n.name: n.savings_bytes for n in snapshot.namespaces}
    assert per_namespace["ml"] == snapshot.savings_bytes  # the trainer is the only one

    assert (
        value(metrics, "ballast_exceptions_in_force", rule="maxLayerCount", namespace="shop") == 1
    )
    assert samples(metrics, "ballast_exceptions_in_force") == [
        {"rule": "maxLayerCount", "namespace": "shop"}
    ]
    assert value(metrics, "ballast_exceptions_ignored", namespace="tools") == 1  # expired


def test_audit_health_counts_passes_unknown_images_and_registry_errors(passes: Passes) -> None:
    cluster, snapshot = passes.cluster, passes.deep
    clock = Clock(1_750_000_000.0)
    metrics = exported(snapshot, clock=clock)
    counts = snapshot.counts
    for verdict in ("allow", "warn", "deny"):
        assert (
            value(metrics, "ballast_audit_images", verdict=verdict)
            == counts.images_by_verdict[verdict]
        )
    assert value(metrics, "ballast_audit_images", verdict="unknown") == 1
    refused = {"registry": cluster.refused_host, "error_type": "RegistryUnavailable"}
    assert value(metrics, "ballast_audit_unknown_images", **refused) == 1
    assert value(metrics, "ballast_audit_registry_errors_total", **refused) == 1
    assert value(metrics, "ballast_audit_passes_total", result="success") == 1
    assert value(metrics, "ballast_audit_passes_total", result="failure") == 0
    assert value(metrics, "ballast_audit_duration_seconds_count") == 1
    assert value(metrics, "ballast_audit_duration_seconds_sum") == snapshot.timing.duration_s
    assert value(metrics, "ballast_audit_last_duration_seconds") == snapshot.timing.duration_s
    assert (
        value(metrics, "ballast_audit_last_success_timestamp_seconds")
        == snapshot.timing.finished.timestamp()
    )
    assert value(metrics, "ballast_audit_last_failure_timestamp_seconds") == 0
    assert value(metrics, "ballast_auditor_start_timestamp_seconds") == clock.now
    assert value(metrics, "ballast_audit_interval_seconds") == 300
    assert (value(metrics, "ballast_audit_pods"), value(metrics, "ballast_audit_nodes")) == (
        counts.pods,
        counts.nodes,
    )
    assert value(metrics, "ballast_audit_workloads") == counts.workloads
    assert metrics.is_ready

    # The next pass hits the same failing registry: the counter adds, the gauge stays at 1.
    metrics.record_pass(snapshot)
    assert value(metrics, "ballast_audit_registry_errors_total", **refused) == 2
    assert value(metrics, "ballast_audit_unknown_images", **refused) == 1


def test_a_failed_pass_keeps_the_last_picture_and_records_when_and_why(passes: Passes) -> None:
    clock = Clock(1_750_000_000.0)
    metrics = exported(passes.deep, clock=clock)
    before = generate_latest(metrics.registry)
    clock.now += 600
    metrics.record_failure("ClusterError")
    assert value(metrics, "ballast_audit_last_failure_timestamp_seconds") == clock.now
    assert value(metrics, "ballast_audit_failures_total", error_type="ClusterError") == 1
    assert value(metrics, "ballast_audit_passes_total", result="failure") == 1
    assert value(metrics, "ballast_audit_passes_total", result="success") == 1
    # Every state series is still there (dashboards keep the last good pass).
    web = image_labels(by_repo(passes.deep, "web"))
    assert value(metrics, "ballast_image_compressed_bytes", **web) is not None
    state = [s for s in before.splitlines() if s.startswith(b"ballast_image_")]
    after = generate_latest(metrics.registry).splitlines()
    assert set(state) <= set(after)


def test_an_auditor_that_never_succeeded_says_so(passes: Passes) -> None:
    metrics = AuditMetrics(CollectorRegistry(), clock=Clock(1_750_000_000.0))
    assert not metrics.is_ready
    assert value(metrics, "ballast_audit_last_success_timestamp_seconds") == 0
    assert value(metrics, "ballast_auditor_start_timestamp_seconds") == 1_750_000_000.0
    assert value(metrics, "ballast_audit_interval_seconds") is None  # not set: not exported
    assert samples(metrics, "ballast_image_compressed_bytes") == []
    metrics.set_interval(90)
    assert value(metrics, "ballast_audit_interval_seconds") == 90
    with pytest.raises(ValueError, match="positive"):
        metrics.set_interval(0)


def test_workloads_and_images_that_have_gone_leave_no_series_behind(passes: Passes) -> None:
    cluster = passes.cluster
    metrics = exported(passes.deep)
    trainer = image_labels(by_repo(passes.deep, "trainer"))
    assert value(metrics, "ballast_image_compressed_bytes", **trainer) is not None

    metrics.record_pass(cluster.audit(without_namespaces=("ml",)))
    text = generate_latest(metrics.registry).decode()
    assert trainer["digest"] not in text
    assert 'namespace="ml"' not in text
    assert cluster.legacy_ref not in text
    assert "trainer" not in text
    assert samples(metrics, "ballast_image_uncompressed_bytes") == []  # only the trainer had them
    assert samples(metrics, "ballast_audit_unknown_images") == []  # legacy was in ml
    assert value(metrics, "ballast_audit_images", verdict="unknown") == 0
    assert {s["namespace"] for s in samples(metrics, "ballast_findings")} == {"shop", "tools"}
    # The workloads still running are all there.
    web = image_labels(by_repo(passes.deep, "web"))
    assert value(metrics, "ballast_image_compressed_bytes", **web) == cluster.size("web")
    # Counters are events: they keep what happened.
    refused = {"registry": cluster.refused_host, "error_type": "RegistryUnavailable"}
    assert value(metrics, "ballast_audit_registry_errors_total", **refused) == 1


def test_more_replicas_change_values_not_the_number_of_series(passes: Passes) -> None:
    cluster = passes.cluster
    base = exported(passes.deep)
    web = cluster.images.web
    extra = [
        make_pod(
            f"web-7d4b9c8f6-extra{n}",
            "shop",
            containers=[C("web", web.ref, web.containerd())],
            node=f"node-{'abc'[n % 3]}",
            labels={"app": "web", "pod-template-hash": "7d4b9c8f6"},
            owners=[owner("ReplicaSet", "web-7d4b9c8f6")],
        )
        for n in range(60)
    ]
    listing = parse_pod_list(pod_list([*cluster.pods(), *extra]))
    bigger = audit_pods(
        listing,
        cluster.services.lookup,
        policy=POLICY,
        layer_report_for=cluster.services.layers.cached_report,
    )
    metrics = exported(bigger)
    assert bigger.counts.pods == passes.deep.counts.pods + 60

    def series(m: AuditMetrics) -> dict[str, int]:
        return {
            family.name: len(family.samples)
            for family in m.registry.collect()
            if family.name.startswith("ballast_") and family.type in ("gauge", "info")
        }

    assert series(metrics) == series(base)
    labels = image_labels(by_repo(bigger, "web"))
    assert value(metrics, "ballast_image_pods", **labels) == 63
    shop_web = {
        "namespace": "shop",
        "kind": "Deployment",
        "name": "web",
        "digest": labels["digest"],
        "reference": web.ref,
    }
    assert value(metrics, "ballast_workload_image_pods", **shop_web) == 63
    names = {k for m in metrics.registry.collect() for s in m.samples for k in s.labels}
    assert not names & {"pod", "container", "uid", "pod_name"}


class CountingCollector(AuditCollector):
    def __init__(self) -> None:
        super().__init__()
        self.collected = 0

    def collect(self) -> Iterator[Metric]:
        self.collected += 1
        return super().collect()


def test_registering_does_no_work_and_only_the_given_registry_gets_series(
    passes: Passes,
) -> None:
    registry = CollectorRegistry()
    collector = CountingCollector()
    registry.register(collector)
    assert collector.collected == 0  # describe() named the families
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        registry.register(CountingCollector())
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        AuditMetrics(registry)  # its collector clashes with the one registered above
    collector.update(passes.deep)
    assert registry.get_sample_value("ballast_audit_pods") == passes.deep.counts.pods
    assert collector.collected == 1

    AuditMetrics(CollectorRegistry()).record_pass(passes.deep)
    global_names = {s.name for m in REGISTRY.collect() for s in m.samples}
    assert not any(name.startswith("ballast_") for name in global_names)


def test_describe_names_every_family_collect_can_build(passes: Passes) -> None:
    collector = AuditCollector(interval_s=60)
    described = {(m.name, m.type) for m in collector.describe()}
    collector.update(passes.deep)
    collected = {(m.name, m.type) for m in collector.collect()}
    assert collected == described
    assert {spec.name for spec in STATE_METRICS} == {name for name, _ in described}


def test_exposition_of_a_realistic_pass_is_promtool_clean(passes: Passes, tmp_path: Path) -> None:
    metrics = exported(passes.deep)
    metrics.record_failure("PodListError")
    text = generate_latest(metrics.registry)
    (tmp_path / "metrics.txt").write_bytes(text)
    result = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, timeout=30, check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    names = {line.split(b" ")[2] for line in text.splitlines() if line.startswith(b"# TYPE")}
    assert all(name.startswith(b"ballast_") for name in names)


def test_the_module_docstring_table_lists_every_family() -> None:
    doc = auditor.metrics.__doc__ or ""
    for spec in (*STATE_METRICS, *EVENT_METRICS):
        assert f"\n{spec.exposed_name} " in doc, spec.exposed_name


def test_an_image_shared_by_namespaces_counts_findings_in_each(passes: Passes) -> None:
    """toolbox runs in kube-system (exempt by default) and in tools: its failing size finding
    is counted where it fails, in tools only."""
    metrics = exported(passes.deep)
    toolbox = image_labels(by_repo(passes.deep, "toolbox"))
    found = [
        s
        for s in samples(metrics, "ballast_image_failed_findings")
        if s["digest"] == toolbox["digest"]
    ]
    assert [s["namespace"] for s in found] == ["tools"]


def test_rows_are_computed_once_per_pass_not_per_scrape(
    passes: Passes, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real = auditor.metrics.metric_rows

    def counting(snapshot: AuditSnapshot) -> dict[str, dict[tuple[str, ...], float]]:
        nonlocal calls
        calls += 1
        return real(snapshot)

    monkeypatch.setattr(auditor.metrics, "metric_rows", counting)
    metrics = exported(passes.deep)
    for _ in range(3):
        generate_latest(metrics.registry)
    assert calls == 1
