"""`ballast audit` and `ballast auditor` as a user runs them, on a pods file and the real
registry: reports to stdout and to a directory, and the loop with its metrics endpoint."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from ballast.cli import cli
from tests.auditor.podlists import C, make_pod, owner, pod_list
from tests.support.images import push_image
from tests.support.registry import LocalRegistry


def cluster_file(registry: LocalRegistry, repo: str, path: Path) -> tuple[Path, list[str]]:
    """A `kubectl get pods -A -o json` document running two pushed images on two nodes."""
    images = [
        push_image(registry, f"{repo}/{name}", "1", layer_sizes=[size])
        for name, size in (("api", 300_000), ("worker", 50_000))
    ]
    pods = [
        make_pod(
            f"{image.repo.split('/')[-1]}-7d4b9-{i}",
            "shop",
            containers=[C("main", image.tag_ref, f"{image.tag_ref.split(':')[0]}@{image.digest}")],
            node=f"node-{i % 2}",
            owners=[owner("ReplicaSet", f"{image.repo.split('/')[-1]}-7d4b9")],
            labels={"pod-template-hash": "7d4b9"},
        )
        for i, image in enumerate([images[0], images[0], images[1]])
    ]
    path.write_text(json.dumps(pod_list(pods)))
    return path, [image.digest for image in images]


def env_for(registry: LocalRegistry, tmp_path: Path) -> dict[str, str]:
    return {
        "BALLAST_INSECURE_REGISTRIES": registry.host,
        "HOME": str(tmp_path),
        "BALLAST_CACHE_PATH": str(tmp_path / "facts.db"),
    }


def test_audit_prints_a_json_report_for_a_pods_file(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    pods, digests = cluster_file(registry, unique_repo, tmp_path / "pods.json")
    result = CliRunner().invoke(
        cli,
        ["audit", "--pods", str(pods), "--format", "json", "--layer-budget", "0"],
        env=env_for(registry, tmp_path),
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["schemaVersion"] >= 1
    assert report["summary"]["pods"] == 3 and report["summary"]["uniqueImages"] == 2
    assert {image["digest"] for image in report["images"]} == set(digests)


def test_audit_reads_pods_from_stdin_and_prints_markdown_by_default(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    pods, _ = cluster_file(registry, unique_repo, tmp_path / "pods.json")
    result = CliRunner().invoke(
        cli,
        ["audit", "--pods", "-", "--layer-budget", "0"],
        input=pods.read_text(),
        env=env_for(registry, tmp_path),
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("#") and "shop" in result.stdout


def test_audit_writes_every_format_with_timestamped_names(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    pods, _ = cluster_file(registry, unique_repo, tmp_path / "pods.json")
    out = tmp_path / "reports"
    result = CliRunner().invoke(
        cli,
        ["audit", "--pods", str(pods), "--output", str(out), "--layer-budget", "0"],
        env=env_for(registry, tmp_path),
    )
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    for suffix in (".json", ".md", ".html"):
        assert any(n.startswith("ballast-audit-") and n.endswith(suffix) for n in names), names
    assert any(n.endswith(".csv") for n in names)


def test_audit_of_a_file_that_is_not_a_pod_list_is_a_clear_error(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    bad = tmp_path / "pods.json"
    bad.write_text('{"kind": "ConfigMap", "data": {}}')
    result = CliRunner().invoke(cli, ["audit", "--pods", str(bad)], env=env_for(registry, tmp_path))
    assert result.exit_code != 0 and result.stdout == ""
    assert "PodList" in result.stderr or "pod list" in result.stderr.lower()
    assert "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_auditor_loop_serves_metrics_and_stops_on_sigterm(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    pods, digests = cluster_file(registry, unique_repo, tmp_path / "pods.json")
    port = free_port()
    env = {**os.environ, **env_for(registry, tmp_path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ballast",
            "auditor",
            "--pods",
            str(pods),
            "--schedule",
            "1s",
            "--metrics-bind",
            f"127.0.0.1:{port}",
            "--output",
            str(tmp_path / "reports"),
            "--layer-budget",
            "0",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise AssertionError("auditor never became ready")
        metrics = httpx.get(f"{base}/metrics").text
        for digest in digests:
            assert f'ballast_image_compressed_bytes{{digest="{digest}"' in metrics
        assert "ballast_audit_last_success_timestamp_seconds" in metrics
        # the file is read again on every pass: a pod that goes away leaves no series
        document = json.loads(pods.read_text())
        document["items"] = document["items"][:2]
        pods.write_text(json.dumps(document))
        deadline = time.monotonic() + 10
        while digests[1] in httpx.get(f"{base}/metrics").text:
            assert time.monotonic() < deadline, "stale series for a gone image"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err.decode()
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    assert any("audit pass" in line["msg"] for line in lines)


def test_audit_publishes_reports_in_a_configmap_via_a_local_api_shaped_server(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    from tests.auditor.apiserver import local_api_server

    pods, _ = cluster_file(registry, unique_repo, tmp_path / "pods.json")
    with local_api_server() as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", elsewhere="127.0.0.1:9")
        args = [
            "audit",
            "--pods",
            str(pods),
            "--layer-budget",
            "0",
            "--kubeconfig",
            str(kubeconfig),
            "--configmap",
            "ballast-report",
            "--format",
            "json",
        ]
        for _ in range(2):  # created, then replaced
            result = CliRunner().invoke(cli, args, env=env_for(registry, tmp_path))
            assert result.exit_code == 0, result.stderr
        stored = server.state.configmaps[("ballast", "ballast-report")]
    assert stored["kind"] == "ConfigMap"
    keys = set(stored["data"])
    assert any(k.endswith(".json") for k in keys) and any(k.endswith(".md") for k in keys)
    assert [m for _, _, m in server.state.requests if m in ("PUT", "POST")] == [
        "PUT",
        "POST",
        "PUT",
    ]
