"""AdmissionReview round trips over real TLS against ``ballast webhook`` under gunicorn.

Every test talks HTTPS to the real command (``.venv/bin/ballast webhook``, two gthread
workers) with a client that verifies the server certificate, and the webhook talks to a
real registry (CNCF distribution behind the counting proxy of ``tests.support``) that holds
a bloated image (2.7 MB compressed, above the policies' 2 MB limit) and a slim one.

Servers, started together once per module (see ``fleet``):

- ``enforce``: ``mode: enforce``, ``failureMode`` left at its default (warn);
- ``lenient``: ``mode: warn`` and ``failureMode: deny``;
- ``mutable``: like ``enforce``; its certificate and policy files get rewritten, and the
  graceful shutdown test stops it.

A test that stops a server (the shutdown tests, last in the file) leaves it to be started
again by the next test that asks ``fleet`` for it.

The webhooks remember registry errors for 0.5 s instead of the default 30 s
(``BALLAST_CACHE__NEGATIVE_TTL_S``) so that a recovery is visible inside a test.
"""

from __future__ import annotations

import concurrent.futures
import copy
import json
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from ballast.units import format_bytes
from tests.support.registry import LocalRegistry, PushedImage, push_image
from tests.webhook.conftest import BALLAST_BIN, LiveWebhook, WebhookLauncher, server_context
from webhook.tls import write_self_signed

LIMIT_BYTES = 2_000_000
BLOATED_LAYERS = [1_500_000, 1_200_000]
SLIM_LAYERS = [150_000]
MAX_WARNING_CHARS = 120
JSON_TYPE = {"Content-Type": "application/json"}

ENFORCE_POLICY = """\
apiVersion: ballast.dev/v1
kind: Policy
metadata: {name: e2e-enforce}
spec:
  mode: enforce
  rules:
    maxCompressedSize: {limit: 2MB}
"""
LENIENT_POLICY = """\
apiVersion: ballast.dev/v1
kind: Policy
metadata: {name: e2e-lenient}
spec:
  mode: warn
  failureMode: deny
  rules:
    maxCompressedSize: {limit: 2MB}
"""
RAISED_POLICY = """\
apiVersion: ballast.dev/v1
kind: Policy
metadata: {name: e2e-raised}
spec:
  mode: enforce
  rules:
    maxCompressedSize: {limit: 5000000}
"""
BROKEN_POLICY = """\
apiVersion: ballast.dev/v1
kind: Policy
spec:
  mode: deny
  failureMode: maybe
  rules:
    maxCompressedSize: {limit: 40OMB}
    maxLayerCount: {limit: -1}
    maxLayerSise: {limit: 1MB}
"""
BROKEN_POLICY_PROBLEMS = (
    "spec.mode: 'deny' is not one of enforce, warn, audit (use enforce to deny)",
    "spec.failureMode: 'maybe' is not one of allow, warn, deny",
    "spec.rules.maxCompressedSize.limit: '40OMB' is not a size",
    "spec.rules.maxLayerCount.limit: -1 is below the minimum 0",
    "spec.rules.maxLayerSise: unknown field (did you mean maxLayerSize?)",
)
SERVER_ENV = {"BALLAST_CACHE__NEGATIVE_TTL_S": "0.5"}


# -- the servers and the images ------------------------------------------------------------


@dataclass(frozen=True)
class Fleet:
    """The registry, its two images, and the webhooks (restarted if a test stopped one)."""

    registry: LocalRegistry
    slim: PushedImage
    bloated: PushedImage
    servers: dict[str, LiveWebhook]

    @property
    def enforce(self) -> LiveWebhook:
        return self.servers["enforce"].ensure_running()

    @property
    def lenient(self) -> LiveWebhook:
        return self.servers["lenient"].ensure_running()

    @property
    def mutable(self) -> LiveWebhook:
        return self.servers["mutable"].ensure_running()


@pytest.fixture(scope="module")
def fleet(registry_session: LocalRegistry, webhook_launcher: WebhookLauncher) -> Iterator[Fleet]:
    """Push the two images and start the webhooks at once (they boot in parallel)."""
    registry_session.ensure_running()
    registry_session.reset()
    policies = {"enforce": ENFORCE_POLICY, "lenient": LENIENT_POLICY, "mutable": ENFORCE_POLICY}
    servers = {
        name: webhook_launcher(
            name,
            policy_text=policy,
            insecure_registries=registry_session.host,
            extra_env=SERVER_ENV,
        )
        for name, policy in policies.items()
    }
    slim = push_image(
        registry_session,
        "webhook-e2e/slim",
        "v1",
        layer_sizes=SLIM_LAYERS,
        history=[{"created_by": "COPY app /app # buildkit"}],
    )
    bloated = push_image(
        registry_session,
        "webhook-e2e/bloated",
        "v1",
        layer_sizes=BLOATED_LAYERS,
        history=[
            {"created_by": "RUN apt-get update && apt-get install -y build-essential"},
            {"created_by": "COPY model.bin /models/ # buildkit"},
        ],
    )
    assert bloated.compressed_size > LIMIT_BYTES > slim.compressed_size
    for server in servers.values():
        server.wait_ready()
    yield Fleet(registry=registry_session, slim=slim, bloated=bloated, servers=servers)


@pytest.fixture
def reg(fleet: Fleet, registry: LocalRegistry) -> LocalRegistry:
    """The fleet's registry, running, with zeroed counts and no misbehaviour."""
    assert registry is fleet.registry
    return registry


