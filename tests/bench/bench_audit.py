"""Benchmark: ``ballast audit`` on a generated 20,000-pod / 2,000-image cluster.

Run from the repository root::

    .venv/bin/python tests/bench/bench_audit.py [--pods 20000 --images 2000]

It generates a ``kubectl get pods -A -o json`` document of a large cluster with realistic
reuse (DaemonSets on every node, a service-mesh sidecar and its init container in most
pods, a few popular shared images drawn Zipf-like, Deployments of 1–50 replicas, some
mid-rollout, StatefulSets, CronJobs' and plain Jobs' pods, init containers, bare pods, a
few pods without status), pushes every image to Debian's ``docker-registry`` behind the
counting proxy of ``tests/support`` (in a child process, as ``bench_lookup.py`` does), and
measures the real auditor code path:

- cold: ``ballast audit --pods FILE --format json --layer-budget 0`` as a child process,
  fresh SQLite cache;
- warm, new process: the same command again on the same cache (facts from SQLite);
- warm, in-process: ``FileSource.list_pods`` + ``audit_pods`` + ``render(…, "json")`` on
  services built as the CLI builds them, once with a cold LRU (facts from SQLite) and then
  again on the same services (LRU hot).

Registry requests are counted at the proxy, in total and per unique image. It prints where
the warm time goes (read, JSON parse, pod parse, resolve, evaluate, report rendering) and a
cProfile top-10 of the in-process warm pass. It prints, it does not assert: the exit status
is 0 unless an audit failed, an image came back unknown or with another digest than pushed.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import cProfile
import gc
import io
import itertools
import json
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.auditor.podlists import C, make_pod, owner  # noqa: E402
from tests.bench.child_registry import ChildRegistry, scratch_dir  # noqa: E402
from tests.support.images import push_image, push_index  # noqa: E402
from tests.support.registry import LocalRegistry  # noqa: E402

if TYPE_CHECKING:
    from auditor.model import AuditSnapshot
    from ballast.services import Services

WARM_TARGET_S = 3.0
"""A warm pass must take less than this."""
COLD_REQUESTS_TARGET = 3
"""Registry requests per unique image on a cold pass, at most."""
ZIPF_S = 1.1
"""Exponent of the popularity of shared images (rank r drawn with weight 1 / r^s)."""
BASE_LAYERS = 12
"""Shared base layers (random, 6–16 KB): most images start from one of them."""
SYSTEM_NAMESPACES = ("kube-system", "logging", "monitoring", "istio-system")
TEAMS = (  # noqa: SIM905
    "checkout payments search catalog pricing inventory orders shipping accounts "
    "identity billing ledger fraud reviews recommend ads media images notify email sms "
    "chat support crm analytics reporting etl warehouse ml-serving ml-train features "
    "experiments gateway edge cdn auth sessions profile loyalty promo cart wishlist "
    "returns tax invoices partners vendors logistics fleet maps"
).split()
ENVIRONMENTS = ("prod", "staging")
HASH_CHARS = "bcdfghjklmnpqrstvwxz2456789"
CREATED = "2026-06-01T08:00:00Z"
Media = Literal["oci", "docker"]
HISTORY_STEPS = (
    "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends ca-certificates "
    "curl # buildkit",
    "RUN /bin/sh -c apt-get update && apt-get install -y build-essential libpq-dev # buildkit",
    "RUN /bin/sh -c pip install -r requirements.txt # buildkit",
    "RUN /bin/sh -c pip install --no-cache-dir -r requirements.txt # buildkit",
    "COPY app /app # buildkit",
    "RUN /bin/sh -c npm ci --omit=dev # buildkit",
    "COPY --from=build /out/server /usr/local/bin/server # buildkit",
    "RUN /bin/sh -c go build -o /usr/local/bin/app ./cmd/app # buildkit",
)
"""``created_by`` of the app layers: some give the default policy's history findings."""


# -- the image catalogue ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """One image to push: where, which layers, which manifest kind."""

    repo: str
    tag: str
    layer_sizes: tuple[int, ...]
    """Random app layers (bytes), on top of the shared base layer."""
    base: int
    """Index of the shared base layer, or -1 for none."""
    media: Media
    """``oci`` or ``docker`` (schema2)."""
    multiarch: bool
    """Pushed as an index of linux/amd64 and linux/arm64 (the index digest is what runs)."""
    steps: tuple[int, ...]
    """Indexes into HISTORY_STEPS, one per app layer."""


@dataclass(frozen=True, slots=True)
class Pushed:
    """What the registry holds for one ImageSpec."""

    repo: str
    tag: str
    digest: str
    """What a node reports in ``imageID`` (the index digest for multi-arch images)."""
    digests: tuple[str, ...]
    """Every manifest and config digest of the image, to attribute registry requests."""


@dataclass(slots=True)
class Catalogue:
    """The images of the cluster, by role."""

    specs: list[ImageSpec]
    infra: dict[str, int]
    """Role → spec index: DaemonSets, the mesh sidecar, control-plane Deployments."""
    shared: list[int]
    """Popular images (databases, proxies, init tools), most popular first."""
    apps: list[list[int]]
    """Application repositories: one tag, or two for a Deployment mid-rollout."""


INFRA: dict[str, tuple[str, str, bool, Media]] = {
    # role: (repository, tag, multi-arch, media)
    "fluent-bit": ("bench/infra/fluent-bit", "3.0.7", True, "oci"),
    "node-exporter": ("bench/infra/node-exporter", "v1.8.1", True, "oci"),
    "kube-proxy": ("bench/infra/kube-proxy", "v1.30.2", False, "docker"),
    "calico-node": ("bench/infra/calico-node", "v3.28.0", False, "docker"),
    "calico-cni": ("bench/infra/calico-cni", "v3.28.0", False, "docker"),
    "csi-driver": ("bench/infra/ebs-csi-driver", "v1.31.0", False, "oci"),
    "csi-registrar": ("bench/infra/csi-node-driver-registrar", "v2.11.0", False, "oci"),
    "istio-proxy": ("bench/infra/istio-proxyv2", "1.22.1", True, "oci"),
    "istiod": ("bench/infra/istio-pilot", "1.22.1", True, "oci"),
    "coredns": ("bench/infra/coredns", "v1.11.1", False, "docker"),
}
SHARED_NAMES = (  # noqa: SIM905
    "busybox:1.36 alpine:3.20 postgres:16.3 redis:7.2 nginx:1.27 cloud-sql-proxy:2.11 "
    "oauth2-proxy:v7.6 vault-agent:1.17 memcached:1.6 kafka:3.7 zookeeper:3.9 "
    "rabbitmq:3.13 elasticsearch:8.14 mongo:7.0 mysql:8.4 curl:8.8 python:3.12-slim "
    "node:20-slim openjdk:21-jre envoy:v1.30 haproxy:3.0 minio:2024 etcd:3.5 "
    "clickhouse:24.5"
).split()


