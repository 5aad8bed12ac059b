"""The auditor loop against the real registry: passes, layer facts learnt within a budget,
failed passes that keep the last good snapshot, and the HTTP endpoint."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx

from auditor.deepen import plan_layer_reads
from auditor.endpoint import make_app, serve_in_background
from auditor.model import AuditSnapshot
from auditor.runner import AuditorRunner
from auditor.schedule import Schedule
from auditor.source import FileSource
from ballast.policy import PolicySource
from ballast.services import Services
from tests.auditor.conftest import ServicesFactory
from tests.auditor.podlists import C, make_pod, owner, pod_list
from tests.support.images import make_tar_layer, push_image
from tests.support.registry import LocalRegistry


class Recorder:
    def __init__(self) -> None:
        self.passes: list[AuditSnapshot] = []
        self.failures: list[str] = []

    def record_pass(self, snapshot: AuditSnapshot) -> None:
        self.passes.append(snapshot)

    def record_failure(self, error_type: str) -> None:
        self.failures.append(error_type)


def push_real_images(registry: LocalRegistry, repo: str) -> list[tuple[str, str, int]]:
    """Two images with real tar layers sharing a base: (tag ref, digest, compressed size)."""
    base = make_tar_layer(
        {"etc/os-release": b"ID=debian\n", "usr/lib/libbig.so": os.urandom(40_000)}
    )
    out = []
    for name in ("api", "worker"):
        app = make_tar_layer(
            {
                f"app/{name}.bin": os.urandom(20_000),
                "var/cache/apt/archives/x.deb": os.urandom(10_000),
            }
        )
        pushed = push_image(registry, f"{repo}/{name}", "1", layers=[base, app])
        out.append((pushed.tag_ref, pushed.digest, pushed.compressed_size))
    return out


def write_pods(path: Path, images: list[tuple[str, str, int]]) -> Path:
    pods = [
        make_pod(
            f"{ref.split('/')[-1].split(':')[0]}-abc12-x{i}",
            "shop",
            containers=[C("main", ref, f"{ref.split(':')[0]}@{digest}")],
            node=f"node-{i}",
            owners=[owner("ReplicaSet", "rs-abc12")],
            labels={"pod-template-hash": "abc12"},
        )
        for i, (ref, digest, _) in enumerate(images)
    ]
    path.write_text(json.dumps(pod_list(pods)))
    return path


def make_runner(
    services: Services, pods: Path, recorder: Recorder, *, budget: int
) -> AuditorRunner:
    return AuditorRunner(
        make_source=lambda: FileSource(pods),
        services=services,
        policy=PolicySource(None),
        observer=recorder,
        schedule=Schedule.parse("1h"),
        layer_budget_bytes=budget,
    )


def test_layer_facts_are_learnt_after_a_pass_and_used_by_the_next(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory, tmp_path: Path
) -> None:
    images = push_real_images(registry, unique_repo)
    services = make_services(registry)
    recorder = Recorder()
    runner = make_runner(
        services, write_pods(tmp_path / "pods.json", images), recorder, budget=10_000_000
    )
    first = runner.run_pass(deepen_in_background=False)
    assert first is not None
    assert all(record.layer_report is None for record in first.images)
    registry.reset_counts()
    second = runner.run_pass(deepen_in_background=False)
    assert second is not None
    assert all(record.layer_report is not None for record in second.images)
    assert registry.requests == []  # facts and layer facts all cached
    categories = {
        f.finding.category.value for f in second.findings if f.finding.category is not None
    }
    assert "package-cache" in categories


def test_the_layer_budget_is_respected_and_shared_layers_are_free(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory, tmp_path: Path
) -> None:
    images = push_real_images(registry, unique_repo)
    services = make_services(registry)
    runner = make_runner(services, write_pods(tmp_path / "pods.json", images), Recorder(), budget=0)
    snapshot = runner.run_pass(deepen_in_background=False)
    assert snapshot is not None
    biggest = max(size for _, _, size in images)
    plan = plan_layer_reads(snapshot, services.layers, budget_bytes=biggest)
    assert len(plan.images) == 1 and plan.skipped_over_budget == 1
    assert plan.bytes_to_read <= biggest
    everything = plan_layer_reads(snapshot, services.layers, budget_bytes=10**9)
    # the shared base layer is counted once per image until it is read
    assert everything.bytes_to_read < sum(size for _, _, size in images) + 1


def test_a_failed_pass_is_counted_and_the_last_good_snapshot_kept(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory, tmp_path: Path
) -> None:
    images = push_real_images(registry, unique_repo)
    pods = write_pods(tmp_path / "pods.json", images)
    recorder = Recorder()
    runner = make_runner(make_services(registry), pods, recorder, budget=0)
    good = runner.run_pass()
    pods.write_text('{"kind": "ConfigMap"}')
    assert runner.run_pass() is None
    assert recorder.failures == ["PodListError"]
    assert runner.state.last_snapshot is good
    assert "PodList" in (runner.state.last_error or "")


def test_endpoint_serves_metrics_health_and_readiness(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory, tmp_path: Path
) -> None:
    from prometheus_client import CollectorRegistry, Counter

    images = push_real_images(registry, unique_repo)
    runner = make_runner(
        make_services(registry), write_pods(tmp_path / "pods.json", images), Recorder(), budget=0
    )
    metrics = CollectorRegistry()
    Counter("ballast_test_events", "a test counter", registry=metrics).inc()
    server = serve_in_background("127.0.0.1:0", make_app(metrics, runner.state, stale_after_s=600))
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        assert httpx.get(f"{base}/healthz").status_code == 200
        not_ready = httpx.get(f"{base}/readyz")
        assert not_ready.status_code == 503 and "no audit pass" in not_ready.json()["reason"]
        runner.run_pass()
        assert httpx.get(f"{base}/readyz").status_code == 200
        assert "ballast_test_events_total 1.0" in httpx.get(f"{base}/metrics").text
        assert httpx.get(f"{base}/nope").status_code == 404
    finally:
        server.shutdown()
        server.server_close()