def push_fresh(reg: LocalRegistry, *, bloated: bool = True) -> PushedImage:
    """An image no webhook has seen (a new repository each call)."""
    repo = f"webhook-e2e/fresh-{uuid.uuid4().hex[:12]}"
    return push_image(reg, repo, "v1", layer_sizes=BLOATED_LAYERS if bloated else SLIM_LAYERS)


# -- AdmissionReview bodies --------------------------------------------------------------------


@dataclass(frozen=True)
class KindCase:
    """Where a kind keeps its pod template, and how the API server names it."""

    label: str
    group: str
    version: str
    kind: str
    resource: str
    wrap: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
    """(pod metadata, pod spec) → the object."""
    operation: str = "CREATE"
    sub_resource: str | None = None


def _pod(meta: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def _templated(api_version: str, kind: str) -> Callable[..., dict[str, Any]]:
    def wrap(meta: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "selector": {"matchLabels": meta.get("labels", {})},
            "template": {"metadata": meta, "spec": spec},
        }
        if kind == "ReplicationController":
            body["selector"] = meta.get("labels", {})
        if kind == "Job":
            body = {"template": {"metadata": meta, "spec": {**spec, "restartPolicy": "Never"}}}
        return {
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {"name": "api", "labels": {"app": "api"}},
            "spec": body,
        }

    return wrap


def _cronjob(meta: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    template = {"metadata": meta, "spec": {**spec, "restartPolicy": "OnFailure"}}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "api"},
        "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}},
    }


POD = KindCase("Pod CREATE", "", "v1", "Pod", "pods", _pod)
POD_UPDATE = KindCase("Pod UPDATE", "", "v1", "Pod", "pods", _pod, operation="UPDATE")
EPHEMERAL = KindCase(
    "pods/ephemeralcontainers",
    "",
    "v1",
    "Pod",
    "pods",
    _pod,
    operation="UPDATE",
    sub_resource="ephemeralcontainers",
)
DEPLOYMENT = KindCase(
    "Deployment", "apps", "v1", "Deployment", "deployments", _templated("apps/v1", "Deployment")
)
CONTROLLERS = [
    DEPLOYMENT,
    KindCase(
        "StatefulSet",
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        _templated("apps/v1", "StatefulSet"),
    ),
    KindCase(
        "DaemonSet", "apps", "v1", "DaemonSet", "daemonsets", _templated("apps/v1", "DaemonSet")
    ),
    KindCase(
        "ReplicaSet", "apps", "v1", "ReplicaSet", "replicasets", _templated("apps/v1", "ReplicaSet")
    ),
    KindCase(
        "ReplicationController",
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        _templated("v1", "ReplicationController"),
    ),
    KindCase("Job", "batch", "v1", "Job", "jobs", _templated("batch/v1", "Job")),
    KindCase("CronJob", "batch", "v1", "CronJob", "cronjobs", _cronjob),
]
ALL_KINDS = [POD, POD_UPDATE, EPHEMERAL, *CONTROLLERS]


def review(
    case: KindCase,
    image: str,
    *,
    other: str,
    namespace: str = "team-a",
    annotations: Mapping[str, str] | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """An AdmissionReview v1 whose only *changed* image is ``image``.

    ``other`` is an image that the object also holds but that must not be judged: on
    UPDATE it was already in ``oldObject`` (in the same container), for the ephemeral
    containers subresource it is the pod's regular container. On CREATE it is unused.
    """
    meta: dict[str, Any] = {"labels": {"app": "api"}}
    if annotations:
        meta["annotations"] = dict(annotations)
    old_object: dict[str, Any] | None = None
    if case.sub_resource == "ephemeralcontainers":
        old_spec = {"containers": [{"name": "app", "image": other}]}
        spec = {
            **old_spec,
            "ephemeralContainers": [{"name": "debugger", "image": image, "stdin": True}],
        }
        old_object = case.wrap({**meta, "name": "api-0"}, old_spec)
    elif case.operation == "UPDATE":
        spec = {
            "containers": [
                {"name": "app", "image": other},
                {"name": "sidecar", "image": image},
            ]
        }
        old_object = case.wrap({**meta, "name": "api-0"}, {"containers": [spec["containers"][0]]})
    else:
        spec = {
            "initContainers": [{"name": "init", "image": image}],
            "containers": [{"name": "app", "image": image}],
        }
    pod_meta = {**meta, "name": "api-0"} if case.kind == "Pod" else meta
    obj = case.wrap(pod_meta, spec)
    request: dict[str, Any] = {
        "uid": str(uuid.uuid4()),
        "kind": {"group": case.group, "version": case.version, "kind": case.kind},
        "resource": {"group": case.group, "version": case.version, "resource": case.resource},
        "requestKind": {"group": case.group, "version": case.version, "kind": case.kind},
        "name": "api-0" if case.kind == "Pod" else "api",
        "namespace": namespace,
        "operation": case.operation,
        "userInfo": {"username": "alice@example.com", "groups": ["system:authenticated"]},
        "object": obj,
        "oldObject": old_object,
        "dryRun": dry_run,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
    }
    if case.sub_resource:
        request["subResource"] = case.sub_resource
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def post(
    client: httpx.Client, body: Mapping[str, Any], *, timeout: str | None = None
) -> dict[str, Any]:
    """POST /validate; checks the envelope and the uid, returns ``response``."""
    url = "/validate" + (f"?timeout={timeout}" if timeout else "")
    answer = client.post(url, content=json.dumps(body), headers=JSON_TYPE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    document = answer.json()
    assert document["apiVersion"] == "admission.k8s.io/v1"
    assert document["kind"] == "AdmissionReview"
    response: dict[str, Any] = document["response"]
    assert response["uid"] == body["request"]["uid"]
    assert isinstance(response.get("auditAnnotations"), dict), response
    assert response["auditAnnotations"]["decision"]
    for warning in response.get("warnings", []):
        assert len(warning) < MAX_WARNING_CHARS, warning
    return response


def post_together(
    *calls: tuple[httpx.Client, Mapping[str, Any], str | None],
) -> list[tuple[dict[str, Any], float]]:
    """Several :func:`post` calls at once; each answer with its own latency in seconds."""

    def timed(call: tuple[httpx.Client, Mapping[str, Any], str | None]) -> tuple[Any, float]:
        started = time.monotonic()
        answer = post(call[0], call[1], timeout=call[2])
        return answer, time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(timed, calls))


# -- metrics -----------------------------------------------------------------------------------


def metric_value(text: str, sample: str, labels: Mapping[str, str] | None = None) -> float:
    """Sum of the samples called ``sample`` whose labels include ``labels``."""
    wanted = dict(labels or {})
    total = 0.0
    for family in text_string_to_metric_families(text):
        for item in family.samples:
            if item.name == sample and wanted.items() <= item.labels.items():
                total += item.value
    return total


def scrape(client: httpx.Client) -> str:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


def per_worker(metrics_dir: Path, sample: str, labels: Mapping[str, str]) -> dict[int, float]:
    """The value of a counter sample in each worker's own multiprocess file."""
    values: dict[int, float] = {}
    for path in sorted(metrics_dir.glob("counter_*.db")):
        pid = int(path.stem.split("_")[1])
        with tempfile.TemporaryDirectory() as alone:
            shutil.copy(path, Path(alone) / path.name)
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=alone)  # type: ignore[no-untyped-call]
            values[pid] = registry.get_sample_value(sample, dict(labels)) or 0.0
    return values