def build_catalogue(count: int, rng: random.Random) -> Catalogue:
    """``count`` distinct images: infrastructure, popular shared ones, then applications."""
    specs: list[ImageSpec] = []

    def add(repo: str, tag: str, *, multiarch: bool = False, media: Media = "oci") -> int:
        layers = rng.randint(1, 3)
        specs.append(
            ImageSpec(
                repo=repo,
                tag=tag,
                layer_sizes=tuple(rng.randint(1024, 6144) for _ in range(layers)),
                base=rng.randrange(BASE_LAYERS) if rng.random() < 0.9 else -1,
                media=media,
                multiarch=multiarch,
                steps=tuple(rng.randrange(len(HISTORY_STEPS)) for _ in range(layers)),
            )
        )
        return len(specs) - 1

    infra = {
        role: add(repo, tag, multiarch=multi, media=media)
        for role, (repo, tag, multi, media) in INFRA.items()
    }
    shared_count = max(10, count * 3 // 100)
    shared = []
    for i in range(shared_count):
        name, tag = SHARED_NAMES[i % len(SHARED_NAMES)].split(":")
        if i >= len(SHARED_NAMES):
            name = f"{name}-{i // len(SHARED_NAMES)}"
        shared.append(add(f"bench/lib/{name}", tag, media="docker" if i % 3 == 0 else "oci"))
    apps: list[list[int]] = []
    services = itertools.count()
    while len(specs) < count:
        team = TEAMS[rng.randrange(len(TEAMS))]
        repo = f"bench/{team}/svc-{next(services):04d}"
        major, minor = rng.randint(1, 4), rng.randint(0, 30)
        tags = [f"{major}.{minor}.{rng.randint(0, 9)}"]
        if rng.random() < 0.06 and count - len(specs) >= 2:
            tags.append(f"{major}.{minor + 1}.0")  # the next version, rolling out
        media: Media = "docker" if rng.random() < 0.3 else "oci"
        apps.append([add(repo, tag, media=media) for tag in tags])
    return Catalogue(specs, infra, shared, apps)


# -- the registry, in a child process ---------------------------------------------------------


def _history(spec: ImageSpec) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    if spec.base >= 0:
        steps.append({"created": CREATED, "created_by": "/bin/sh -c #(nop) ADD file:rootfs in / "})
        steps.append(
            {"created": CREATED, "created_by": '/bin/sh -c #(nop)  CMD ["sh"]', "empty_layer": True}
        )
    steps += [{"created": CREATED, "created_by": HISTORY_STEPS[s]} for s in spec.steps]
    steps.append(
        {"created": CREATED, "created_by": "USER 10001 # buildkit", "empty_layer": True},
    )
    return steps


def push_spec(reg: LocalRegistry, spec: ImageSpec, bases: Sequence[bytes]) -> Pushed:
    layers = [bases[spec.base]] if spec.base >= 0 else []
    common: dict[str, Any] = {
        "layers": layers,
        "layer_sizes": list(spec.layer_sizes),
        "media": spec.media,
        "history": _history(spec),
        "user": "10001",
    }
    if not spec.multiarch:
        image = push_image(reg, spec.repo, spec.tag, **common)
        return Pushed(spec.repo, spec.tag, image.digest, (image.digest, image.config_digest))
    amd64 = push_image(reg, spec.repo, None, **common)
    arm64 = push_image(reg, spec.repo, None, platform=("linux", "arm64", None), **common)
    index = push_index(reg, spec.repo, spec.tag, [amd64, arm64], media=spec.media)
    digests = (index.digest, amd64.digest, amd64.config_digest, arm64.digest, arm64.config_digest)
    return Pushed(spec.repo, spec.tag, index.digest, digests)


def push_all(
    reg: LocalRegistry, specs: Sequence[ImageSpec], workers: int, seed: int
) -> list[Pushed]:
    """Push every image, ``workers`` at a time, printing progress to stderr."""
    rng = random.Random(seed)
    bases = [rng.randbytes(rng.randint(6144, 16384)) for _ in range(BASE_LAYERS)]
    started = time.perf_counter()
    done = 0
    step = max(len(specs) // 10, 1)

    def one(spec: ImageSpec) -> Pushed:
        return push_spec(reg, spec, bases)

    pushed: list[Pushed] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(one, specs):
            pushed.append(result)
            done += 1
            if done % step == 0 or done == len(specs):
                elapsed = time.perf_counter() - started
                print(
                    f"  pushed {done:5d}/{len(specs)} images in {elapsed:6.1f} s "
                    f"({done / elapsed:5.1f}/s)",
                    file=sys.stderr,
                    flush=True,
                )
    return pushed


# -- the cluster ------------------------------------------------------------------------------


@dataclass(slots=True)
class PodPlan:
    """One pod before it is rendered as JSON."""

    name: str
    namespace: str
    node: str
    containers: list[C]
    init: list[C] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    owners: list[dict[str, Any]] = field(default_factory=list)
    phase: str = "Running"
    with_status: bool = True


@dataclass(slots=True)
class ClusterShape:
    """What the generator produced, for the summary line."""

    pods: list[PodPlan]
    nodes: list[str]
    namespaces: list[str]
    workloads: collections.Counter[str]
    used: set[int]
    """Spec indexes some container runs."""


class Zipf:
    """Draws from a ranked population with weight 1 / rank^s."""

    def __init__(self, population: Sequence[Any], s: float = ZIPF_S) -> None:
        self.population = list(population)
        self.cum = list(itertools.accumulate(1 / (r + 1) ** s for r in range(len(population))))

    def draw(self, rng: random.Random) -> Any:
        return self.population[bisect.bisect(self.cum, rng.random() * self.cum[-1])]


class ClusterBuilder:
    """Generates the pods of the cluster from the catalogue and the pushed digests."""

    def __init__(
        self,
        catalogue: Catalogue,
        pushed: Sequence[Pushed],
        *,
        host: str,
        nodes: int,
        namespaces: int,
        rng: random.Random,
    ) -> None:
        self.cat = catalogue
        self.pushed = pushed
        self.host = host
        self.rng = rng
        self.nodes = [
            f"ip-10-{i // 250}-{(i * 7) % 250}-{(i * 13) % 250 + 1}.eu-west-1.compute.internal"
            for i in range(nodes)
        ]
        self.docker_nodes = set(self.nodes[4::5])  # one node in five still on dockershim
        teams = max(1, (namespaces - len(SYSTEM_NAMESPACES)) // len(ENVIRONMENTS))
        team_names = [
            TEAMS[i % len(TEAMS)] + ("" if i < len(TEAMS) else f"-{i}") for i in range(teams)
        ]
        self.team_namespaces = [f"{t}-{e}" for t in team_names for e in ENVIRONMENTS]
        self.namespaces = [*SYSTEM_NAMESPACES, *self.team_namespaces]
        self.mesh = {ns for ns in self.team_namespaces if rng.random() < 0.6}
        self.pick_namespace = Zipf(self.team_namespaces, 0.7)
        self.pick_shared = Zipf(catalogue.shared)
        self.pick_app = Zipf(range(len(catalogue.apps)), 0.8)
        self.replica_cum = list(itertools.accumulate(1 / k**1.2 for k in range(1, 51)))
        self.names: set[tuple[str, str]] = set()
        self.workloads: collections.Counter[str] = collections.Counter()

    # -- references ----------------------------------------------------------------------------

    def spec_image(self, index: int, *, pinned: bool = False) -> str:
        spec = self.cat.specs[index]
        if pinned:
            return f"{self.host}/{spec.repo}@{self.pushed[index].digest}"
        return f"{self.host}/{spec.repo}:{spec.tag}"

    def image_id(self, index: int, node: str) -> str:
        """The status imageID the node's runtime writes for this image."""
        running = f"{self.host}/{self.cat.specs[index].repo}@{self.pushed[index].digest}"
        return f"docker-pullable://{running}" if node in self.docker_nodes else running

    def container(self, name: str, index: int, node: str, *, state: str, pinned: bool = False) -> C:
        """``state``: running, done (terminated), pulling (status without imageID), none."""
        image = self.spec_image(index, pinned=pinned)
        if state == "none":
            return C(name, image, None)
        if state == "pulling":
            return C(name, image, "", running=False)
        return C(name, image, self.image_id(index, node), running=state == "running")

    # -- names ---------------------------------------------------------------------------------

    def suffix(self, length: int = 5) -> str:
        return "".join(self.rng.choice(HASH_CHARS) for _ in range(length))

    def unique(self, namespace: str, name: str) -> str:
        candidate, n = name, 1
        while (namespace, candidate) in self.names:
            n += 1
            candidate = f"{name}-{n}"
        self.names.add((namespace, candidate))
        return candidate

    def node(self) -> str:
        return self.nodes[self.rng.randrange(len(self.nodes))]

    # -- workloads -----------------------------------------------------------------------------

    def build(self, total: int, *, without_status: int) -> ClusterShape:
        pods: list[PodPlan] = []
        pods += self.daemonsets()
        pods += self.control_plane()
        fresh = collections.deque(range(len(self.cat.apps)))
        while len(pods) < total:
            left = total - len(pods)
            app = fresh.popleft() if fresh else self.pick_app.draw(self.rng)
            added = self.workload(app, left)
            pods += added
            ran = {c.image for plan in added for c in (*plan.containers, *plan.init)}
            if any(self.spec_image(i) not in ran for i in self.cat.apps[app]):
                fresh.appendleft(app)  # a StatefulSet of a shared image: the app comes next
        pods = pods[:total]
        # Pods just created: no status at all, not scheduled yet (spec images by tag).
        for plan in self.rng.sample(pods, min(without_status, len(pods))):
            plan.with_status = False
            plan.node = ""
            plan.phase = "Pending"
            plan.containers = [C(c.name, c.image, None) for c in plan.containers]
            plan.init = [C(c.name, c.image, None) for c in plan.init]
        index = {self.spec_image(i): i for i in range(len(self.cat.specs))}
        index.update({self.spec_image(i, pinned=True): i for i in range(len(self.cat.specs))})
        used = {index[c.image] for plan in pods for c in (*plan.containers, *plan.init)}
        return ClusterShape(pods, self.nodes, self.namespaces, self.workloads, used)

    def daemonsets(self) -> Iterator[PodPlan]:
        infra = self.cat.infra
        sets: tuple[tuple[str, str, list[tuple[str, int]], list[tuple[str, int]]], ...] = (
            ("logging", "fluent-bit", [("fluent-bit", infra["fluent-bit"])], []),
            ("monitoring", "node-exporter", [("node-exporter", infra["node-exporter"])], []),
            ("kube-system", "kube-proxy", [("kube-proxy", infra["kube-proxy"])], []),
            (
                "kube-system",
                "calico-node",
                [("calico-node", infra["calico-node"])],
                [("install-cni", infra["calico-cni"])],
            ),
            (
                "kube-system",
                "ebs-csi-node",
                [
                    ("ebs-plugin", infra["csi-driver"]),
                    ("node-driver-registrar", infra["csi-registrar"]),
                ],
                [],
            ),
        )
        for namespace, name, containers, init in sets:
            self.workloads["DaemonSet"] += 1
            revision = self.suffix(10)
            for node in self.nodes:
                yield PodPlan(
                    name=f"{name}-{self.suffix()}",
                    namespace=namespace,
                    node=node,
                    containers=[self.container(n, i, node, state="running") for n, i in containers],
                    init=[self.container(n, i, node, state="done") for n, i in init],
                    labels={"app.kubernetes.io/name": name, "controller-revision-hash": revision},
                    owners=[owner("DaemonSet", name)],
                )

    def control_plane(self) -> Iterator[PodPlan]:
        for namespace, name, role, replicas in (
            ("kube-system", "coredns", "coredns", 2),
            ("istio-system", "istiod", "istiod", 3),
        ):
            self.workloads["Deployment"] += 1
            rs_hash = self.suffix(10)
            for _ in range(replicas):
                node = self.node()
                yield PodPlan(
                    name=f"{name}-{rs_hash}-{self.suffix()}",
                    namespace=namespace,
                    node=node,
                    containers=[self.container(name, self.cat.infra[role], node, state="running")],
                    labels={"app": name, "pod-template-hash": rs_hash},
                    owners=[owner("ReplicaSet", f"{name}-{rs_hash}")],
                )

    def replicas(self, most: int) -> int:
        """1–50, Zipf-like: most Deployments are small, a few are large."""
        cum = self.replica_cum
        n = bisect.bisect(cum, self.rng.random() * cum[-1]) + 1
        return max(1, min(n, most))

    def workload(self, app: int, left: int) -> list[PodPlan]:
        rng = self.rng
        tags = self.cat.apps[app]
        repo = self.cat.specs[tags[0]].repo
        service = repo.rsplit("/", 1)[1]
        team = repo.split("/")[1]
        namespace = next(
            (ns for ns in self.team_namespaces if ns.startswith(f"{team}-") and rng.random() < 0.5),
            None,
        ) or self.pick_namespace.draw(rng)
        roll = rng.random()
        if len(tags) > 1 or roll < 0.72:
            kind = "Deployment"
        elif roll < 0.80:
            kind = "StatefulSet"
        elif roll < 0.90:
            kind = "CronJob"
        elif roll < 0.96:
            kind = "Job"
        else:
            kind = "Pod"
        self.workloads[kind] += 1
        mesh = namespace in self.mesh and kind in ("Deployment", "StatefulSet")
        extra = self.pick_shared.draw(rng) if rng.random() < 0.15 else None
        init_image = None
        if rng.random() < 0.2:
            init_image = self.pick_shared.draw(rng)
        elif rng.random() < 0.1:
            init_image = -1  # a migration step running the app's own image
        pinned = rng.random() < 0.05
        annotations = {"prometheus.io/scrape": "true", "prometheus.io/port": "9090"}
        if rng.random() < 0.02:
            annotations["ballast.dev/exception"] = (
                "{rules: [maxCompressedSize], limit: 900MB, justification: "
                '"model weights baked in, ML-'
                + str(rng.randint(100, 999))
                + '", expires: 2099-12-31}'
            )

        def pod(
            name: str,
            image: int,
            *,
            labels: dict[str, str],
            owners: list[dict[str, Any]],
            state: str = "running",
            phase: str = "Running",
        ) -> PodPlan:
            node = self.node()
            init_state = "pulling" if state == "pulling" else "done"
            containers = [self.container(service, image, node, state=state, pinned=pinned)]
            init: list[C] = []
            pod_annotations = dict(annotations)
            if extra is not None:
                sidecar = self.cat.specs[extra].repo.rsplit("/", 1)[1]
                containers.append(self.container(sidecar, extra, node, state=state))
            if init_image is not None:
                index = image if init_image == -1 else init_image
                init.append(
                    self.container(
                        "migrate" if init_image == -1 else "wait", index, node, state=init_state
                    )
                )
            if mesh:
                proxy = self.cat.infra["istio-proxy"]
                init.append(self.container("istio-init", proxy, node, state=init_state))
                containers.append(self.container("istio-proxy", proxy, node, state=state))
                pod_annotations["sidecar.istio.io/status"] = ISTIO_STATUS
                pod_annotations["kubectl.kubernetes.io/default-container"] = service
            return PodPlan(
                name=name,
                namespace=namespace,
                node=node,
                containers=containers,
                init=init,
                labels={"app.kubernetes.io/name": service, "team": team, **labels},
                annotations=pod_annotations,
                owners=owners,
                phase=phase,
            )

        name = self.unique(namespace, service)
        pods: list[PodPlan] = []
        if kind == "Deployment":
            count = self.replicas(left)
            versions = [(tags[0], count)]
            if len(tags) > 1 and left > 1:  # mid-rollout: the new ReplicaSet has a few pods
                count = max(count, 2)
                new = min(max(1, count // 3), count - 1)
                versions = [(tags[0], count - new), (tags[1], new)]
            for image, replicas in versions:
                rs_hash = self.suffix(10)
                for k in range(replicas):
                    pulling = image != tags[0] and k == replicas - 1 and rng.random() < 0.3
                    pods.append(
                        pod(
                            f"{name}-{rs_hash}-{self.suffix()}",
                            image,
                            labels={"pod-template-hash": rs_hash},
                            owners=[owner("ReplicaSet", f"{name}-{rs_hash}")],
                            state="pulling" if pulling else "running",
                            phase="Pending" if pulling else "Running",
                        )
                    )
        elif kind == "StatefulSet":
            image = tags[0] if rng.random() < 0.4 else self.pick_shared.draw(rng)
            revision = f"{name}-{self.suffix(10)}"
            pods += [
                pod(
                    f"{name}-{k}",
                    image,
                    labels={"controller-revision-hash": revision},
                    owners=[owner("StatefulSet", name)],
                )
                for k in range(min(rng.randint(1, 5), left))
            ]
        elif kind == "CronJob":
            first = 29_512_800 + rng.randrange(1000)
            for k in range(min(3, left)):  # successfulJobsHistoryLimit: 3
                job = f"{name}-{first + k * 60}"
                failed = rng.random() < 0.03
                pods.append(
                    pod(
                        f"{job}-{self.suffix()}",
                        tags[0],
                        labels={"batch.kubernetes.io/job-name": job, "job-name": job},
                        owners=[owner("Job", job, api_version="batch/v1")],
                        state="done",
                        phase="Failed" if failed else "Succeeded",
                    )
                )
        elif kind == "Job":
            pods.append(
                pod(
                    f"{name}-{self.suffix()}",
                    tags[0],
                    labels={"batch.kubernetes.io/job-name": name, "job-name": name},
                    owners=[owner("Job", name, api_version="batch/v1")],
                    state="done",
                    phase="Succeeded",
                )
            )
        else:
            pods.append(pod(name, tags[0], labels={}, owners=[]))
        return pods


ISTIO_STATUS = json.dumps(
    {
        "initContainers": ["istio-init"],
        "containers": ["istio-proxy"],
        "volumes": [
            "workload-socket",
            "credential-socket",
            "workload-certs",
            "istio-envoy",
            "istio-data",
            "istio-podinfo",
            "istio-token",
            "istiod-ca-cert",
        ],
        "imagePullSecrets": None,
        "revision": "default",
    }
)


# -- rendering pods as kubectl prints them -----------------------------------------------------


def _uid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _spec_container(c: C, *, volume: str, rng: random.Random) -> dict[str, Any]:
    return {
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "PORT", "value": "8080"},
            {
                "name": "POD_NAME",
                "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}},
            },
            {
                "name": "POD_NAMESPACE",
                "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}},
            },
        ],
        "image": c.image,
        "imagePullPolicy": "IfNotPresent",
        "livenessProbe": {
            "failureThreshold": 3,
            "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
            "periodSeconds": 10,
            "successThreshold": 1,
            "timeoutSeconds": 1,
        },
        "name": c.name,
        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
        "readinessProbe": {
            "failureThreshold": 3,
            "httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"},
            "periodSeconds": 5,
            "successThreshold": 1,
            "timeoutSeconds": 1,
        },
        "resources": {
            "limits": {"cpu": "1", "memory": f"{rng.choice((256, 512, 1024))}Mi"},
            "requests": {"cpu": f"{rng.choice((50, 100, 250))}m", "memory": "128Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
        },
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [
            {
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "name": volume,
                "readOnly": True,
            }
        ],
    }


def _container_status(c: C, *, phase: str, docker: bool, rng: random.Random) -> dict[str, Any]:
    runtime_id = f"{'docker' if docker else 'containerd'}://{rng.getrandbits(256):064x}"
    status: dict[str, Any] = {
        "image": c.image,
        "imageID": c.image_id or "",
        "lastState": {},
        "name": c.name,
        "ready": False,
        "restartCount": 0,
        "started": False,
    }
    if not c.image_id:
        status["state"] = {"waiting": {"reason": "ContainerCreating"}}
    elif c.running:
        status.update(containerID=runtime_id, ready=True, started=True)
        status["state"] = {"running": {"startedAt": CREATED}}
    else:
        code = 1 if phase == "Failed" else 0
        status["containerID"] = runtime_id
        status["state"] = {
            "terminated": {
                "containerID": runtime_id,
                "exitCode": code,
                "finishedAt": "2026-06-01T08:01:12Z",
                "reason": "Error" if code else "Completed",
                "startedAt": CREATED,
            }
        }
    return status


def kubectl_pod(plan: PodPlan, *, docker: bool, rng: random.Random) -> dict[str, Any]:
    """A pod as ``kubectl get pods -A -o json`` prints it (managedFields hidden, as kubectl
    does by default): about 4–7 KB of JSON per pod."""
    volume = f"kube-api-access-{''.join(rng.choice(HASH_CHARS) for _ in range(5))}"
    metadata: dict[str, Any] = {
        "annotations": plan.annotations,
        "creationTimestamp": CREATED,
        "labels": plan.labels,
        "name": plan.name,
        "namespace": plan.namespace,
        "resourceVersion": str(rng.randint(10**6, 10**8)),
        "uid": _uid(rng),
    }
    if plan.owners:
        metadata["generateName"] = plan.name.rsplit("-", 1)[0] + "-"
        metadata["ownerReferences"] = plan.owners
    spec: dict[str, Any] = {
        "containers": [_spec_container(c, volume=volume, rng=rng) for c in plan.containers],
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": "Always" if plan.phase in ("Running", "Pending") else "OnFailure",
        "schedulerName": "default-scheduler",
        "securityContext": {"fsGroup": 10001, "runAsUser": 10001},
        "serviceAccount": "default",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
        "tolerations": [
            {
                "effect": "NoExecute",
                "key": f"node.kubernetes.io/{key}",
                "operator": "Exists",
                "tolerationSeconds": 300,
            }
            for key in ("not-ready", "unreachable")
        ],
        "volumes": [
            {
                "name": volume,
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {
                            "configMap": {
                                "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                "name": "kube-root-ca.crt",
                            }
                        },
                        {
                            "downwardAPI": {
                                "items": [
                                    {
                                        "fieldRef": {
                                            "apiVersion": "v1",
                                            "fieldPath": "metadata.namespace",
                                        },
                                        "path": "namespace",
                                    }
                                ]
                            }
                        },
                    ],
                },
            }
        ],
    }
    if plan.init:
        spec["initContainers"] = [_spec_container(c, volume=volume, rng=rng) for c in plan.init]
    if plan.node:
        spec["nodeName"] = plan.node
    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
    if not plan.with_status:
        return pod
    ready = "True" if plan.phase == "Running" else "False"
    host_ip = f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    pod_ip = f"10.{rng.randint(1, 3)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    status: dict[str, Any] = {
        "conditions": [
            {"lastProbeTime": None, "lastTransitionTime": CREATED, "status": value, "type": kind}
            for kind, value in (
                ("PodReadyToStartContainers", "True"),
                ("Initialized", "True"),
                ("Ready", ready),
                ("ContainersReady", ready),
                ("PodScheduled", "True"),
            )
        ],
        "containerStatuses": [
            _container_status(c, phase=plan.phase, docker=docker, rng=rng)
            for c in plan.containers
            if c.image_id is not None
        ],
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "phase": plan.phase,
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "qosClass": "Burstable",
        "startTime": CREATED,
    }
    if plan.init:
        status["initContainerStatuses"] = [
            _container_status(
                C(c.name, c.image, c.image_id, running=False),
                phase="Succeeded",
                docker=docker,
                rng=rng,
            )
            for c in plan.init
            if c.image_id is not None
        ]
    pod["status"] = status
    return pod


