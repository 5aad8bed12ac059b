"""Two ``ballast webhook`` replicas share facts through a real Redis, and survive losing it.

Both replicas are the real command under gunicorn (two workers each, real TLS), started
with ``--cache redis://127.0.0.1:PORT/0`` in front of the counting registry proxy of
``tests.support``; the Redis is a real ``redis-server`` on its own loopback port, killed
and restarted by PID. What is checked is what an operator would see: the registry
queried once for an image whatever replica answers, admissions answered (200, right
decision, no extra latency) while Redis is gone, and sharing back with nothing lost
once Redis returns.
"""

from __future__ import annotations

import collections
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.redis_server import LocalRedis, start_redis
from tests.support.registry import LocalRegistry, PushedImage, push_image
from tests.support.sockets import free_port, stalled_server
from tests.webhook.conftest import BALLAST_BIN, LiveWebhook, server_context

POLICY = """\
apiVersion: ballast.dev/v1
kind: Policy
metadata: {name: redis-e2e}
spec:
  mode: enforce
  rules:
    maxCompressedSize: {limit: 1MB}
"""
BLOATED_LAYERS = [700_000, 600_000]
WORKERS = 2
BACKOFF_S = 2.0
"""TieredStore's default probe interval while Redis is down."""


def launch(workdir: Path, *, name: str, cache: str, registry_host: str) -> LiveWebhook:
    """``ballast --cache CACHE webhook …`` with its own certificate, policy and HOME."""
    from webhook.tls import write_self_signed

    workdir.mkdir(parents=True, exist_ok=True)
    pair = write_self_signed(workdir / "tls")
    policy = workdir / "policy.yaml"
    policy.write_text(POLICY)
    metrics_dir = workdir / "metrics"
    metrics_dir.mkdir(exist_ok=True)
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BALLAST_") and key != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        {
            "HOME": str(workdir),
            "BALLAST_INSECURE_REGISTRIES": registry_host,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
    )
    args = [
        str(BALLAST_BIN),
        "--cache",
        cache,
        "webhook",
        "--bind",
        f"127.0.0.1:{port}",
        "--cert",
        str(pair.cert),
        "--key",
        str(pair.key),
        "--policy",
        str(policy),
        "--workers",
        str(WORKERS),
    ]
    live = LiveWebhook(
        name=name,
        workdir=workdir,
        port=port,
        cert=pair.cert,
        key=pair.key,
        policy=policy,
        cache=workdir / "facts.db",
        metrics_dir=metrics_dir,
        log_path=workdir / "webhook.log",
        env=env,
        args=args,
    )
    return live.start()


@dataclass(frozen=True)
class Replicas:
    registry: LocalRegistry
    redis: LocalRedis
    a: LiveWebhook
    b: LiveWebhook


@pytest.fixture(scope="module")
def replicas(
    registry_session: LocalRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replicas]:
    base = tmp_path_factory.mktemp("redis-replicas")
    registry_session.ensure_running()
    with start_redis(base / "redis") as redis_server:
        started = [
            launch(
                base / name,
                name=name,
                cache=redis_server.url(),
                registry_host=registry_session.host,
            )
            for name in ("a", "b")
        ]
        try:
            for live in started:
                live.wait_ready()
            yield Replicas(registry_session, redis_server, *started)
        finally:
            for live in started:
                if live.process is not None and live.process.poll() is None:
                    live.terminate()
            for live in started:
                live.stop()


@pytest.fixture
def fleet(replicas: Replicas, registry: LocalRegistry) -> Replicas:
    """The replicas with Redis running and the registry's counts zeroed."""
    assert registry is replicas.registry
    replicas.redis.ensure_running()
    replicas.a.ensure_running()
    replicas.b.ensure_running()
    return replicas


def push_fresh(reg: LocalRegistry) -> PushedImage:
    """An image no replica has seen (a new repository), above the policy's 1 MB limit."""
    repo = f"redis-e2e/fresh-{uuid.uuid4().hex[:12]}"
    return push_image(reg, repo, "v1", layer_sizes=BLOATED_LAYERS)


def review(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "api-0",
            "namespace": "team-a",
            "operation": "CREATE",
            "userInfo": {"username": "alice@example.com"},
            "object": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "api-0"},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            "oldObject": None,
            "dryRun": False,
        },
    }


def admit(server: LiveWebhook, image: PushedImage) -> tuple[dict[str, Any], float]:
    """One admission on a new connection (so either worker may take it); (response, s)."""
    with httpx.Client(
        base_url=server.url, verify=server_context(server.cert), timeout=15.0
    ) as client:
        started = time.monotonic()
        answer = client.post(
            "/validate?timeout=5s",
            content=json.dumps(review(image.tag_ref)),
            headers={"Content-Type": "application/json"},
        )
        elapsed = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    response: dict[str, Any] = answer.json()["response"]
    return response, elapsed


def assert_denied_for_size(response: dict[str, Any], image: PushedImage) -> None:
    """The verdict from real facts (not the failure mode): denied by the size rule."""
    assert response["allowed"] is False, response
    assert "failure-mode" not in response["auditAnnotations"], response
    assert "maxCompressedSize" in response["status"]["message"]
    assert response["auditAnnotations"]["images"] == f"{image.tag_ref}@{image.digest}"


