"""Audit passes against the real local registry: sizes, footprint, verdicts, failures, budgets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from auditor.model import AuditSnapshot, ImageRecord
from auditor.owners import WorkloadId
from auditor.pods import ContainerType
from auditor.scan import audit
from auditor.source import FileSource
from ballast.facts import ImageFacts
from ballast.policy import Policy, Status, Verdict, load_policy
from tests.auditor.conftest import NOW, TODAY, ServicesFactory
from tests.auditor.podlists import (
    C,
    ClusterImages,
    Img,
    fake_digest,
    make_pod,
    owner,
    pod_list,
    realistic_cluster,
)
from tests.support.registry import LocalRegistry, PushedImage, push_image, push_index

POLICY = load_policy(
    """
    apiVersion: ballast.dev/v1
    kind: Policy
    metadata: {name: audit-test}
    spec:
      mode: warn
      rules:
        maxCompressedSize: {limit: 200kB}
        maxLayerCount: {limit: 3, action: enforce}
        maxHiddenBytes: {limit: 1MB}
    """,
    source="audit-test.yaml",
)

LAYERS = {
    # name: (tag, compressed layer sizes)
    "web": ("1.4", [120_000, 80_000]),
    "web-next": ("1.5", [150_000, 90_000]),
    "migrate": ("1.4", [30_000]),
    "postgres": ("16", [10_000] * 5),
    "report": ("2", [40_000]),
    "busybox": ("1.36", [10_000]),
    "toolbox": ("3", [250_000]),
}


@dataclass
class PushedCluster:
    images: ClusterImages
    pushed: dict[str, PushedImage]
    exporter_index_digest: str
    exporter_amd64: PushedImage
    sizes: dict[str, int] = field(default_factory=dict)

    def size(self, name: str) -> int:
        return (
            self.exporter_amd64.compressed_size
            if name == "exporter"
            else self.pushed[name].compressed_size
        )


def push_cluster(
    registry: LocalRegistry, repo: str, *, skip: tuple[str, ...] = ()
) -> PushedCluster:
    pushed: dict[str, PushedImage] = {}
    imgs: dict[str, Img] = {}
    for name, (tag, sizes) in LAYERS.items():
        if name in skip:
            ref = registry.ref(f"{repo}/{name}", tag)
            imgs[name] = Img(ref, fake_digest(ref))
            continue
        image = push_image(registry, f"{repo}/{name}", tag, layer_sizes=sizes)
        pushed[name] = image
        imgs[name] = Img(image.tag_ref, image.digest)
    amd64 = push_image(registry, f"{repo}/exporter", None, layer_sizes=[60_000, 20_000])
    arm64 = push_image(
        registry, f"{repo}/exporter", None, layer_sizes=[55_000], platform=("linux", "arm64", None)
    )
    index = push_index(registry, f"{repo}/exporter", "v1.8", [amd64, arm64])
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
    return PushedCluster(images, pushed, index.digest, amd64)


def write_pods(tmp_path: Path, images: ClusterImages) -> FileSource:
    path = tmp_path / "pods.json"
    path.write_text(json.dumps(pod_list(realistic_cluster(images))))
    return FileSource(path)


def run(source: FileSource, services_lookup: object, **kwargs: object) -> AuditSnapshot:
    return audit(
        source,
        services_lookup,  # type: ignore[arg-type]
        policy=kwargs.pop("policy", POLICY),  # type: ignore[arg-type]
        now=lambda: NOW,
        today=TODAY,
        **kwargs,  # type: ignore[arg-type]
    )


def by_repo(snapshot: AuditSnapshot, name: str) -> ImageRecord:
    (record,) = [i for i in snapshot.images if any(r.endswith(f"/{name}") for r in i.repositories)]
    return record


def test_audit_against_local_registry_gives_sizes_footprint_and_verdicts(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory, tmp_path: Path
) -> None:
    cluster = push_cluster(registry, unique_repo)
    services = make_services(registry)
    snapshot = run(write_pods(tmp_path, cluster.images), services.lookup)

    counts = snapshot.counts
    assert (counts.pods, counts.containers, counts.unique_images) == (16, 21, 8)
    assert (counts.workloads, counts.namespaces, counts.nodes) == (9, 4, 3)
    assert (counts.unknown_images, counts.registry_errors, counts.skipped_items) == (0, 0, 0)
    assert dict(counts.phases) == {"": 1, "Pending": 1, "Running": 12, "Succeeded": 2}
    assert dict(counts.container_types) == {
        "container": 16,
        "ephemeralContainer": 1,
        "initContainer": 4,
    }

    # Per image: size from the manifest, nodes, pods, footprint = size × distinct nodes.
    expected = {
        # repo: (pods, containers, nodes, verdict)
        "web": (3, 3, 3, Verdict.WARN),
        "web-next": (1, 1, 1, Verdict.WARN),
        "migrate": (5, 5, 3, Verdict.ALLOW),
        "postgres": (2, 2, 2, Verdict.ALLOW),
        "report": (1, 1, 1, Verdict.ALLOW),
        "exporter": (3, 3, 3, Verdict.ALLOW),
        "busybox": (2, 2, 1, Verdict.ALLOW),
        "toolbox": (4, 4, 3, Verdict.WARN),
    }
    for name, (pods, containers, nodes, verdict) in expected.items():
        record = by_repo(snapshot, name)
        size = cluster.size(name)
        assert record.compressed_bytes == size, name
        assert (record.pods, record.containers, len(record.nodes)) == (pods, containers, nodes), (
            name
        )
        assert record.pull_footprint_bytes == size * nodes, name
        assert record.verdict is verdict, name
        assert record.unknown_reason is None
    assert snapshot.compressed_bytes == sum(cluster.size(n) for n in expected)
    assert snapshot.pull_footprint_bytes == sum(
        cluster.size(n) * nodes for n, (_, _, nodes, _) in expected.items()
    )

    # Images come largest first; the multi-arch exporter is sized for linux/amd64.
    sizes = [i.compressed_bytes or 0 for i in snapshot.images]
    assert sizes == sorted(sizes, reverse=True)
    exporter = by_repo(snapshot, "exporter")
    assert exporter.key == exporter.digest == cluster.exporter_index_digest
    assert exporter.platform == "linux/amd64"
    assert exporter.primary is not None
    assert exporter.primary.digest == cluster.exporter_amd64.digest
    # The pending pod's init container (a tag, not pulled yet) merged with the running digest.
    migrate = by_repo(snapshot, "migrate")
    assert migrate.key == cluster.pushed["migrate"].digest
    assert migrate.references[0] == f"{registry.host}/{unique_repo}/migrate@{migrate.key}"
    assert f"{registry.host}/{unique_repo}/migrate:1.4" in migrate.references
    types = {u.workload.name: {c.type for c in u.containers} for u in migrate.uses}
    assert types == {"web": {ContainerType.INIT}, "migrate-2": {ContainerType.CONTAINER}}

    # Verdicts per workload context: kube-system is exempt by default; the db exception waives
    # maxLayerCount; the toolbox exception has expired and is ignored.
    toolbox = by_repo(snapshot, "toolbox")
    verdicts = {u.workload.key: u.verdict for u in toolbox.uses}
    assert verdicts["kube-system/Pod/kube-proxy-node-a"].exempt is not None
    assert verdicts["tools/Deployment/toolbox"].verdict is Verdict.WARN
    assert verdicts["tools/Pod/debug-shell"].verdict is Verdict.WARN
    postgres = by_repo(snapshot, "postgres")
    (db_use,) = postgres.uses
    layer_count = next(f for f in db_use.verdict.findings if f.rule == "maxLayerCount")
    assert layer_count.status is Status.WARN and layer_count.exception == 0

    (honoured,) = snapshot.exceptions
    assert honoured.workload == WorkloadId("shop", "StatefulSet", "db")
    assert honoured.applied_to == ("maxLayerCount",)
    assert honoured.applied_images == (postgres.key,)
    assert honoured.justification.startswith("the postgres image keeps")
    assert str(honoured.expires) == "2099-12-31" and honoured.source == "pod"
    (ignored,) = snapshot.ignored_exceptions
    assert ignored.workload == WorkloadId("tools", "Deployment", "toolbox")
    assert ignored.reason == "exception #1 expired on 2020-01-31"

    # Findings: failures first, with advice; the waived one is reported as warn.
    failing = [f for f in snapshot.findings if f.finding.status is Status.FAIL]
    assert {(f.image, f.finding.rule) for f in failing} == {
        (by_repo(snapshot, "web").key, "maxCompressedSize"),
        (by_repo(snapshot, "web-next").key, "maxCompressedSize"),
        (toolbox.key, "maxCompressedSize"),
    }
    assert all(f.finding.advice for f in failing)
    toolbox_finding = next(f for f in failing if f.image == toolbox.key)
    assert toolbox_finding.workloads == (
        WorkloadId("tools", "Deployment", "toolbox"),
        WorkloadId("tools", "Pod", "debug-shell"),
    )
    assert toolbox_finding.nodes == 3
    assert snapshot.findings[-1].finding.status is Status.WARN
    assert counts.failed_findings == 3

    # Workloads and namespaces: largest pull footprint first.
    web = snapshot.workload(WorkloadId("shop", "Deployment", "web"))
    assert web is not None
    assert (web.pods, web.containers, web.nodes) == (4, 8, ("node-a", "node-b", "node-c"))
    assert web.pull_footprint_bytes == (
        cluster.size("web") * 3 + cluster.size("web-next") * 1 + cluster.size("migrate") * 3
    )
    assert web.verdict is Verdict.WARN and web.rule.value == "pod-template-hash"
    footprints = [w.pull_footprint_bytes for w in snapshot.workloads]
    assert footprints == sorted(footprints, reverse=True)
    namespaces = {n.name: n for n in snapshot.namespaces}
    assert namespaces["batch"].pull_footprint_bytes == cluster.size("report") + cluster.size(
        "migrate"
    )
    assert namespaces["shop"].images == 4 and namespaces["shop"].workloads == 2
    assert namespaces["tools"].failed_findings == 1
    node_totals = {n.name: n for n in snapshot.nodes}
    assert node_totals["node-a"].pods == 6 and node_totals["node-a"].images == 6

    assert snapshot.policy.name == "audit-test"
    assert snapshot.timing.started == NOW and snapshot.timing.duration_s >= 0
    assert snapshot.source == f"file {tmp_path / 'pods.json'}"


def test_warm_second_pass_makes_no_registry_requests(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory, tmp_path: Path
) -> None:
    cluster = push_cluster(registry, unique_repo)
    services = make_services(registry)
    source = write_pods(tmp_path, cluster.images)
    registry.reset_counts()
    cold = run(source, services.lookup)
    # Cold: at most 3 requests per unique image (here 2 for most: manifest and config).
    assert 0 < len(registry.requests) <= 3 * cold.counts.unique_images
    registry.reset_counts()
    warm = run(source, services.lookup)
    assert registry.requests == []
    assert [(i.key, i.compressed_bytes, i.nodes) for i in warm.images] == [
        (i.key, i.compressed_bytes, i.nodes) for i in cold.images
    ]


def test_cold_pass_costs_two_requests_per_unique_digest_not_per_pod(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory
) -> None:
    images = [
        push_image(registry, f"{unique_repo}/app{n}", "1", layer_sizes=[1_000]) for n in range(3)
    ]
    pods = [
        make_pod(
            f"app{n}-{replica}",
            "ns",
            containers=[C("app", image.tag_ref, f"{registry.host}/{image.repo}@{image.digest}")],
            node=f"node-{replica % 4}",
        )
        for n, image in enumerate(images)
        for replica in range(40)
    ]
    from auditor.pods import parse_pod_list
    from auditor.scan import audit_pods

    services = make_services(registry)
    registry.reset_counts()
    snapshot = audit_pods(
        parse_pod_list(pod_list(pods)), services.lookup, policy=POLICY, today=TODAY
    )
    assert snapshot.counts.pods == 120 and snapshot.counts.unique_images == 3
    assert registry.count("GET", "/manifests/") == 3
    assert registry.count("GET", "/blobs/") == 3
    assert len(registry.requests) == 6
    assert all(i.pull_footprint_bytes == i.compressed_bytes * 4 for i in snapshot.images)  # type: ignore[operator]


def test_failing_registry_mid_pass_gives_unknown_images_with_reasons_and_the_rest_succeed(
    registry: LocalRegistry,
    unique_repo: str,
    make_services: ServicesFactory,
    refused_address: str,
    tmp_path: Path,
) -> None:
    cluster = push_cluster(registry, unique_repo, skip=("busybox",))
    images = cluster.images
    report_ref = f"{refused_address}/{unique_repo}/report:2"
    images = replace(images, report=Img(report_ref, fake_digest(report_ref)))
    registry.stall_paths = {f"/v2/{unique_repo}/postgres/"}
    services = make_services(
        registry, refused_address, read_timeout_s=0.5, total_timeout_s=1.0, retries=0
    )
    snapshot = run(write_pods(tmp_path, images), services.lookup)

    unknown = {i.key: i for i in snapshot.images if i.is_unknown}
    postgres = unknown[cluster.pushed["postgres"].digest]
    assert postgres.error_type == "RegistryUnavailable" and postgres.is_registry_error
    assert postgres.unknown_reason and "postgres" in postgres.unknown_reason
    report = unknown[report_ref]  # a bare image ID in the status: keyed by the spec tag
    assert report.error_type == "RegistryUnavailable" and report.registry == refused_address
    assert refused_address.split(":")[0] in (report.unknown_reason or "")
    # busybox was never pushed: its digest (running pod) and its tag (pod without status)
    # cannot be told to be the same image, so both are unknown.
    busybox = [i for i in unknown.values() if "/busybox" in i.references[0]]
    assert {i.error_type for i in busybox} == {"NotFound"}
    assert len(busybox) == 2
    assert snapshot.counts.unknown_images == 4 == snapshot.counts.registry_errors

    # The rest succeeded, with their sizes.
    known = [i for i in snapshot.images if not i.is_unknown]
    assert len(known) == 5
    assert by_repo(snapshot, "web").compressed_bytes == cluster.size("web")
    # Unknown images get the policy's failure mode (warn), unless exempt; they have no size.
    (db_use,) = postgres.uses
    assert db_use.verdict.verdict is Verdict.WARN
    assert db_use.verdict.failure is not None and "image facts unknown" in db_use.verdict.failure
    assert postgres.compressed_bytes is None and postgres.pull_footprint_bytes is None
    assert not any(f.finding.rule == "facts" for f in snapshot.findings)


def test_a_digest_in_two_repositories_is_fetched_from_the_second_when_the_first_fails(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory
) -> None:
    from auditor.pods import parse_pod_list
    from auditor.scan import audit_pods

    image = push_image(registry, f"{unique_repo}/real", "1", layer_sizes=[5_000])
    gone = f"{registry.host}/{unique_repo}/gone"
    pods = [
        make_pod("a", "ns", containers=[C("c", f"{gone}:1", f"{gone}@{image.digest}")], node="n1"),
        make_pod(
            "b",
            "ns",
            containers=[C("c", image.tag_ref, f"{registry.host}/{image.repo}@{image.digest}")],
            node="n2",
        ),
    ]
    services = make_services(registry)
    snapshot = audit_pods(parse_pod_list(pod_list(pods)), services.lookup, policy=POLICY)
    (record,) = snapshot.images
    assert record.key == image.digest and record.compressed_bytes == image.compressed_size
    assert record.references == (
        f"{registry.host}/{image.repo}@{image.digest}",
        f"{gone}@{image.digest}",
    )
    assert record.nodes == ("n1", "n2") and record.pods == 2


@dataclass(frozen=True)
class HiddenPath:
    path: str
    bytes: int
    shipped_by_layer: int
    removed_by_layer: int


@dataclass(frozen=True)
class LayerReport:
    """A layer report as ballast.layers will cache it (the attributes the policy reads)."""

    uncompressed_bytes: int
    hidden_bytes: int
    efficiency: float = 0.9
    wasted_bytes: int = 0
    user_wasted_percent: float = 0.0
    layers: tuple[object, ...] = ()
    hidden: tuple[HiddenPath, ...] = ()
    inefficient_files: tuple[object, ...] = ()
    findings: tuple[object, ...] = ()


def test_layer_report_hook_reaches_the_policy_once_per_platform_manifest(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory, tmp_path: Path
) -> None:
    cluster = push_cluster(registry, unique_repo)
    web_digest = cluster.pushed["web"].digest
    calls: list[str] = []

    def layer_report_for(facts: ImageFacts) -> LayerReport | None:
        calls.append(facts.digest)
        if facts.digest != web_digest:
            return None
        hidden = HiddenPath("/var/cache/apt/archives/big.deb", 3_000_000, 0, 1)
        return LayerReport(uncompressed_bytes=9_000_000, hidden_bytes=3_000_000, hidden=(hidden,))

    services = make_services(registry)
    snapshot = run(
        write_pods(tmp_path, cluster.images), services.lookup, layer_report_for=layer_report_for
    )
    assert sorted(calls) == sorted(set(calls)) and len(calls) == 8
    web = by_repo(snapshot, "web")
    assert web.layer_report is not None and web.layer_report.uncompressed_bytes == 9_000_000
    hidden = next(f for f in snapshot.findings if f.finding.rule == "maxHiddenBytes")
    assert hidden.image == web.key and hidden.savings_bytes == 3_000_000
    assert hidden.node_savings_bytes == 3_000_000 * 3
    assert "/var/cache/apt/archives/big.deb" in hidden.finding.message
    assert snapshot.savings_bytes == 3_000_000
    shop = next(n for n in snapshot.namespaces if n.name == "shop")
    assert shop.savings_bytes == 3_000_000
    # Images without layer facts skip the rule that needs them.
    migrate_use = by_repo(snapshot, "migrate").uses[0]
    skipped = next(f for f in migrate_use.verdict.findings if f.rule == "maxHiddenBytes")
    assert skipped.status is Status.SKIP


def test_a_broken_layer_hook_does_not_fail_the_pass(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory, tmp_path: Path
) -> None:
    cluster = push_cluster(registry, unique_repo)

    def broken(facts: ImageFacts) -> None:
        raise OSError("layer store unavailable")

    services = make_services(registry)
    snapshot = run(write_pods(tmp_path, cluster.images), services.lookup, layer_report_for=broken)
    assert snapshot.counts.unknown_images == 0
    assert all(i.layer_report is None for i in snapshot.images)


@pytest.mark.parametrize("mode", ["enforce", "audit"])
def test_the_policy_mode_changes_verdicts_not_facts(
    mode: str,
    registry: LocalRegistry,
    unique_repo: str,
    make_services: ServicesFactory,
    tmp_path: Path,
) -> None:
    cluster = push_cluster(registry, unique_repo)
    policy: Policy = load_policy(
        f"apiVersion: ballast.dev/v1\nkind: Policy\nspec:\n  mode: {mode}\n"
        "  rules:\n    maxCompressedSize: {limit: 200kB}\n"
    )
    services = make_services(registry)
    snapshot = run(write_pods(tmp_path, cluster.images), services.lookup, policy=policy)
    web = by_repo(snapshot, "web")
    assert web.verdict is (Verdict.DENY if mode == "enforce" else Verdict.ALLOW)
    assert web.compressed_bytes == cluster.size("web")
    assert dict(snapshot.counts.images_by_verdict)[web.verdict.value] >= 1


def test_a_shared_image_is_judged_per_workload_context(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory
) -> None:
    """A sidecar in many workloads: exceptions and pod selectors still apply per workload."""
    from auditor.pods import parse_pod_list
    from auditor.scan import audit_pods

    sidecar = push_image(registry, f"{unique_repo}/sidecar", "1", layer_sizes=[210_000])
    image_id = f"{registry.host}/{sidecar.repo}@{sidecar.digest}"
    waiver = "rules: [maxCompressedSize]\njustification: vendor sidecar, tracked in SEC-9\n"

    def app(name: str, labels: dict[str, str], annotations: dict[str, str] | None = None) -> Any:
        return make_pod(
            f"{name}-0",
            "mesh",
            containers=[C("proxy", sidecar.tag_ref, image_id)],
            node="n1",
            labels=labels,
            annotations=annotations,
            owners=[owner("StatefulSet", name)],
        )

    pods = [
        app("a", {"audit": "yes"}),
        app("b", {"audit": "yes"}, {"ballast.dev/exception": waiver}),
        app("c", {"audit": "no"}),
        app("d", {"audit": "yes"}),
    ]
    policy = load_policy(
        "apiVersion: ballast.dev/v1\nkind: Policy\nspec:\n  mode: warn\n"
        "  scope: {podSelector: {matchLabels: {audit: 'yes'}}}\n"
        "  rules:\n    maxCompressedSize: {limit: 200kB}\n"
    )
    services = make_services(registry)
    snapshot = audit_pods(
        parse_pod_list(pod_list(pods)), services.lookup, policy=policy, today=TODAY
    )
    (record,) = snapshot.images
    verdicts = {u.workload.name: u.verdict for u in record.uses}
    assert verdicts["a"].verdict is Verdict.WARN and verdicts["d"].verdict is Verdict.WARN
    assert verdicts["b"].verdict is Verdict.ALLOW and verdicts["b"].waived
    assert verdicts["c"].exempt is not None
    statuses = {f.finding.status: [w.name for w in f.workloads] for f in snapshot.findings}
    assert statuses == {Status.FAIL: ["a", "d"], Status.WARN: ["b"]}
    (honoured,) = snapshot.exceptions
    assert honoured.workload.name == "b" and honoured.applied_to == ("maxCompressedSize",)