def fixture_pod(plan: PodPlan) -> dict[str, Any]:
    """The same pod built by ``tests.auditor.podlists.make_pod`` from k8s.io/api's fully
    populated Pod fixture (every field set: about 20–30 KB per pod)."""
    return make_pod(
        plan.name,
        plan.namespace,
        containers=plan.containers,
        init=plan.init,
        node=plan.node,
        phase=plan.phase,
        labels=plan.labels,
        annotations=plan.annotations,
        owners=plan.owners,
        with_status=plan.with_status,
    )


def write_document(
    shape: ClusterShape, docker_nodes: set[str], path: Path, *, fixture: bool, rng: random.Random
) -> int:
    """Write the ``kind: List`` document (kubectl's shape; 4-space indent like kubectl) and
    return its size in bytes."""
    items = [
        fixture_pod(plan)
        if fixture
        else kubectl_pod(plan, docker=plan.node in docker_nodes, rng=rng)
        for plan in shape.pods
    ]
    document = {
        "apiVersion": "v1",
        "items": items,
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }
    with path.open("w") as out:
        json.dump(document, out, indent=4)
    return path.stat().st_size


# -- measuring --------------------------------------------------------------------------------


@dataclass(slots=True)
class Requests:
    """Registry requests seen by the proxy, attributed to images."""

    total: int
    by_kind: dict[str, int]
    per_image: collections.Counter[str]
    unattributed: int
    paths: dict[str, list[str]]
    """Image digest → ``METHOD kind ref`` of each request, in order."""

    @classmethod
    def of(
        cls, requests: Sequence[tuple[str, str, int]], owners: dict[tuple[str, str], str]
    ) -> Requests:
        kinds: collections.Counter[str] = collections.Counter()
        per_image: collections.Counter[str] = collections.Counter()
        paths: dict[str, list[str]] = collections.defaultdict(list)
        unattributed = 0
        for method, path, _ in requests:
            path = path.split("?", 1)[0]
            image = None
            for marker, kind in (("/manifests/", "manifest"), ("/blobs/", "blob")):
                head, found, ref = path.partition(marker)
                if found:
                    kinds[f"{method} {kind}"] += 1
                    image = owners.get((head.removeprefix("/v2/"), ref))
                    if image is not None:
                        paths[image].append(f"{method} {kind} {ref[:19]}")
                    break
            else:
                kinds[f"{method} {'/v2/ ping' if path in ('/v2/', '/v2') else 'other'}"] += 1
            if image is None:
                unattributed += 1
            else:
                per_image[image] += 1
        return cls(len(requests), dict(sorted(kinds.items())), per_image, unattributed, paths)


