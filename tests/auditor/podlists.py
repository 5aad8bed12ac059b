"""``kubectl get pods -A -o json``-shaped documents built from a real, fully populated Pod.

Every pod starts as a deep copy of k8s.io/api's ``core.v1.Pod`` serialisation fixture
(every field set, decoys included: an OCI image volume, ``volumeStatus.image.imageRef``),
with metadata, containers and statuses replaced by realistic values. The documents look
like kubectl's output (``kind: List``, each item with ``apiVersion``/``kind``) or, with
``api_shape=True``, like an API server ``PodList`` page (items without them).

:func:`realistic_cluster` is the multi-namespace cluster the tests share: Deployments
(one mid-rollout), a StatefulSet, a DaemonSet on 3 nodes, a CronJob's Job, a plain Job,
a static pod, a bare pod with an ephemeral debug container, a pod without status and a
Pending one, with every imageID form.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

POD_FIXTURE = Path("/work/shared/fixtures/peers/k8s/k8s-api-testdata-HEAD-core.v1.Pod.json")


@cache
def _real_pod() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POD_FIXTURE.read_text())
    return document


def fake_digest(seed: str) -> str:
    """A well-formed sha256 digest derived from ``seed`` (for tests without a registry)."""
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


@dataclass(frozen=True)
class C:
    """A container to put in a pod: name, spec image, and the status ``imageID``.

    ``image_id=None`` leaves the container out of the status lists (no status yet).
    """

    name: str
    image: str
    image_id: str | None = None
    running: bool = True


def owner(kind: str, name: str, *, api_version: str = "apps/v1") -> dict[str, Any]:
    """An ``ownerReferences`` entry as controllers write it."""
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": f"uid-{kind.lower()}-{name}",
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _container(template: dict[str, Any], entry: C) -> dict[str, Any]:
    container = copy.deepcopy(template)
    container["name"] = entry.name
    container["image"] = entry.image
    container["imagePullPolicy"] = "IfNotPresent"
    return container


def _status(template: dict[str, Any], entry: C) -> dict[str, Any]:
    status = copy.deepcopy(template)
    status["name"] = entry.name
    status["image"] = entry.image
    status["imageID"] = entry.image_id or ""
    status["containerID"] = f"containerd://{hashlib.sha256(entry.name.encode()).hexdigest()}"
    if entry.running and entry.image_id:
        status["state"] = {"running": {"startedAt": "2026-06-01T08:00:00Z"}}
        status["ready"], status["started"] = True, True
    else:
        status["state"] = {"waiting": {"reason": "ContainerCreating"}}
        status["ready"], status["started"] = False, False
        status.pop("containerID")
    status["lastState"] = {}
    status["restartCount"] = 0
    return status


def make_pod(
    name: str,
    namespace: str,
    *,
    containers: Sequence[C],
    init: Sequence[C] = (),
    ephemeral: Sequence[C] = (),
    node: str = "",
    phase: str = "Running",
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    owners: Sequence[dict[str, Any]] = (),
    with_status: bool = True,
) -> dict[str, Any]:
    """One pod in the real fixture's shape."""
    real = _real_pod()
    pod = copy.deepcopy(real)
    meta = pod["metadata"]
    for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "finalizers"):
        meta.pop(field, None)
    meta.update(
        {
            "name": name,
            "generateName": "",
            "namespace": namespace,
            "uid": f"uid-pod-{namespace}-{name}",
            "resourceVersion": "4242",
            "labels": dict(labels or {}),
            "annotations": dict(annotations or {}),
            "ownerReferences": [dict(o) for o in owners],
        }
    )
    if not owners:
        del meta["ownerReferences"]
    spec = pod["spec"]
    spec["containers"] = [_container(real["spec"]["containers"][0], c) for c in containers]
    spec["initContainers"] = [_container(real["spec"]["initContainers"][0], c) for c in init]
    spec["ephemeralContainers"] = [
        _container(real["spec"]["ephemeralContainers"][0], c) for c in ephemeral
    ]
    for field in ("initContainers", "ephemeralContainers"):
        if not spec[field]:
            del spec[field]
    if node:
        spec["nodeName"] = node
    else:
        spec.pop("nodeName", None)
    if not with_status:
        del pod["status"]
        return pod
    status = pod["status"]
    status["phase"] = phase
    for field, entries in (
        ("containerStatuses", containers),
        ("initContainerStatuses", init),
        ("ephemeralContainerStatuses", ephemeral),
    ):
        template = real["status"][field][0]
        status[field] = [_status(template, c) for c in entries if c.image_id is not None]
        if not status[field]:
            del status[field]
    return pod


