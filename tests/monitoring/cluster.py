"""A monitored cluster for the metrics, dashboard and alert tests: real images, real passes.

:func:`monitored_cluster` pushes the images of :func:`tests.auditor.podlists.realistic_cluster`
to the real local registry, plus a bloated image made of real tar layers (build tools, apt
lists shipped then deleted, a ``.env`` secret), run by Deployment ``ml/trainer``, and a bare
pod ``ml/legacy`` whose image lives on a registry that refuses connections. Its
:meth:`MonitoredCluster.audit` runs :func:`auditor.scan.audit_pods` through the real
:class:`~ballast.lookup.FactsLookup` and the real layer store, as the auditor's loop does:
the first pass has no layer facts; after :meth:`MonitoredCluster.read_layers` the bloated
image has them (uncompressed, wasted and hidden bytes, a secrets finding).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.model import AuditSnapshot
from auditor.pods import parse_pod_list
from auditor.scan import audit_pods
from ballast.policy import load_policy
from ballast.reference import parse_reference
from ballast.services import Services, open_services
from ballast.settings import load_settings
from tests.auditor.podlists import (
    C,
    ClusterImages,
    Img,
    make_pod,
    owner,
    pod_list,
    realistic_cluster,
)
from tests.support.images import PushedImage, make_tar_layer, push_image, push_index
from tests.support.registry import LocalRegistry
from tests.support.sockets import refusing_address

POLICY = load_policy(
    """
    apiVersion: ballast.dev/v1
    kind: Policy
    metadata: {name: monitoring-test}
    spec:
      mode: warn
      rules:
        maxCompressedSize: {limit: 200kB}
        maxLayerCount: {limit: 3, action: enforce}
        maxHiddenBytes: {limit: 100kB}
        findings: {build-tools: warn, package-cache: warn, secrets: enforce}
    """,
    source="monitoring-test.yaml",
)

LAYERS = {
    # name: (tag, compressed layer sizes of random, incompressible blobs)
    "web": ("1.4", [120_000, 80_000]),
    "web-next": ("1.5", [150_000, 90_000]),
    "migrate": ("1.4", [30_000]),
    "postgres": ("16", [10_000] * 5),
    "report": ("2", [40_000]),
    "busybox": ("1.36", [10_000]),
    "toolbox": ("3", [250_000]),
}
TRAINER_HASH = "5c7d9e8f1"
TRAINER_NODES = ("node-a", "node-b")
APT_LIST = "deb.debian.org_dists_bookworm_main_binary-amd64_Packages"


@dataclass
class MonitoredCluster:
    """The pushed images, the pods that run them, and services to audit them with."""

    registry: LocalRegistry
    services: Services
    images: ClusterImages
    pushed: dict[str, PushedImage]
    trainer: PushedImage
    legacy_ref: str
    refused_host: str

    def pods(self, *, without_namespaces: Collection[str] = ()) -> list[dict[str, Any]]:
        """Every pod of the cluster, minus whole namespaces (workloads that have gone)."""
        pods = [*realistic_cluster(self.images), *self._ml_pods()]
        return [p for p in pods if p["metadata"]["namespace"] not in without_namespaces]

    def document(self, **kwargs: Any) -> dict[str, Any]:
        """``kubectl get pods -A -o json`` for :meth:`pods`."""
        return pod_list(self.pods(**kwargs))

    def audit(self, **kwargs: Any) -> AuditSnapshot:
        """One real pass over :meth:`document` (cache first, then the registry)."""
        listing = parse_pod_list(json.loads(json.dumps(self.document(**kwargs))))
        return audit_pods(
            listing,
            self.services.lookup,
            policy=POLICY,
            source="file pods.json",
            layer_report_for=self.services.layers.cached_report,
        )

    def read_layers(self) -> None:
        """Read the trainer image's layers from the registry, as the auditor does between
        passes, so the next pass has its layer facts."""
        ref = parse_reference(self.trainer.tag_ref)
        facts = self.services.lookup.resolve(ref).platforms[0]
        self.services.layers.report(ref, facts)

    def size(self, name: str) -> int:
        return (
            self.trainer.compressed_size if name == "trainer" else self.pushed[name].compressed_size
        )

    def _ml_pods(self) -> list[dict[str, Any]]:
        trainer = Img(self.trainer.tag_ref, self.trainer.digest)
        pods = [
            make_pod(
                f"trainer-{TRAINER_HASH}-{suffix}",
                "ml",
                containers=[C("trainer", trainer.ref, trainer.containerd())],
                node=node,
                labels={"app": "trainer", "pod-template-hash": TRAINER_HASH},
                owners=[owner("ReplicaSet", f"trainer-{TRAINER_HASH}")],
            )
            for suffix, node in zip(("k2l4m", "n6p8q"), TRAINER_NODES, strict=True)
        ]
        pods.append(
            make_pod(
                "legacy",
                "ml",
                containers=[C("legacy", self.legacy_ref, "", running=False)],
                node="node-c",
                phase="Pending",
            )
        )
        return pods


def push_bloated(registry: LocalRegistry, repo: str) -> PushedImage:
    """Four real tar layers: a base, build tools with apt lists and a .deb cache, the app
    with a ``.env`` secret and a library replacing the base's (wasted bytes), and a layer
    deleting the apt lists (hidden bytes)."""
    base = make_tar_layer(
        {
            "etc/os-release": b"ID=debian\n",
            "bin/sh": os.urandom(1000),
            "usr/lib/libmodel.so": os.urandom(50_000),
        }
    )
    tools = make_tar_layer(
        {
            "usr/bin/gcc-12": os.urandom(300_000),
            f"var/lib/apt/lists/{APT_LIST}": os.urandom(200_000),
            "var/cache/apt/archives/gcc-12.deb": os.urandom(150_000),
        }
    )
    app = make_tar_layer(
        {
            "app/.env": b"DATABASE_PASSWORD=hunter2-not-for-print\n",
            "app/train.py": b"print()\n",
            "usr/lib/libmodel.so": os.urandom(50_000),  # replaces the base's copy: wasted
        }
    )
    cleanup = make_tar_layer({"var/lib/apt/.wh.lists": b""})
    return push_image(
        registry,
        repo,
        "2.0",
        layers=[base, tools, app, cleanup],
        history=[
            {"created_by": "ADD rootfs.tar / # buildkit"},
            {"created_by": "RUN /bin/sh -c apt-get update && apt-get install -y gcc # buildkit"},
            {"created_by": "COPY . /app # buildkit"},
            {"created_by": "RUN /bin/sh -c rm -rf /var/lib/apt/lists # buildkit"},
        ],
    )


@contextmanager
def monitored_cluster(
    registry: LocalRegistry, repo: str, refused_host: str, workdir: Path
) -> Iterator[MonitoredCluster]:
    """Push the images and open real services (fresh SQLite cache) that reach the registry
    and the refusing address over plain HTTP; close the services afterwards."""
    pushed: dict[str, PushedImage] = {}
    imgs: dict[str, Img] = {}
    for name, (tag, sizes) in LAYERS.items():
        image = push_image(registry, f"{repo}/{name}", tag, layer_sizes=sizes)
        pushed[name] = image
        imgs[name] = Img(image.tag_ref, image.digest)
    amd64 = push_image(registry, f"{repo}/exporter", None, layer_sizes=[60_000, 20_000])
    arm64 = push_image(
        registry, f"{repo}/exporter", None, layer_sizes=[55_000], platform=("linux", "arm64", None)
    )
    index = push_index(registry, f"{repo}/exporter", "v1.8", [amd64, arm64])
    pushed["exporter"] = amd64
    images = ClusterImages(
        web=imgs["web"],
        web_next=imgs["web-next"],
        migrate=imgs["migrate"],
        postgres=imgs["postgres"],
        report=imgs["report"],
        exporter=Img(index.tag_ref, index.digest),
        busybox=imgs["busybox"],
        tool=imgs["toolbox"],
    )
    trainer = push_bloated(registry, f"{repo}/trainer")
    environ = {
        "HOME": str(workdir / "home"),
        "BALLAST_INSECURE_REGISTRIES": f"{registry.host},{refused_host}",
        "BALLAST_CACHE_PATH": str(workdir / "facts.db"),
    }
    settings = load_settings(
        environ,
        overrides={"registry": {"retries": 0, "read_timeout_s": 1.0, "total_timeout_s": 2.0}},
    )
    services = open_services(settings, environ)
    try:
        yield MonitoredCluster(
            registry=registry,
            services=services,
            images=images,
            pushed=pushed,
            trainer=trainer,
            legacy_ref=f"{refused_host}/acme/legacy:3",
            refused_host=refused_host,
        )
    finally:
        services.close()


@dataclass
class Passes:
    """Two real passes over the monitored cluster, as the auditor's loop makes them."""

    cluster: MonitoredCluster
    cold: AuditSnapshot
    """The first pass: no layer facts yet."""
    deep: AuditSnapshot
    """The next pass, after the trainer image's layers were read."""


@contextmanager
def audited_passes(registry: LocalRegistry, workdir: Path) -> Iterator[Passes]:
    """Push the cluster's images to ``registry`` (a repository of its own) and audit twice."""
    repo = f"t/monitoring-{uuid.uuid4().hex[:8]}"
    with monitored_cluster(registry, repo, refusing_address(), workdir) as cluster:
        cold = cluster.audit()
        cluster.read_layers()
        yield Passes(cluster, cold, cluster.audit())