@dataclass(slots=True)
class Row:
    """One line of the result table."""

    label: str
    wall_s: float
    pass_s: float
    list_s: float
    resolve_s: float
    evaluate_s: float
    outside_s: float
    """CLI rows: wall − pass (interpreter, imports, settings, rendering, writing stdout);
    in-process rows: rendering the JSON report."""
    requests: Requests
    rss_mb: float | None = None


@dataclass(slots=True)
class CliRun:
    wall_s: float
    cpu_s: float
    rss_mb: float
    returncode: int
    report: dict[str, Any] | None
    stdout_bytes: int
    stderr: str


def run_cli(argv: Sequence[str], env: dict[str, str], out: Path, err: Path) -> CliRun:
    """One CLI run in a child process: wall time, CPU, peak RSS, and its JSON report."""
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env, cwd=REPO_ROOT
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = out.read_bytes()
    try:
        report = json.loads(text) if proc.returncode == 0 else None
    except ValueError:
        report = None
    return CliRun(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        rss_mb=usage.ru_maxrss / 1024,
        returncode=proc.returncode,
        report=report,
        stdout_bytes=len(text),
        stderr=err.read_text(errors="replace"),
    )


def check_report(images: Sequence[dict[str, Any]], expected: dict[str, str], label: str) -> int:
    """Images that are unknown or carry a digest nobody pushed; returns how many (first few
    printed). ``expected``: digest → repository."""
    bad = 0
    for image in images:
        digest = image.get("digest")
        if image.get("unknown"):
            problem = f"unknown: {image.get('unknownReason')}"
        elif digest not in expected:
            problem = f"digest {digest} was not pushed"
        else:
            continue
        bad += 1
        if bad <= 5:
            print(f"  ! {label}: {image.get('key')}: {problem}", file=sys.stderr)
    return bad