def image_requests(reg: LocalRegistry, image: PushedImage) -> collections.Counter[str]:
    """``METHOD path`` → count, for every registry request about ``image``."""
    return collections.Counter(
        f"{method} {path}" for method, path, _ in list(reg.requests) if f"/{image.repo}/" in path
    )


def wait_for(condition: Callable[[], bool], *, timeout_s: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            pytest.fail(f"{what}: not within {timeout_s}s")
        time.sleep(0.05)
    return time.monotonic() - started


def cache_log(server: LiveWebhook, phrase: str) -> int:
    """How many lines of the replica's log (all its workers) come from the shared cache
    and contain ``phrase``."""
    count = 0
    for line in server.log_path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("logger") == "ballast.redis_store" and phrase in record.get("msg", ""):
            count += 1
    return count


def test_an_image_fetched_by_one_replica_is_served_by_the_other_without_the_registry(
    fleet: Replicas,
) -> None:
    image = push_fresh(fleet.registry)
    fleet.registry.reset_counts()
    first, _ = admit(fleet.a, image)
    assert_denied_for_size(first, image)
    fetched = image_requests(fleet.registry, image)
    assert fetched, "replica a did not ask the registry"
    wait_for(
        lambda: f"ballast:v1:image:{image.digest}" in fleet.redis.keys("ballast:v1:image:*"),
        timeout_s=5,
        what="facts published to Redis",
    )
    for server in (fleet.b, fleet.b, fleet.b, fleet.b, fleet.a):
        answer, _ = admit(server, image)
        assert_denied_for_size(answer, image)
    # Exactly one fetch of each thing, by whichever worker of whichever replica came first.
    assert image_requests(fleet.registry, image) == fetched
    assert set(fetched.values()) == {1}, fetched


def test_replicas_keep_answering_while_redis_is_down_and_share_again_when_it_returns(
    fleet: Replicas,
) -> None:
    known = push_fresh(fleet.registry)
    assert_denied_for_size(admit(fleet.a, known)[0], known)
    outages_before = {s.name: cache_log(s, "unreachable") for s in (fleet.a, fleet.b)}

    fleet.redis.kill()
    during = push_fresh(fleet.registry)
    latencies: list[float] = []
    for _ in range(3):
        for server in (fleet.a, fleet.b):
            for image in (during, known):
                answer, elapsed = admit(server, image)
                assert_denied_for_size(answer, image)
                latencies.append(elapsed)
    # Connection refused costs nothing, and later requests do not even try Redis.
    assert max(latencies) < 2.0, latencies
    for server in (fleet.a, fleet.b):
        # Logged once per outage by each worker that noticed it, never per request.
        assert 1 <= cache_log(server, "unreachable") - outages_before[server.name] <= WORKERS
        with server.client(cafiles=(server.cert,)) as client:
            metrics = client.get("/metrics").text
        assert "ballast_shared_cache_up 0.0" in metrics
        assert "ballast_shared_cache_outages_total" in metrics

    fleet.redis.start()  # empty: Redis keeps nothing across the crash
    fleet.registry.reset_counts()
    # Each worker's probe notices within one backoff and re-publishes what it fetched.
    wait_for(
        lambda: all(
            cache_log(s, "unreachable") == cache_log(s, "is back") for s in (fleet.a, fleet.b)
        ),
        timeout_s=BACKOFF_S * 3,
        what="every worker back on Redis",
    )
    assert f"ballast:v1:image:{during.digest}" in fleet.redis.keys("ballast:v1:image:*")
    for server in (fleet.a, fleet.b, fleet.a, fleet.b):
        answer, _ = admit(server, during)
        assert_denied_for_size(answer, during)
    assert image_requests(fleet.registry, during) == {}  # nothing fetched in the outage was lost

    after = push_fresh(fleet.registry)
    fleet.registry.reset_counts()
    assert_denied_for_size(admit(fleet.b, after)[0], after)
    fetched = image_requests(fleet.registry, after)
    wait_for(
        lambda: f"ballast:v1:image:{after.digest}" in fleet.redis.keys("ballast:v1:image:*"),
        timeout_s=5,
        what="facts published to Redis",
    )
    for server in (fleet.a, fleet.a, fleet.a):
        assert_denied_for_size(admit(server, after)[0], after)
    assert image_requests(fleet.registry, after) == fetched  # sharing resumed


def test_a_redis_that_accepts_and_never_answers_costs_one_timeout_per_outage(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    registry.ensure_running()
    with stalled_server() as stalled:
        server = launch(
            tmp_path / "stalled",
            name="stalled",
            cache=f"redis://{stalled.host}/0",
            registry_host=registry.host,
        )
        try:
            server.wait_ready()
            images = [push_fresh(registry) for _ in range(2)]
            started = time.monotonic()
            latencies = []
            for _ in range(5):
                for image in images:
                    answer, elapsed = admit(server, image)
                    assert_denied_for_size(answer, image)
                    latencies.append(elapsed)
            window_s = time.monotonic() - started + 1.0  # + start-up (readyz probes Redis too)
            # The first lookups of each worker wait one socket timeout (200 ms); after that
            # the workers skip Redis, and only their background probe tries it, once per
            # backoff window.
            assert max(latencies) < 1.5, latencies
            assert sorted(latencies)[len(latencies) // 2] < 0.5, latencies
            assert stalled.accepted <= WORKERS * (2 + window_s / BACKOFF_S), (
                stalled.accepted,
                window_s,
            )
            assert 1 <= cache_log(server, "unreachable") <= WORKERS
        finally:
            server.stop()