def wait_for(condition: Callable[[], bool], *, timeout_s: float, what: str) -> float:
    """Poll ``condition`` every 50 ms; returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            pytest.fail(f"{what}: not within {timeout_s}s")
        time.sleep(0.05)
    return time.monotonic() - started


# -- verdicts for every kind -------------------------------------------------------------------


@pytest.mark.parametrize("case", ALL_KINDS, ids=lambda c: c.label)
def test_slim_image_is_allowed_without_warnings(fleet: Fleet, case: KindCase) -> None:
    body = review(case, fleet.slim.tag_ref, other=fleet.bloated.tag_ref)
    response = post(fleet.enforce.client(), body)
    assert response["allowed"] is True
    assert "status" not in response
    assert "warnings" not in response
    annotations = response["auditAnnotations"]
    assert annotations["decision"] == "allow"
    # Only the changed image was judged: on UPDATE the bloated one in oldObject is not.
    assert annotations["images"] == f"{fleet.slim.tag_ref}@{fleet.slim.digest}"


@pytest.mark.parametrize("case", ALL_KINDS, ids=lambda c: c.label)
def test_bloated_image_is_denied_with_rule_sizes_and_fix(fleet: Fleet, case: KindCase) -> None:
    body = review(case, fleet.bloated.tag_ref, other=fleet.slim.tag_ref)
    response = post(fleet.enforce.client(), body)
    assert response["allowed"] is False
    status = response["status"]
    assert status["code"] == 403
    message = status["message"]
    measured = format_bytes(fleet.bloated.compressed_size)
    assert f"- {fleet.bloated.tag_ref} ({fleet.bloated.digest[:19]})" in message
    assert f"maxCompressedSize {measured} > {format_bytes(LIMIT_BYTES)} (compressed)" in message
    assert "layer 0 (1.5 MB): RUN apt-get update && apt-get install -y build-essential" in message
    assert "fix: slim the biggest layer" in message
    assert "ballast.dev/exception" in message
    assert fleet.slim.tag_ref not in message  # the unchanged / regular image is not judged
    annotations = response["auditAnnotations"]
    assert annotations["decision"] == "deny"
    assert annotations["images"] == f"{fleet.bloated.tag_ref}@{fleet.bloated.digest}"


@pytest.mark.parametrize("case", ALL_KINDS, ids=lambda c: c.label)
def test_warn_mode_allows_bloated_image_with_short_warnings(fleet: Fleet, case: KindCase) -> None:
    body = review(case, fleet.bloated.tag_ref, other=fleet.slim.tag_ref)
    response = post(fleet.lenient.client(), body)
    assert response["allowed"] is True
    assert "status" not in response
    measured = format_bytes(fleet.bloated.compressed_size)
    assert response["warnings"] == [
        f"maxCompressedSize {measured} > {format_bytes(LIMIT_BYTES)}; "
        "slim the biggest layer: slim/distroless base, multi-stage build, clean caches"
    ]
    assert response["auditAnnotations"]["decision"] == "warn"


def test_decision_log_line_does_not_fail_the_admission(fleet: Fleet) -> None:
    """The webhook logs one JSON line per decision; writing it must not break the decision."""
    response = post(fleet.enforce.client(), review(POD, fleet.bloated.tag_ref, other=""))
    log = fleet.enforce.log_tail(400)
    assert "Attempt to overwrite 'name' in LogRecord" not in log
    assert response["auditAnnotations"]["decision"] == "deny"
    assert response["allowed"] is False


def test_update_judges_only_images_that_changed(fleet: Fleet) -> None:
    """A bloated image already running is left alone; moving it between containers too."""
    client = fleet.enforce.client()
    bloated, slim = fleet.bloated.tag_ref, fleet.slim.tag_ref
    body = review(POD_UPDATE, slim, other=bloated)
    request = body["request"]
    # Swap the containers: the same two images, in other places.
    request["object"]["spec"]["containers"] = [
        {"name": "app", "image": slim},
        {"name": "sidecar", "image": bloated},
    ]
    request["oldObject"]["spec"]["containers"] = [
        {"name": "app", "image": bloated},
        {"name": "sidecar", "image": slim},
    ]
    response = post(client, body)
    assert response["allowed"] is True
    assert response["auditAnnotations"]["decision"].startswith("skip")
    # Only replicas changed on a Deployment: nothing new to judge.
    deployment = review(DEPLOYMENT, bloated, other=slim)
    deployment["request"]["operation"] = "UPDATE"
    deployment["request"]["oldObject"] = copy.deepcopy(deployment["request"]["object"])
    deployment["request"]["object"]["spec"]["replicas"] = 5
    response = post(client, deployment)
    assert response["allowed"] is True
    assert "status" not in response


# -- exceptions and dry runs ------------------------------------------------------------------


def exception_annotation(**fields: Any) -> dict[str, str]:
    return {"ballast.dev/exception": json.dumps(fields)}


VALID_EXCEPTION = {
    "rules": ["maxCompressedSize"],
    "justification": "model weights are baked in until PLAT-142 lands",
    "expires": "2099-12-31",
}


def test_valid_exception_allows_and_is_recorded(fleet: Fleet) -> None:
    client = fleet.enforce.client()
    namespace = "exc-valid"
    labels = {"rule": "maxCompressedSize", "namespace": namespace}
    before = metric_value(scrape(client), "ballast_exceptions_honoured_total", labels)
    body = review(
        DEPLOYMENT,
        fleet.bloated.tag_ref,
        other=fleet.slim.tag_ref,
        namespace=namespace,
        annotations=exception_annotation(**VALID_EXCEPTION),
    )
    response = post(client, body)
    assert response["allowed"] is True
    assert "warnings" not in response  # expiry far away: nothing to say
    annotations = response["auditAnnotations"]
    assert annotations["decision"] == "allow"
    assert annotations["exceptions"] == (
        f"{fleet.bloated.tag_ref}:maxCompressedSize:{VALID_EXCEPTION['justification']}"
    )
    after = metric_value(scrape(client), "ballast_exceptions_honoured_total", labels)
    assert after == before + 1


def test_exception_with_raised_limit_allows_only_up_to_that_limit(fleet: Fleet) -> None:
    client = fleet.enforce.client()
    raised = {**VALID_EXCEPTION, "limit": "3MB"}
    allowed = post(
        client,
        review(
            POD,
            fleet.bloated.tag_ref,
            other=fleet.slim.tag_ref,
            annotations=exception_annotation(**raised),
        ),
    )
    assert allowed["allowed"] is True
    assert "maxCompressedSize" in allowed["auditAnnotations"]["exceptions"]
    too_low = {**VALID_EXCEPTION, "limit": "2.5MB"}
    denied = post(
        client,
        review(
            POD,
            fleet.bloated.tag_ref,
            other=fleet.slim.tag_ref,
            annotations=exception_annotation(**too_low),
        ),
    )
    assert denied["allowed"] is False
    assert "> 2.5 MB" in denied["status"]["message"]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        pytest.param(
            {**VALID_EXCEPTION, "expires": "2020-01-31"},
            "ballast.dev/exception ignored: exception #1 expired on 2020-01-31",
            id="expired",
        ),
        pytest.param(
            {"rules": ["maxCompressedSize"], "expires": "2099-12-31"},
            "ballast.dev/exception ignored: exception #1 has no justification; "
            "say why it is needed",
            id="unjustified",
        ),
        pytest.param(
            {**VALID_EXCEPTION, "justification": "   "},
            "ballast.dev/exception ignored: exception #1 has no justification; "
            "say why it is needed",
            id="blank-justification",
        ),
    ],
)
def test_invalid_exception_is_ignored_with_a_warning_saying_why(
    fleet: Fleet, fields: dict[str, Any], reason: str
) -> None:
    client = fleet.enforce.client()
    namespace = "exc-ignored"
    labels = {"namespace": namespace}
    before = metric_value(scrape(client), "ballast_exceptions_honoured_total", labels)
    body = review(
        DEPLOYMENT,
        fleet.bloated.tag_ref,
        other=fleet.slim.tag_ref,
        namespace=namespace,
        annotations=exception_annotation(**fields),
    )
    response = post(client, body)
    assert response["allowed"] is False
    assert response["warnings"] == [reason]
    assert "exceptions" not in response["auditAnnotations"]
    assert metric_value(scrape(client), "ballast_exceptions_honoured_total", labels) == before


def test_dry_run_is_judged_but_records_no_exception(fleet: Fleet) -> None:
    client = fleet.enforce.client()
    namespace = "exc-dry-run"
    denied = post(
        client,
        review(
            DEPLOYMENT,
            fleet.bloated.tag_ref,
            other=fleet.slim.tag_ref,
            namespace=namespace,
            dry_run=True,
        ),
    )
    assert denied["allowed"] is False  # kubectl apply --dry-run=server sees the real verdict
    assert "maxCompressedSize" in denied["status"]["message"]
    allowed = post(
        client,
        review(
            DEPLOYMENT,
            fleet.bloated.tag_ref,
            other=fleet.slim.tag_ref,
            namespace=namespace,
            annotations=exception_annotation(**VALID_EXCEPTION),
            dry_run=True,
        ),
    )
    assert allowed["allowed"] is True
    assert "maxCompressedSize" in allowed["auditAnnotations"]["exceptions"]
    text = scrape(client)
    assert metric_value(text, "ballast_exceptions_honoured_total", {"namespace": namespace}) == 0


# -- registry down or slow -------------------------------------------------------------------


def test_registry_down_applies_failure_mode_then_recovers(fleet: Fleet, reg: LocalRegistry) -> None:
    fresh = push_fresh(reg)
    enforce, lenient = fleet.enforce.client(), fleet.lenient.client()
    reg.crash()
    try:
        (warned, warned_s), (denied, denied_s) = post_together(
            (enforce, review(POD, fresh.tag_ref, other=""), "5s"),
            (lenient, review(POD, fresh.tag_ref, other=""), "5s"),
        )
    finally:
        reg.restart()
    failed_at = time.monotonic()
    assert max(warned_s, denied_s) < 4.0  # well within the 5 s deadline
    assert warned["allowed"] is True
    assert warned["auditAnnotations"]["decision"] == "warn"
    assert "failure-mode" in warned["auditAnnotations"]
    (warning,) = warned["warnings"]
    assert warning.startswith(f"{fresh.tag_ref}: not checked (registry ")
    assert denied["allowed"] is False
    message = denied["status"]["message"]
    assert f"- {fresh.tag_ref}" in message
    assert "facts not available in time (registry" in message
    assert "failureMode deny" in message
    assert "fix: retry in a moment" in message
    assert reg.count("GET", f"/v2/{fresh.repo}/manifests/") >= 2  # both webhooks tried
    # Registry errors are remembered for BALLAST_CACHE__NEGATIVE_TTL_S (0.5 s here).
    time.sleep(max(0.0, 0.6 - (time.monotonic() - failed_at)))
    judged = post(enforce, review(POD, fresh.tag_ref, other=""), timeout="5s")
    assert judged["allowed"] is False
    assert "maxCompressedSize" in judged["status"]["message"]
    assert "warnings" not in judged


def test_slow_registry_answers_before_the_deadline_then_serves_from_cache(
    fleet: Fleet, reg: LocalRegistry
) -> None:
    fresh = push_fresh(reg)
    enforce, lenient = fleet.enforce.client(), fleet.lenient.client()
    reg.stall_paths = {"/manifests/"}
    (warned, warned_s), (denied, denied_s) = post_together(
        (enforce, review(DEPLOYMENT, fresh.tag_ref, other=""), "2s"),
        (lenient, review(DEPLOYMENT, fresh.tag_ref, other=""), "2s"),
    )
    # The deadline is 2 s; ballast keeps 0.5 s + 20 % back, so it answers after ~1.1 s.
    assert 0.8 < warned_s < 1.9, warned_s
    assert 0.8 < denied_s < 1.9, denied_s
    assert warned["allowed"] is True
    (warning,) = warned["warnings"]
    assert warning.startswith(
        f"{fresh.tag_ref}: not checked (facts not fetched before the deadline (still fetching)"
    )
    assert denied["allowed"] is False
    message = denied["status"]["message"]
    assert "facts not available in time (facts not fetched before the deadline" in message
    # Release the stalled requests: the background lookups retry and fill the cache.
    reg.reset()
    config_path = f"/v2/{fresh.repo}/blobs/{fresh.config_digest}"
    wait_for(
        lambda: reg.count("GET", config_path) >= 2,
        timeout_s=5,
        what="background lookups fetching the config",
    )
    time.sleep(0.3)  # the lookup writes the cache right after reading the config
    seen = len(reg.requests)
    judged = post(enforce, review(DEPLOYMENT, fresh.tag_ref, other=""), timeout="2s")
    warned_again = post(lenient, review(DEPLOYMENT, fresh.tag_ref, other=""), timeout="2s")
    assert len(reg.requests) == seen, reg.requests[seen:]  # answered from the cache
    assert judged["allowed"] is False
    assert "maxCompressedSize" in judged["status"]["message"]
    assert warned_again["allowed"] is True
    assert warned_again["warnings"][0].startswith("maxCompressedSize ")


# -- bad input ------------------------------------------------------------------------------


def _valid_body(fleet: Fleet) -> dict[str, Any]:
    return review(POD, fleet.slim.tag_ref, other="")


BAD_INPUTS: list[tuple[str, Callable[[dict[str, Any]], tuple[bytes, dict[str, str]]], int, str]] = [
    ("not-json", lambda ok: (b"{this is not json", JSON_TYPE), 400, "body is not valid JSON"),
    ("empty", lambda ok: (b"", JSON_TYPE), 400, "body is empty"),
    (
        "not-utf8",
        lambda ok: (b'{"a": "\xff\xfe"}', JSON_TYPE),
        400,
        "body is not UTF-8",
    ),
    (
        "text-plain",
        lambda ok: (json.dumps(ok).encode(), {"Content-Type": "text/plain"}),
        415,
        "is not application/json",
    ),
    (
        "no-content-type",
        lambda ok: (json.dumps(ok).encode(), {}),
        415,
        "no Content-Type",
    ),
    (
        "v1beta1",
        lambda ok: (
            json.dumps({**ok, "apiVersion": "admission.k8s.io/v1beta1"}).encode(),
            JSON_TYPE,
        ),
        400,
        "set admissionReviewVersions: [v1]",
    ),
    (
        "missing-uid",
        lambda ok: (
            json.dumps(
                {**ok, "request": {k: v for k, v in ok["request"].items() if k != "uid"}}
            ).encode(),
            JSON_TYPE,
        ),
        422,
        "request.uid is missing",
    ),
    (
        "no-request",
        lambda ok: (
            json.dumps({k: v for k, v in ok.items() if k != "request"}).encode(),
            JSON_TYPE,
        ),
        400,
        "AdmissionReview has no request",
    ),
    (
        "json-array",
        lambda ok: (b"[1, 2, 3]", JSON_TYPE),
        400,
        "not a JSON object",
    ),
    (
        "oversized",
        lambda ok: (b'{"pad": "' + b"x" * (3 * 1024 * 1024) + b'"}', JSON_TYPE),
        413,
        "request body is 3145739 bytes, above the 3145728-byte limit",
    ),
]


@pytest.mark.parametrize(
    ("make", "status", "text"),
    [pytest.param(make, status, text, id=name) for name, make, status, text in BAD_INPUTS],
)
def test_bad_input_gets_a_clear_4xx_and_the_server_keeps_serving(
    fleet: Fleet,
    make: Callable[[dict[str, Any]], tuple[bytes, dict[str, str]]],
    status: int,
    text: str,
) -> None:
    server = fleet.enforce
    workers = sorted(server.worker_pids())
    client = server.client()
    content, headers = make(_valid_body(fleet))
    answer = client.post("/validate", content=content, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert text in answer.json()["error"]
    # A new connection, and the same one, still get verdicts. (Not after a 413: gunicorn
    # answers "Connection: keep-alive" and then closes a connection that still has more
    # than 64 KiB of unread body, so the next request on it fails on the client's side.)
    assert post(server.client(), _valid_body(fleet))["allowed"] is True
    if status != 413:
        assert post(client, _valid_body(fleet))["allowed"] is True
    assert sorted(server.worker_pids()) == workers  # no worker died


def _chunks(*parts: bytes) -> Iterator[bytes]:
    """A streamed body: httpx sends it chunked, without Content-Length."""
    yield from parts


@pytest.mark.parametrize(
    "parts",
    [
        pytest.param((b'{"pad": "', *[b"x" * (1024 * 1024)] * 4, b'"}'), id="4MiB-unterminated"),
        pytest.param(("valid-review", b" " * (4 * 1024 * 1024)), id="valid-review-plus-4MiB"),
    ],
)
def test_oversized_chunked_body_without_length_is_413(
    fleet: Fleet, parts: tuple[bytes | str, ...]
) -> None:
    """Not cut at the limit and parsed: a valid review padded past 3 MiB was once allowed."""
    valid = json.dumps(_valid_body(fleet)).encode()
    body = [valid if part == "valid-review" else part for part in parts]
    assert sum(len(part) for part in body) > 3 * 1024 * 1024
    client = fleet.enforce.client()
    answer = client.post("/validate", content=_chunks(*body), headers=JSON_TYPE)
    assert post(fleet.enforce.client(), _valid_body(fleet))["allowed"] is True
    assert answer.status_code == 413, answer.text
    assert "limit" in answer.json()["error"]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_large_body_within_the_limit_is_read_whole_and_judged(fleet: Fleet, chunked: bool) -> None:
    body = review(POD, fleet.bloated.tag_ref, other="", annotations={"notes": "x" * 2_500_000})
    data = json.dumps(body).encode()
    assert 2_500_000 < len(data) < 3 * 1024 * 1024
    content = _chunks(*(data[i : i + 65536] for i in range(0, len(data), 65536)))
    client = fleet.enforce.client()
    answer = client.post("/validate", content=content if chunked else data, headers=JSON_TYPE)
    assert answer.status_code == 200, answer.text[:300]
    response = answer.json()["response"]
    assert response["uid"] == body["request"]["uid"]
    assert response["allowed"] is False
    assert "maxCompressedSize" in response["status"]["message"]


def test_wrong_method_and_unknown_kind_are_not_5xx(fleet: Fleet) -> None:
    client = fleet.enforce.client()
    for path, status in (("/validate", 405), ("/nowhere", 404)):
        answer = client.get(path)
        assert answer.status_code == status
        assert answer.headers["content-type"] == "application/json"
        assert answer.json()["error"]
    body = _valid_body(fleet)
    body["request"]["kind"] = {"group": "", "version": "v1", "kind": "Service"}
    body["request"]["object"] = {"apiVersion": "v1", "kind": "Service", "spec": {}}
    response = post(client, body)
    assert response["allowed"] is True
    assert response["auditAnnotations"]["decision"].startswith("skip: ")


# -- health, readiness, metrics -------------------------------------------------------------


def test_healthz_and_readyz(fleet: Fleet) -> None:
    client = fleet.enforce.client()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


def test_metrics_sum_admissions_across_both_workers(fleet: Fleet) -> None:
    server = fleet.enforce
    statefulset = next(c for c in CONTROLLERS if c.kind == "StatefulSet")
    allow = {"kind": "StatefulSet", "operation": "CREATE", "decision": "allow"}
    deny = {"kind": "StatefulSet", "operation": "CREATE", "decision": "deny"}
    sample = "ballast_admission_requests_total"
    before = scrape(server.client())
    rounds = 0
    sent = {"allow": 0, "deny": 0}

    def one(image: str) -> bool:
        # A new TLS connection each time, so the kernel hands them to either worker.
        with httpx.Client(base_url=server.url, verify=server_context(server.cert)) as client:
            return bool(post(client, review(statefulset, image, other=""))["allowed"])

    while True:
        rounds += 1
        images = [fleet.slim.tag_ref, fleet.bloated.tag_ref] * 8
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(one, images))
        sent["allow"] += results.count(True)
        sent["deny"] += results.count(False)
        workers = per_worker(server.metrics_dir, sample, allow)
        if sum(1 for value in workers.values() if value) >= 2 or rounds == 5:
            break
    assert sent == {"allow": 8 * rounds, "deny": 8 * rounds}
    after = scrape(server.client())
    for labels, count in ((allow, sent["allow"]), (deny, sent["deny"])):
        assert metric_value(after, sample, labels) - metric_value(before, sample, labels) == count
    # /metrics (answered by one worker) is the sum of both workers' own counts.
    workers = per_worker(server.metrics_dir, sample, allow)
    assert set(workers) >= set(server.worker_pids())
    assert sum(1 for value in workers.values() if value) == 2, workers
    assert sum(workers.values()) == metric_value(after, sample, allow)
    assert metric_value(after, "ballast_admission_duration_seconds_count", {}) > 0
    assert metric_value(after, "ballast_cache_lookups_total", {"result": "hit"}) > 0
    assert metric_value(after, "ballast_registry_requests_total", {"status": "200"}) > 0
    promtool = shutil.which("promtool")
    if promtool:
        check = subprocess.run(
            [promtool, "check", "metrics"], input=after.encode(), capture_output=True, timeout=30
        )
        assert check.returncode == 0, check.stdout + check.stderr


# -- certificate rotation and policy reload -------------------------------------------------


def peer_serial(port: int) -> int:
    """The serial number of the certificate a new TLS connection is served (not verified:
    the rotation test checks which certificate it is, and verifies it separately)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def cert_serial(path: Path) -> int:
    return x509.load_pem_x509_certificate(path.read_bytes()).serial_number