def snapshot_images(snapshot: AuditSnapshot) -> list[dict[str, Any]]:
    return [
        {
            "key": i.key,
            "digest": i.digest,
            "unknown": i.is_unknown,
            "unknownReason": i.unknown_reason,
        }
        for i in snapshot.images
    ]


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds >= 10:
        return f"{seconds:6.1f} s"
    if seconds >= 1:
        return f"{seconds:6.2f} s"
    return f"{seconds * 1e3:5.0f} ms"


def print_table(rows: Sequence[Row], unique_images: int) -> None:
    header = (
        f"{'':40} {'wall':>9} {'pass':>9} {'list':>9} {'resolve':>9} {'evaluate':>9} "
        f"{'outside':>9} {'requests':>8} {'req/img':>7} {'max':>4} {'RSS':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        req = row.requests
        most = max(req.per_image.values(), default=0)
        rss = f"{row.rss_mb:5.0f} MB" if row.rss_mb is not None else "–"
        print(
            f"{row.label:40} {fmt_s(row.wall_s):>9} {fmt_s(row.pass_s):>9} {fmt_s(row.list_s):>9} "
            f"{fmt_s(row.resolve_s):>9} {fmt_s(row.evaluate_s):>9} {fmt_s(row.outside_s):>9} "
            f"{req.total:8d} {req.total / max(unique_images, 1):7.2f} {most:4d} {rss:>7}"
        )
    print()
    print("requests by kind:")
    for row in rows:
        shown = ", ".join(f"{k} {v}" for k, v in row.requests.by_kind.items()) or "none"
        if row.requests.unattributed:
            shown += f" ({row.requests.unattributed} not attributed to an image)"
        print(f"  {row.label:40} {shown}")


def profile_top(run: Callable[[], object], top: int) -> str:
    """cProfile's top functions by own time, with the cyclic GC off: cProfile charges a
    collection to whichever function happened to allocate, which hides the code's own costs
    (the GC's share is measured apart, in the breakdown)."""
    profiler = cProfile.Profile()
    gc.collect()
    gc.disable()
    try:
        profiler.enable()
        run()
        profiler.disable()
    finally:
        gc.enable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    total = stats.total_tt  # type: ignore[attr-defined]
    lines = [
        f"cProfile top {top} by own time, one in-process warm pass (LRU hot, GC off), "
        f"{total:.2f} s under the profiler:"
    ]
    lines.append(f"  {'ncalls':>10} {'tottime':>8} {'cumtime':>8}  function")
    entries = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    for (filename, line, name), (_, calls, tottime, cumtime, _) in entries[:top]:
        where = filename
        for prefix in (str(REPO_ROOT) + "/", os.path.dirname(os.__file__) + "/"):
            where = where.removeprefix(prefix)
        lines.append(f"  {calls:10d} {tottime:8.3f} {cumtime:8.3f}  {where}:{line}({name})")
    return "\n".join(lines)


def open_ballast(environ: dict[str, str]) -> Services:
    """Settings and services exactly as ``ballast.cli`` builds them."""
    from ballast.services import open_services
    from ballast.settings import load_settings

    return open_services(load_settings(environ), environ)


@dataclass(slots=True)
class InProcessPass:
    snapshot: AuditSnapshot
    audit_s: float
    render_s: float
    gc: GcPauses

    @property
    def wall_s(self) -> float:
        return self.audit_s + self.render_s


@dataclass(slots=True)
class GcPauses:
    """Time spent in the cyclic garbage collector, from ``gc.callbacks``."""

    seconds: float = 0.0
    collections: int = 0
    full: int = 0
    """Generation-2 collections: each walks every tracked object of the process."""
    _started: float = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.seconds += time.perf_counter() - self._started
        self.collections += 1
        self.full += info["generation"] == 2


def in_process_pass(
    path: Path, services: Services, policy: Any, max_workers: int, *, collect: bool = True
) -> InProcessPass:
    """One pass as ``ballast audit`` runs it (``audit`` over a ``FileSource``, which lists
    and calls ``audit_pods``), on services already open, then the JSON report.
    ``collect=False`` turns the cyclic GC off for the pass (a what-if, not the user path)."""
    from auditor.reports import render
    from auditor.scan import audit
    from auditor.source import FileSource

    pauses = GcPauses()
    gc.callbacks.append(pauses)
    if not collect:
        gc.disable()
    try:
        started = time.perf_counter()
        snapshot = audit(
            FileSource(path),
            services.lookup,
            policy=policy,
            layer_report_for=services.layers.cached_report,
            max_workers=max_workers,
        )
        audited = time.perf_counter()
        render(snapshot, "json")
        rendered = time.perf_counter()
    finally:
        gc.enable()
        gc.callbacks.remove(pauses)
    return InProcessPass(snapshot, audited - started, rendered - audited, pauses)


def list_breakdown(path: Path) -> tuple[float, float, float]:
    """What ``FileSource.list_pods`` does, step by step: read, ``json.loads``,
    ``parse_pod_list`` (seconds each)."""
    from auditor.pods import parse_pod_list

    t0 = time.perf_counter()
    data = path.read_bytes()
    t1 = time.perf_counter()
    document = json.loads(data)
    t2 = time.perf_counter()
    parse_pod_list(document, source=f"file {path}")
    return t1 - t0, t2 - t1, time.perf_counter() - t2


def in_process_row(label: str, run: InProcessPass, requests: Requests) -> Row:
    timing = run.snapshot.timing
    return Row(
        label,
        run.wall_s,
        timing.duration_s,
        timing.list_s,
        timing.resolve_s,
        timing.evaluate_s,
        run.render_s,
        requests,
    )


def cli_row(label: str, run: CliRun, requests: Requests) -> Row:
    timing = (run.report or {}).get("timing", {})
    duration = float(timing.get("durationSeconds", 0.0))
    return Row(
        label,
        run.wall_s,
        duration,
        float(timing.get("listSeconds", 0.0)),
        float(timing.get("resolveSeconds", 0.0)),
        float(timing.get("evaluateSeconds", 0.0)),
        run.wall_s - duration,
        requests,
        run.rss_mb,
    )


# -- the benchmark ----------------------------------------------------------------------------


def run(args: argparse.Namespace, reg: ChildRegistry, cat: Catalogue, tmp: Path) -> int:
    pushed: list[Pushed] = reg.populated
    failures = 0

    # The cluster document.
    started = time.perf_counter()
    builder = ClusterBuilder(
        cat,
        pushed,
        host=reg.host,
        nodes=args.nodes,
        namespaces=args.namespaces,
        rng=random.Random(args.seed + 1),
    )
    shape = builder.build(args.pods, without_status=args.without_status)
    pods_path = tmp / "pods.json"
    size = write_document(
        shape,
        builder.docker_nodes,
        pods_path,
        fixture=args.fixture_pods,
        rng=random.Random(args.seed + 2),
    )
    generated_s = time.perf_counter() - started
    containers = sum(len(p.containers) + len(p.init) for p in shape.pods)
    unused = len(cat.specs) - len(shape.used)
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(shape.workloads.items()))
    phases = collections.Counter(p.phase if p.with_status else "no status" for p in shape.pods)
    print(
        f"cluster: {len(shape.pods):,} pods, {containers:,} containers (init included), "
        f"{len(shape.used):,} images used of {len(cat.specs):,} pushed, {len(shape.nodes)} nodes "
        f"({len(builder.docker_nodes)} dockershim), {len(shape.namespaces)} namespaces "
        f"({len(builder.mesh)} with the mesh sidecar)"
    )
    print(f"  workloads: {kinds}")
    print(f"  pods: {', '.join(f'{k} {v}' for k, v in sorted(phases.items()))}")
    uses = collections.Counter(
        c.image.split("/", 1)[1] for p in shape.pods for c in (*p.containers, *p.init)
    )
    top = ", ".join(f"{ref.rsplit('/', 1)[1]} ×{n:,}" for ref, n in uses.most_common(5))
    print(f"  most used: {top}")
    print(
        f"  document: {size / 1e6:.1f} MB ({size / len(shape.pods) / 1e3:.1f} KB per pod, "
        f"{'podlists.make_pod fixture' if args.fixture_pods else 'kubectl'} shape), "
        f"written in {generated_s:.1f} s"
    )
    if unused:
        print(f"  ({unused} pushed images are used by no pod: raise --pods or lower --images)")
    print()

    owners: dict[tuple[str, str], str] = {}
    expected: dict[str, str] = {}
    for image in pushed:
        owners[(image.repo, image.tag)] = image.digest
        for digest in image.digests:
            owners[(image.repo, digest)] = image.digest
        expected[image.digest] = image.repo

    home = tmp / "home"
    home.mkdir()
    cache_path = tmp / "cache" / "facts.db"
    environ = {
        "BALLAST_INSECURE_REGISTRIES": reg.host,
        "BALLAST_CACHE_PATH": str(cache_path),
        "HOME": str(home),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALLAST_")}
    env.update(environ, PYTHONPATH=str(REPO_ROOT))
    argv = [
        sys.executable,
        "-m",
        "ballast",
        "audit",
        "--pods",
        str(pods_path),
        "--format",
        "json",
        "--layer-budget",
        "0",
    ]
    rows: list[Row] = []

    def cli(label: str, name: str) -> CliRun:
        nonlocal failures
        reg.reset_counts()
        result = run_cli(argv, env, tmp / f"{name}.json", tmp / f"{name}.err")
        requests = Requests.of(reg.requests, owners)
        if result.returncode != 0 or result.report is None:
            failures += 1
            print(
                f"  ! {label}: exit {result.returncode}\n{result.stderr[-3000:]}", file=sys.stderr
            )
        else:
            failures += check_report(result.report["images"], expected, label)
        rows.append(cli_row(label, result, requests))
        return result

    # (a) cold and (b) warm, as a user runs them.
    cold = cli("cold: ballast audit (fresh SQLite)", "cold")
    warm = cli("warm: ballast audit (same SQLite)", "warm")

    # Interpreter start and imports alone, for the "outside" column of the CLI rows.
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import ballast.cli, auditor.runner, auditor.reports"],
        env=env,
        cwd=REPO_ROOT,
        check=False,
    )
    imports_s = time.perf_counter() - started

    # (c) in-process, services as the CLI builds them: first pass LRU cold (SQLite warm),
    # then passes on the same services (LRU hot).
    from ballast.policy import PolicySource

    services = open_ballast(environ)
    policy = PolicySource(None).current()
    max_workers = 16
    try:
        reg.reset_counts()
        first = in_process_pass(pods_path, services, policy, max_workers)
        rows.append(
            in_process_row(
                "warm in-process, LRU cold (SQLite)", first, Requests.of(reg.requests, owners)
            )
        )
        failures += check_report(snapshot_images(first.snapshot), expected, "in-process")
        reg.reset_counts()
        hot = [
            in_process_pass(pods_path, services, policy, max_workers) for _ in range(args.rounds)
        ]
        hot_requests = Requests.of(reg.requests, owners)
        best = min(hot, key=lambda r: r.wall_s)
        rows.append(
            in_process_row(f"warm in-process, LRU hot (best of {args.rounds})", best, hot_requests)
        )
        failures += check_report(snapshot_images(best.snapshot), expected, "in-process hot")
        reg.reset_counts()
        gc.collect()
        no_gc = in_process_pass(pods_path, services, policy, max_workers, collect=False)
        rows.append(
            in_process_row(
                "what-if: LRU hot, cyclic GC off", no_gc, Requests.of(reg.requests, owners)
            )
        )
        profile = profile_top(
            lambda: in_process_pass(pods_path, services, policy, max_workers), args.top
        )
    finally:
        services.close()

    unique = cold.report["summary"]["uniqueImages"] if cold.report else len(shape.used)
    print_table(rows, unique)
    print()
    summary = (cold.report or {}).get("summary", {})
    print(
        f"report: {summary.get('pods', 0):,} pods, {summary.get('containers', 0):,} containers, "
        f"{summary.get('workloads', 0):,} workloads, {unique:,} unique images "
        f"({summary.get('unknownImages', 0)} unknown), {summary.get('failedFindings', 0)} failed "
        f"findings; JSON report {cold.stdout_bytes / 1e6:.1f} MB"
    )
    print(
        f"CLI CPU (user+sys): cold {cold.cpu_s:.2f} s, warm {warm.cpu_s:.2f} s; interpreter "
        f"start + imports alone {imports_s:.2f} s (part of 'outside' in the CLI rows)"
    )
    print(
        "columns: pass = the snapshot's durationSeconds (list + resolve + evaluate); list = read "
        "+ JSON parse + pod parse; resolve = owners, grouping, facts; evaluate = policy and "
        "records; outside = CLI: wall − pass; in-process: rendering the JSON report"
    )
    print()
    timing = best.snapshot.timing
    hot_walls = [r.wall_s for r in hot]
    print(
        f"where the warm in-process pass goes (LRU hot, best of {args.rounds}; median wall "
        f"{statistics.median(hot_walls):.2f} s):"
    )
    read_s, json_s, parse_s = list_breakdown(pods_path)
    scale = timing.list_s / (read_s + json_s + parse_s)  # split the pass's own list time
    parts = (
        ("list: read the file", read_s * scale),
        ("list: json.loads", json_s * scale),
        ("list: parse_pod_list", parse_s * scale),
        ("resolve (owners, groups, facts)", timing.resolve_s),
        ("evaluate (policy, records)", timing.evaluate_s),
        ("render the JSON report", best.render_s),
    )
    for name, seconds in parts:
        print(f"  {name:34} {fmt_s(seconds):>9}  {seconds / best.wall_s:5.1%}")
    print(f"  {'total':34} {fmt_s(best.wall_s):>9}")
    print(
        f"  {'of which cyclic GC pauses':34} {fmt_s(best.gc.seconds):>9}  "
        f"{best.gc.seconds / best.wall_s:5.1%}  ({best.gc.collections} collections, "
        f"{best.gc.full} full; with the GC off the same pass takes {no_gc.wall_s:.2f} s)"
    )
    print()
    print(profile)
    print()

    cold_req = rows[0].requests
    cold_max = max(cold_req.per_image.values(), default=0)
    over = sum(1 for n in cold_req.per_image.values() if n > COLD_REQUESTS_TARGET)
    verdict = "met" if cold_max <= COLD_REQUESTS_TARGET else "MISSED"
    print(
        f"target cold requests: {cold_req.total / max(unique, 1):.2f} per unique image, at most "
        f"{cold_max} for one image ({over} images above {COLD_REQUESTS_TARGET}; "
        f"≤ {COLD_REQUESTS_TARGET}: {verdict})"
    )
    names = {image.digest: f"{image.repo}:{image.tag}" for image in pushed}
    for digest, count in cold_req.per_image.most_common(min(over, 3)):
        print(f"  {names[digest]} ({count}): {', '.join(cold_req.paths[digest])}")
    for label, row in (("warm CLI pass", rows[1]), ("warm in-process pass, LRU hot", rows[3])):
        verdict = "met" if row.pass_s < WARM_TARGET_S else "MISSED"
        print(
            f"target warm:          {label}: {row.pass_s:.2f} s pass, {row.wall_s:.2f} s wall "
            f"(pass < {WARM_TARGET_S:.0f} s: {verdict})"
        )
    warm_requests = sum(r.requests.total for r in rows[1:])
    verdict = "met" if warm_requests == 0 else "MISSED"
    print(f"target warm requests: {warm_requests} over the warm passes (none: {verdict})")
    if failures:
        print(f"\n{failures} audits failed or images were unknown / wrong", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ballast audit on a generated large cluster.")
    parser.add_argument("--pods", type=int, default=20_000, help="pods in the document (20000)")
    parser.add_argument("--images", type=int, default=2_000, help="distinct images pushed (2000)")
    parser.add_argument("--nodes", type=int, default=200, help="nodes (200)")
    parser.add_argument("--namespaces", type=int, default=100, help="namespaces (100)")
    parser.add_argument("--without-status", type=int, default=12, help="pods without status (12)")
    parser.add_argument("--push-workers", type=int, default=8, help="images pushed at once (8)")
    parser.add_argument("--rounds", type=int, default=3, help="in-process LRU-hot passes (3)")
    parser.add_argument("--top", type=int, default=10, help="cProfile lines (10)")
    parser.add_argument("--seed", type=int, default=20260601, help="generator seed")
    parser.add_argument(
        "--fixture-pods",
        action="store_true",
        help="render pods with tests.auditor.podlists.make_pod (every field set, ~5× larger)",
    )
    args = parser.parse_args(argv)
    if min(args.pods, args.images, args.nodes, args.rounds) < 1 or args.images < 20:
        parser.error("--pods, --nodes, --rounds must be at least 1 and --images at least 20")
    if args.namespaces < len(SYSTEM_NAMESPACES) + len(ENVIRONMENTS):
        parser.error(f"--namespaces must be at least {len(SYSTEM_NAMESPACES) + len(ENVIRONMENTS)}")

    cat = build_catalogue(args.images, random.Random(args.seed))
    tmp = scratch_dir("ballast-bench-audit-")
    try:
        print(f"pushing {len(cat.specs)} images ({args.push_workers} at a time); scratch {tmp}")
        started = time.perf_counter()
        reg = ChildRegistry(tmp / "registry", push_all, cat.specs, args.push_workers, args.seed)
        try:
            print(
                f"registry {reg.registry_host} behind proxy {reg.host}, in a child process; "
                f"pushed in {time.perf_counter() - started:.1f} s; {os.cpu_count()} CPUs, "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            return run(args, reg, cat, tmp)
        finally:
            reg.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