def pod_list(
    pods: Sequence[dict[str, Any]],
    *,
    objects: Sequence[dict[str, Any]] = (),
    api_shape: bool = False,
) -> dict[str, Any]:
    """``kubectl get pods -A -o json`` (``kind: List``), or an API ``PodList`` page."""
    if api_shape:
        items = []
        for pod in pods:
            item = copy.deepcopy(pod)
            item.pop("kind", None)
            item.pop("apiVersion", None)
            items.append(item)
        return {
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": "4242"},
            "items": items,
        }
    return {
        "apiVersion": "v1",
        "kind": "List",
        "items": [*(copy.deepcopy(p) for p in pods), *(copy.deepcopy(o) for o in objects)],
        "metadata": {"resourceVersion": ""},
    }


def kube_object(
    kind: str,
    namespace: str,
    name: str,
    *,
    api_version: str = "apps/v1",
    owners: Sequence[dict[str, Any]] = (),
    annotations: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A workload object as ``kubectl get rs,jobs,deploy -o json`` lists it (metadata + kind)."""
    meta: dict[str, Any] = {
        "name": name,
        "uid": f"uid-{kind.lower()}-{name}",
        "resourceVersion": "4242",
        "creationTimestamp": "2026-06-01T08:00:00Z",
    }
    if namespace:
        meta["namespace"] = namespace
    if owners:
        meta["ownerReferences"] = [dict(o) for o in owners]
    if annotations:
        meta["annotations"] = dict(annotations)
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": {}, "status": {}}


# -- the shared cluster -----------------------------------------------------------------------


@dataclass(frozen=True)
class Img:
    """An image as a cluster runs it: the spec reference (a tag) and its manifest digest."""

    ref: str
    digest: str

    @property
    def name(self) -> str:
        """``registry/repository`` as written in ``ref`` (tag removed)."""
        head, _, tail = self.ref.rpartition("/")
        return f"{head}/{tail.split(':', 1)[0]}" if head else self.ref.split(":", 1)[0]

    def pullable(self) -> str:
        """dockershim's ``docker-pullable://repo@digest``."""
        return f"docker-pullable://{self.name}@{self.digest}"

    def containerd(self) -> str:
        """containerd/CRI-O's ``repo@digest``."""
        return f"{self.name}@{self.digest}"


@dataclass(frozen=True)
class ClusterImages:
    """The images :func:`realistic_cluster` runs."""

    web: Img
    web_next: Img
    migrate: Img
    postgres: Img
    report: Img
    exporter: Img
    busybox: Img
    tool: Img


NODES = ("node-a", "node-b", "node-c")
MIRROR = "mirror.example.com"


def mirror_pullable(image: Img) -> str:
    """A dockershim imageID naming a pull-through mirror's copy of ``image``."""
    path = image.name.split("/", 1)[1]
    return f"docker-pullable://{MIRROR}/{path}@{image.digest}"


WEB_HASH = "7d4b9c8f6"
WEB_NEXT_HASH = "5f6d7c8b9a"
REPORT_JOB = "nightly-report-29512800"
DB_EXCEPTION = (
    "- rules: [maxLayerCount]\n"
    "  justification: the postgres image keeps its upstream layering until DB-17 lands\n"
    "  expires: 2099-12-31\n"
)
TOOL_EXCEPTION_EXPIRED = (
    "rules: [maxCompressedSize]\njustification: temporary\nexpires: 2020-01-31\n"
)


def realistic_cluster(images: ClusterImages) -> list[dict[str, Any]]:
    """The pods of a small, busy cluster (16 pods, 21 containers, 3 nodes, 8 unique images).

    - ``shop``: Deployment ``web`` (3 running replicas, one per node, with a ``migrate`` init
      container; imageIDs in dockershim and containerd forms) mid-rollout to ``web_next``
      (one Pending pod, scheduled on node-a, image not pulled yet: empty imageID);
      StatefulSet ``db`` (2 pods; containerd imageID; an exception annotation).
    - ``batch``: CronJob ``nightly-report``'s Job (Succeeded; bare ``sha256:`` image ID, so
      the spec tag is used); Job ``migrate-2`` (not a CronJob's).
    - ``kube-system``: DaemonSet ``node-exporter`` on the 3 nodes (dockershim imageID naming a
      mirror's repository: the spec's is resolved); a static pod owned by its Node
      (placeholder imageID).
    - ``tools``: a bare pod ``debug-shell`` with an ephemeral ``debugger`` container; a bare
      pod just created (no status at all); Deployment ``toolbox`` with an expired exception.
    """
    i = images
    web_labels = {"app": "web", "pod-template-hash": WEB_HASH}
    pods = [
        make_pod(
            f"web-{WEB_HASH}-{suffix}",
            "shop",
            containers=[C("web", i.web.ref, form(i.web))],
            init=[C("migrate", i.migrate.ref, i.migrate.containerd(), running=False)],
            node=node,
            labels=web_labels,
            owners=[owner("ReplicaSet", f"web-{WEB_HASH}")],
        )
        for suffix, node, form in (
            ("x7k2p", "node-a", Img.pullable),
            ("m4n8q", "node-b", Img.containerd),
            ("r9s3t", "node-c", Img.containerd),
        )
    ]
    pods.append(
        make_pod(
            f"web-{WEB_NEXT_HASH}-b2c4d",
            "shop",
            containers=[C("web", i.web_next.ref, "")],
            init=[C("migrate", i.migrate.ref, "")],
            node="node-a",
            phase="Pending",
            labels={"app": "web", "pod-template-hash": WEB_NEXT_HASH},
            owners=[owner("ReplicaSet", f"web-{WEB_NEXT_HASH}")],
        )
    )
    pods += [
        make_pod(
            f"db-{n}",
            "shop",
            containers=[C("postgres", i.postgres.ref, i.postgres.containerd())],
            node=NODES[n],
            labels={"app": "db", "controller-revision-hash": "db-6b9f5d"},
            annotations={"ballast.dev/exception": DB_EXCEPTION},
            owners=[owner("StatefulSet", "db")],
        )
        for n in (0, 1)
    ]
    pods += [
        make_pod(
            f"{REPORT_JOB}-q8w7e",
            "batch",
            containers=[C("report", i.report.ref, fake_digest(f"image-id {i.report.ref}"))],
            node="node-b",
            phase="Succeeded",
            labels={"batch.kubernetes.io/job-name": REPORT_JOB, "job-name": REPORT_JOB},
            owners=[owner("Job", REPORT_JOB, api_version="batch/v1")],
        ),
        make_pod(
            "migrate-2-z5x6c",
            "batch",
            containers=[C("migrate", i.migrate.ref, i.migrate.containerd())],
            node="node-c",
            phase="Succeeded",
            labels={"job-name": "migrate-2"},
            owners=[owner("Job", "migrate-2", api_version="batch/v1")],
        ),
    ]
    pods += [
        make_pod(
            f"node-exporter-{suffix}",
            "kube-system",
            containers=[C("exporter", i.exporter.ref, mirror_pullable(i.exporter))],
            node=node,
            labels={"app": "node-exporter", "controller-revision-hash": "6c9b8f7d5"},
            owners=[owner("DaemonSet", "node-exporter")],
        )
        for suffix, node in zip(("h2j4k", "l6m8n", "p1q3r"), NODES, strict=True)
    ]
    pods.append(
        make_pod(
            "kube-proxy-node-a",
            "kube-system",
            containers=[C("kube-proxy", i.tool.ref, "imageIDValue")],
            node="node-a",
            owners=[owner("Node", "node-a", api_version="v1")],
        )
    )
    pods += [
        make_pod(
            "debug-shell",
            "tools",
            containers=[C("shell", i.busybox.ref, i.busybox.containerd())],
            ephemeral=[C("debugger", i.tool.ref, i.tool.containerd())],
            node="node-c",
        ),
        make_pod(
            "just-created",
            "tools",
            containers=[C("shell", i.busybox.ref)],
            with_status=False,
        ),
    ]
    pods += [
        make_pod(
            f"toolbox-6d5c4b3a2-{suffix}",
            "tools",
            containers=[C("toolbox", i.tool.ref, i.tool.containerd())],
            node=node,
            labels={"app": "toolbox", "pod-template-hash": "6d5c4b3a2"},
            annotations={"ballast.dev/exception": TOOL_EXCEPTION_EXPIRED},
            owners=[owner("ReplicaSet", "toolbox-6d5c4b3a2")],
        )
        for suffix, node in (("a1b2c", "node-a"), ("d3e4f", "node-b"))
    ]
    return pods


def fake_images(registry: str = "registry.example.com") -> ClusterImages:
    """Cluster images with made-up digests, for tests that never reach a registry."""

    def img(path: str) -> Img:
        return Img(f"{registry}/{path}", fake_digest(path))

    return ClusterImages(
        web=img("shop/web:1.4"),
        web_next=img("shop/web:1.5"),
        migrate=img("shop/migrate:1.4"),
        postgres=img("shop/postgres:16"),
        report=img("batch/report:2"),
        exporter=img("prom/node-exporter:v1.8"),
        busybox=img("tools/busybox:1.36"),
        tool=img("tools/toolbox:3"),
    )
