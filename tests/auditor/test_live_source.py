"""The live listing path: the official client against a local API-shaped server.

The server (apiserver.py) answers with real Kubernetes API shapes; kubectl itself reads
from it, which the last tests use to show the file and live paths see the same pods.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.errors import ClusterError, KubeConfigError
from auditor.owners import AttributionRule, OwnerIndex, WorkloadId, attribute
from auditor.pods import PodList
from auditor.scan import audit
from auditor.source import FileSource, KubernetesSource
from tests.auditor.apiserver import LocalApiServer
from tests.auditor.conftest import NOW, TODAY, ServicesFactory
from tests.auditor.podlists import (
    REPORT_JOB,
    WEB_HASH,
    WEB_NEXT_HASH,
    fake_images,
    kube_object,
    owner,
    realistic_cluster,
)
from tests.auditor.test_scan_registry import POLICY, push_cluster
from tests.support.registry import LocalRegistry

OWNER_OBJECTS = [
    kube_object("ReplicaSet", "shop", f"web-{WEB_HASH}", owners=[owner("Deployment", "web")]),
    kube_object("ReplicaSet", "shop", f"web-{WEB_NEXT_HASH}", owners=[owner("Deployment", "web")]),
    kube_object(
        "ReplicaSet", "tools", "toolbox-6d5c4b3a2", owners=[owner("Deployment", "toolbox")]
    ),
    kube_object("Deployment", "shop", "web", annotations={"team": "shop"}),
    kube_object("Deployment", "tools", "toolbox"),
    kube_object("StatefulSet", "shop", "db"),
    kube_object("DaemonSet", "kube-system", "node-exporter"),
    kube_object(
        "Job",
        "batch",
        REPORT_JOB,
        api_version="batch/v1",
        owners=[owner("CronJob", "nightly-report", api_version="batch/v1")],
    ),
    kube_object("Job", "batch", "migrate-2", api_version="batch/v1"),
    kube_object("CronJob", "batch", "nightly-report", api_version="batch/v1"),
    *(
        kube_object(
            "Namespace",
            "",
            ns,
            api_version="v1",
            labels={"kubernetes.io/metadata.name": ns, "team": ns},
        )
        for ns in ("shop", "batch", "kube-system", "tools", "empty")
    ),
]


def load_cluster(server: LocalApiServer) -> None:
    server.state.load([*realistic_cluster(fake_images()), *OWNER_OBJECTS])


_opened: list[KubernetesSource] = []


@pytest.fixture(autouse=True)
def _close_sources() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


def connect(kubeconfig: Path, tmp_path: Path, **kwargs: Any) -> KubernetesSource:
    source = KubernetesSource.connect(
        environ={"HOME": str(tmp_path)}, kubeconfig=str(kubeconfig), **kwargs
    )
    _opened.append(source)
    return source


def pod_requests(server: LocalApiServer) -> list[dict[str, str]]:
    return [query for path, query, _ in server.state.requests if path.endswith("/pods")]


def test_live_listing_against_local_api_shaped_server_pages_with_continue(
    api_server: LocalApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    load_cluster(api_server)
    source = connect(kubeconfig, tmp_path, page_size=5)
    listing = source.list_pods()
    assert len(listing.pods) == 16 and listing.notes == ()
    assert len({(p.namespace, p.name) for p in listing.pods}) == 16
    queries = pod_requests(api_server)
    assert [q.get("limit") for q in queries] == ["5"] * 4
    assert "continue" not in queries[0] and all("continue" in q for q in queries[1:])
    # Owners were listed metadata-only, once per kind, cluster-wide.
    metadata_lists = [
        (path, accept) for path, _, accept in api_server.state.requests if "/pods" not in path
    ]
    assert {p for p, _ in metadata_lists} == {
        "/apis/apps/v1/replicasets",
        "/apis/batch/v1/jobs",
        "/apis/apps/v1/deployments",
        "/apis/apps/v1/statefulsets",
        "/apis/apps/v1/daemonsets",
        "/apis/batch/v1/cronjobs",
        "/api/v1/replicationcontrollers",
        "/api/v1/namespaces",
    }
    assert all("as=PartialObjectMetadataList" in a for _, a in metadata_lists)
    index = OwnerIndex(listing.objects)
    attributions = {p.name: attribute(p, index) for p in listing.pods}
    web = attributions[f"web-{WEB_HASH}-x7k2p"]
    assert web.workload == WorkloadId("shop", "Deployment", "web")
    assert web.rule is AttributionRule.OWNERS
    assert web.listed is not None and web.listed.annotations == {"team": "shop"}
    report = attributions[f"{REPORT_JOB}-q8w7e"]
    assert report.workload == WorkloadId("batch", "CronJob", "nightly-report")
    assert report.rule is AttributionRule.OWNERS
    assert index.namespace_labels("shop") == {"kubernetes.io/metadata.name": "shop", "team": "shop"}
    assert "local" in source.description and "all namespaces" in source.description


def test_live_listing_against_local_api_shaped_server_restarts_after_410_gone(
    api_server: LocalApiServer, kubeconfig: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load_cluster(api_server)
    api_server.state.expire_continue = 1
    listing = connect(kubeconfig, tmp_path, page_size=5, read_owners=False).list_pods()
    # Page 1, page 2 → 410 Gone, then the whole list again: 1 + 1 + 4 requests.
    queries = pod_requests(api_server)
    assert len(queries) == 6
    assert "continue" not in queries[2]
    assert len(listing.pods) == 16
    assert len({(p.namespace, p.name) for p in listing.pods}) == 16  # nothing read twice
    assert "expired (410 Gone); listing again from the start (1/3)" in caplog.text


def test_live_listing_against_local_api_shaped_server_gives_up_after_repeated_410(
    api_server: LocalApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    load_cluster(api_server)
    api_server.state.expire_continue = 100
    source = connect(kubeconfig, tmp_path, page_size=5, max_restarts=2, read_owners=False)
    with pytest.raises(ClusterError) as caught:
        source.list_pods()
    assert caught.value.status == 410
    message = str(caught.value)
    assert "the continue token expired 3 times" in message
    assert "too old to display a consistent list" in message
    assert len(pod_requests(api_server)) == 6


def test_live_listing_against_local_api_shaped_server_forbidden_pods_gives_the_rbac_rule(
    api_server: LocalApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    load_cluster(api_server)
    api_server.state.forbidden = {"pods"}
    with pytest.raises(ClusterError) as caught:
        connect(kubeconfig, tmp_path).list_pods()
    message = str(caught.value)
    assert caught.value.status == 403
    assert 'resources: ["pods"], verbs: ["list"]' in message
    assert 'cannot list resource "pods"' in message  # the API server's own words
    assert caught.value.server == api_server.url


def test_live_listing_against_local_api_shaped_server_without_owner_rbac_infers_from_names(
    api_server: LocalApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    load_cluster(api_server)
    api_server.state.forbidden = {"replicasets", "jobs", "namespaces"}
    listing = connect(kubeconfig, tmp_path).list_pods()
    assert len(listing.pods) == 16
    assert len(listing.notes) == 3
    assert listing.notes[0].startswith("replicasets not read (listing replicasets on ")
    assert 'resources: ["replicasets"]' in listing.notes[0]
    assert listing.notes[0].endswith("; Deployments are inferred from ReplicaSet names")
    assert listing.notes[2].endswith(
        "; namespace labels are not known (only kubernetes.io/metadata.name)"
    )
    index = OwnerIndex(listing.objects)
    web = next(attribute(p, index) for p in listing.pods if p.name.startswith("web-"))
    assert web.workload == WorkloadId("shop", "Deployment", "web")
    assert web.rule is AttributionRule.TEMPLATE_HASH
    assert web.listed is not None  # the Deployment itself could be listed


def test_live_listing_against_local_api_shaped_server_selected_namespaces(
    api_server: LocalApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    load_cluster(api_server)
    source = connect(kubeconfig, tmp_path, namespaces=["shop", "batch"], page_size=3)
    listing = source.list_pods()
    assert {p.namespace for p in listing.pods} == {"shop", "batch"}
    assert len(listing.pods) == 8
    paths = {path for path, _, _ in api_server.state.requests}
    assert {"/api/v1/namespaces/shop/pods", "/api/v1/namespaces/batch/pods"} <= paths
    assert "/api/v1/pods" not in paths
    assert "/apis/apps/v1/namespaces/shop/replicasets" in paths
    assert {o.name for o in listing.objects if o.kind == "Namespace"} == {"shop", "batch"}
    assert source.description.endswith(", shop, batch")


def test_live_listing_against_local_api_shaped_server_rejected_token(
    api_server: LocalApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    api_server.state.token = "the-right-one"
    with pytest.raises(ClusterError) as caught:
        connect(kubeconfig, tmp_path).list_pods()
    assert caught.value.status == 401
    assert "refresh the kubeconfig's token or certificate" in str(caught.value)


def test_live_listing_against_local_api_shaped_server_sends_the_kubeconfig_token(
    api_server: LocalApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    load_cluster(api_server)
    api_server.state.token = "auditor-token"
    assert len(connect(kubeconfig, tmp_path).list_pods().pods) == 16


def test_live_version_against_local_api_shaped_server(
    api_server: LocalApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    from auditor.kube import connect as kube_connect

    api = kube_connect(environ={"HOME": str(tmp_path)}, kubeconfig=str(kubeconfig))
    try:
        assert api.version() == "v1.32.4"
        assert api.description == f"{api_server.url} (context local)"
    finally:
        api.close()


def test_unreachable_api_server_says_to_check_the_address(
    kubeconfig: Path, tmp_path: Path, refused_address: str
) -> None:
    source = connect(kubeconfig, tmp_path, context="elsewhere")
    with pytest.raises(ClusterError) as caught:
        source.list_pods()
    assert caught.value.status is None
    assert str(caught.value).startswith(
        f"cannot reach the Kubernetes API server http://{refused_address} (context elsewhere)"
    )
    assert "check the kubeconfig's server address" in str(caught.value)


def test_an_unknown_context_lists_the_known_ones(kubeconfig: Path, tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError) as caught:
        connect(kubeconfig, tmp_path, context="prod")
    assert str(caught.value) == (
        f"context 'prod' is not in {kubeconfig}; its contexts: local, elsewhere"
    )


def test_no_kubeconfig_and_no_cluster_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError) as caught:
        KubernetesSource.connect(environ={"HOME": str(tmp_path)})
    message = str(caught.value)
    assert message.startswith(f"no kubeconfig at {tmp_path}/.kube/config and not running")
    assert "--kubeconfig" in message and "--pods" in message


def test_kubeconfig_from_the_environment(
    api_server: LocalApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    load_cluster(api_server)
    with KubernetesSource.connect(
        environ={"HOME": str(tmp_path), "KUBECONFIG": f"{tmp_path}/missing:{kubeconfig}"}
    ) as source:
        assert len(source.list_pods().pods) == 16


def test_a_broken_kubeconfig_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\nclusters: 3\n")
    with pytest.raises(KubeConfigError) as caught:
        KubernetesSource.connect(environ={"HOME": str(tmp_path)}, kubeconfig=str(path))
    assert str(caught.value).startswith(f"kubeconfig {path} cannot be")


def test_in_cluster_outside_a_pod_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError) as caught:
        KubernetesSource.connect(environ={"HOME": str(tmp_path)}, in_cluster=True)
    assert str(caught.value).startswith("not running in a Kubernetes pod")


def test_a_server_that_is_not_kubernetes_is_reported(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    # /version answers, but the pod list path is not served under this prefix.
    path = tmp_path / "kubeconfig"
    config = json.loads(api_server.write_kubeconfig(path).read_text())
    config["clusters"][0]["cluster"]["server"] = f"{api_server.url}/not-kubernetes"
    path.write_text(json.dumps(config))
    with pytest.raises(ClusterError) as caught:
        connect(path, tmp_path).list_pods()
    assert caught.value.status == 404
    assert "is this a Kubernetes API server" in str(caught.value)


# -- the same pods through kubectl and through the client ---------------------------------------


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_output_and_live_listing_against_local_api_shaped_server_agree(
    api_server: LocalApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    load_cluster(api_server)
    result = subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            str(kubeconfig),
            "get",
            "pods",
            "-A",
            "-o",
            "json",
            "--chunk-size=4",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    pods_file = tmp_path / "pods.json"
    pods_file.write_bytes(result.stdout)
    from_file = FileSource(pods_file).list_pods()
    live = connect(kubeconfig, tmp_path, read_owners=False).list_pods()
    assert json.loads(result.stdout)["kind"] == "List"
    assert from_file.pods == live.pods
    assert len(from_file.pods) == 16 and from_file.notes == ()


def test_a_live_pass_against_local_api_shaped_server_and_registry_matches_the_file_pass(
    api_server: LocalApiServer,
    kubeconfig: Path,
    tmp_path: Path,
    registry: LocalRegistry,
    unique_repo: str,
    make_services: ServicesFactory,
) -> None:
    from tests.auditor.podlists import pod_list

    cluster = push_cluster(registry, unique_repo)
    pods = realistic_cluster(cluster.images)
    api_server.state.load([*pods, *OWNER_OBJECTS])
    pods_file = tmp_path / "pods.json"
    pods_file.write_text(json.dumps(pod_list(pods)))
    services = make_services(registry)
    live_source = connect(kubeconfig, tmp_path, page_size=7)
    live = audit(live_source, services.lookup, policy=POLICY, now=lambda: NOW, today=TODAY)
    offline = audit(FileSource(pods_file), services.lookup, policy=POLICY, today=TODAY)

    def shape(snapshot: Any) -> Any:
        return (
            [(i.key, i.compressed_bytes, i.nodes, i.pods, i.verdict) for i in snapshot.images],
            [(w.id, w.pods, w.pull_footprint_bytes) for w in snapshot.workloads],
            [(n.name, n.pull_footprint_bytes) for n in snapshot.namespaces],
        )

    assert shape(live) == shape(offline)
    assert live.counts.unique_images == 8
    # Live, owners come from ownerReferences; offline, from names: same workloads.
    rules = {w.id.name: w.rule for w in live.workloads}
    assert rules["web"] is AttributionRule.OWNERS
    assert {w.id.name: w.rule for w in offline.workloads}["web"] is AttributionRule.TEMPLATE_HASH
    assert isinstance(live_source.list_pods(), PodList)