def test_rotated_certificate_is_served_without_restart(fleet: Fleet, tmp_path: Path) -> None:
    server = fleet.mutable
    master, workers = server.pid, sorted(server.worker_pids())
    old_cert = tmp_path / "old.crt"
    shutil.copy(server.cert, old_cert)
    old_serial = cert_serial(old_cert)
    kept_alive = server.client(cafiles=(old_cert,))
    assert post(kept_alive, _valid_body(fleet))["allowed"] is True
    assert peer_serial(server.port) == old_serial

    new = write_self_signed(tmp_path / "new")
    new_serial = cert_serial(new.cert)
    assert new_serial != old_serial
    # Overwrite in place, the key first, as a file-by-file rotation does.
    server.key.write_bytes(new.key.read_bytes())
    server.cert.write_bytes(new.cert.read_bytes())
    rotated_at = time.monotonic()
    took = wait_for(
        lambda: peer_serial(server.port) == new_serial,
        timeout_s=3,
        what="a new connection served the new certificate",
    )
    assert took < 2.5
    # Each worker checks the files at most once a second: after 2 s every new
    # connection, whichever worker takes it, presents the new certificate.
    time.sleep(max(0.0, 2.0 - (time.monotonic() - rotated_at)))
    assert {peer_serial(server.port) for _ in range(8)} == {new_serial}
    # Verified against the new certificate alone, over a new connection; the old one fails.
    with pytest.raises(httpx.ConnectError):
        server.client(cafiles=(old_cert,)).get("/healthz")
    assert post(server.client(cafiles=(new.cert,)), _valid_body(fleet))["allowed"] is True
    # The connection opened before the rotation keeps working.
    assert post(kept_alive, _valid_body(fleet))["allowed"] is True
    assert (server.pid, sorted(server.worker_pids())) == (master, workers)


def _verdicts_on_new_connections(server: LiveWebhook, image: str, count: int) -> list[bool]:
    verdicts = []
    for _ in range(count):
        with httpx.Client(
            base_url=server.url, verify=server_context(server.cert), timeout=10
        ) as client:
            verdicts.append(bool(post(client, review(POD, image, other=""))["allowed"]))
    return verdicts


def test_policy_with_mistakes_stops_start_up_and_is_ignored_on_reload(
    fleet: Fleet, tmp_path: Path
) -> None:
    """At start: exit 2 listing every problem. On reload: logged, the old policy stays."""
    server = fleet.mutable
    bloated = fleet.bloated.tag_ref
    assert _verdicts_on_new_connections(server, bloated, 2) == [False] * 2
    # The running webhook gets the broken file (its limit raised, plus mistakes) ...
    server.policy.write_text(RAISED_POLICY + BROKEN_POLICY.split("spec:\n", 1)[1])
    written_at = time.monotonic()
    # ... while a new one is started on it.
    policy = tmp_path / "broken.yaml"
    policy.write_text(BROKEN_POLICY)
    result = subprocess.run(
        [
            str(BALLAST_BIN),
            "--cache",
            str(tmp_path / "facts.db"),
            "webhook",
            "--bind",
            "127.0.0.1:0",
            "--cert",
            str(server.cert),
            "--key",
            str(server.key),
            "--policy",
            str(policy),
        ],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2, result.stderr
    assert time.monotonic() - written_at < 10
    assert result.stdout == ""
    assert f"policy {policy} is invalid (5 problems)" in result.stderr
    for problem in BROKEN_POLICY_PROBLEMS:
        assert problem in result.stderr
    assert "Traceback" not in result.stderr
    time.sleep(max(0.0, 2.2 - (time.monotonic() - written_at)))  # past both workers' checks
    assert _verdicts_on_new_connections(server, bloated, 4) == [False] * 4
    assert server.client().get("/readyz").status_code == 200
    assert "policy reload failed, keeping the previous policy" in server.log_tail(200)


def test_policy_file_change_changes_decisions_within_3_s(fleet: Fleet) -> None:
    server = fleet.mutable
    bloated = fleet.bloated.tag_ref
    server.policy.write_text(RAISED_POLICY)
    changed_at = time.monotonic()
    took = wait_for(
        lambda: _verdicts_on_new_connections(server, bloated, 1) == [True],
        timeout_s=4,
        what="the raised limit allowing the bloated image",
    )
    assert took < 3.0
    # Each worker looks at the file at most every 2 s: after that, both have the new one.
    time.sleep(max(0.0, 2.1 - (time.monotonic() - changed_at)))
    assert _verdicts_on_new_connections(server, bloated, 6) == [True] * 6


# -- graceful shutdown ------------------------------------------------------------------------


def test_sigterm_drains_an_in_flight_admission_then_exits_cleanly(
    fleet: Fleet, reg: LocalRegistry
) -> None:
    server = fleet.mutable
    client = server.client()
    assert post(client, _valid_body(fleet))["allowed"] is True
    fresh = push_fresh(reg, bloated=False)
    reg.stall_paths = {"/manifests/"}
    body = review(POD, fresh.tag_ref, other="")
    answers: list[dict[str, Any] | BaseException] = []

    def slow_admission() -> None:
        try:
            answers.append(post(client, body, timeout="1500ms"))
        except BaseException as exc:  # reported by the assertions below
            answers.append(exc)

    thread = threading.Thread(target=slow_admission)
    thread.start()
    wait_for(
        lambda: reg.count("GET", f"/v2/{fresh.repo}/manifests/") >= 1,
        timeout_s=5,
        what="the admission reaching the registry",
    )
    server.terminate()
    thread.join(timeout=10)
    (answer,) = answers
    assert isinstance(answer, dict), answer
    assert answer["allowed"] is True
    assert "not checked (facts not fetched before the deadline" in answer["warnings"][0]
    # The lookup still hangs in the background: the worker exits anyway.
    assert server.stop(timeout_s=10) == 0, server.log_tail()
    with pytest.raises(httpx.ConnectError):  # nothing listens any more
        httpx.get(f"{server.url}/healthz", verify=server_context(server.cert), timeout=2)
    assert "Traceback" not in server.log_tail(200)


def test_sigterm_exits_promptly_while_a_background_lookup_hangs(
    fleet: Fleet, reg: LocalRegistry
) -> None:
    """Once a bug: the lookup pool's threads were joined at exit, so a hung registry held
    SIGTERM up for gunicorn's whole graceful_timeout (30 s), then the worker was killed."""
    server = fleet.lenient
    fresh = push_fresh(reg, bloated=False)
    reg.stall_paths = {"/manifests/"}
    with server.client() as client:
        answer = post(client, review(POD, fresh.tag_ref, other=""), timeout="1s")
    # Answered in time (failureMode deny here); its lookup goes on in the background.
    assert "failure-mode" in answer["auditAnnotations"]
    server.close_clients()
    server.terminate()
    try:
        # Nothing is in flight any more: an idle webhook exits in about 0.5 s.
        assert server.process is not None
        server.process.wait(timeout=2.5)
    except subprocess.TimeoutExpired:
        pytest.fail("ballast webhook still running 2.5 s after SIGTERM with nothing in flight")
    finally:
        reg.reset()
        server.stop(timeout_s=10)


# -- fuzzing the live server ----------------------------------------------------------------

_JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
_JSON_VALUES = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


@st.composite
def _mutated_json(draw: st.DrawFn, base: dict[str, Any]) -> bytes:
    document = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = [p for p in _paths(document) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = document
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "string", "type"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "string":
            parent[path[-1]] = draw(
                st.sampled_from(["", " ", "UPPER/Case", "a" * 300, "x@sha256:zz", "::"])
                | st.text(max_size=40)
            )
        elif action == "type":
            parent[path[-1]] = draw(st.sampled_from([None, 0, [], {}, "", True, 1.5]))
        else:
            parent[path[-1]] = draw(_JSON_VALUES)
    return json.dumps(document).encode()


@st.composite
def _mutated_bytes(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        position = draw(st.integers(min_value=0, max_value=len(data)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if action == "flip" and position < len(data):
            data[position] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[position : position + draw(st.integers(min_value=1, max_value=16))]
        else:
            del data[position:]
    return bytes(data)


def test_fuzzed_bodies_never_get_a_5xx(fleet: Fleet, capsys: pytest.CaptureFixture[str]) -> None:
    server = fleet.enforce
    base = review(DEPLOYMENT, fleet.slim.tag_ref, other=fleet.bloated.tag_ref)
    base_bytes = json.dumps(base).encode()
    client = server.client()
    statuses: dict[int, int] = {}
    content_types = st.sampled_from(
        ["application/json"] * 6 + ["application/json; charset=latin-1", "text/plain", ""]
    )

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        body=st.binary(max_size=300)
        | _mutated_bytes(base_bytes)
        | _mutated_json(base)
        | _mutated_json(base),
        content_type=content_types,
    )
    def one(body: bytes, content_type: str) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        # ?timeout=1s: an image string the fuzzer made up must not hold the request long.
        answer = client.post("/validate?timeout=1s", content=body, headers=headers)
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        assert answer.status_code < 500, (body[:300], answer.text)
        assert answer.status_code in (200, 400, 413, 415, 422), answer.text
        document = answer.json()
        if answer.status_code == 200:
            response = document["response"]
            sent = json.loads(body)
            assert response["uid"] == sent["request"]["uid"]
            assert isinstance(response["allowed"], bool)
            if not response["allowed"]:
                assert response["status"]["message"]
        else:
            assert isinstance(document["error"], str) and document["error"]

    one()
    total = sum(statuses.values())
    assert total >= 300
    assert post(server.client(), _valid_body(fleet))["allowed"] is True
    with capsys.disabled():
        summary = ", ".join(f"{code}: {count}" for code, count in sorted(statuses.items()))
        print(f"\nfuzz: {total} request bodies against the live webhook ({summary})")
