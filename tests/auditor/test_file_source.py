"""``--pods FILE`` and ``--pods -``: kubectl output read on every pass; errors say what to do."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from auditor.errors import PodListError
from auditor.owners import AttributionRule, OwnerIndex, WorkloadId, attribute
from auditor.source import FileSource
from tests.auditor.podlists import (
    C,
    fake_images,
    kube_object,
    make_pod,
    owner,
    pod_list,
    realistic_cluster,
)


def write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_the_file_is_read_again_on_every_pass(tmp_path: Path) -> None:
    path = write(tmp_path / "pods.json", pod_list(realistic_cluster(fake_images())))
    source = FileSource(path)
    assert len(source.list_pods().pods) == 16
    write(path, pod_list([make_pod("only", "ns", containers=[C("c", "nginx:1.25")])]))
    assert [p.name for p in source.list_pods().pods] == ["only"]
    assert source.description == f"file {path}"


def test_standard_input_is_read_once_and_kept_for_later_passes() -> None:
    data = json.dumps(pod_list(realistic_cluster(fake_images()))).encode()
    stream = io.BytesIO(data)
    source = FileSource("-", stdin=stream)
    first = source.list_pods()
    second = source.list_pods()
    assert first.pods == second.pods and len(first.pods) == 16
    assert source.description == "standard input"


def test_a_missing_file_says_how_to_make_it(tmp_path: Path) -> None:
    path = tmp_path / "pods.json"
    with pytest.raises(PodListError) as caught:
        FileSource(path).list_pods()
    assert str(caught.value) == (
        f"cannot read the pod list {path}: No such file or directory; write it with "
        f"'kubectl get pods -A -o json > {path}'"
    )
    assert caught.value.found == "no file"


def test_a_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "pods.yaml"
    path.write_text("apiVersion: v1\nkind: List\nitems: []\n")
    with pytest.raises(PodListError) as caught:
        FileSource(path).list_pods()
    assert str(caught.value).startswith(f"file {path} is not JSON (Expecting value")
    assert caught.value.found == "not JSON"


def test_a_file_with_a_deployment_names_it(tmp_path: Path) -> None:
    document = json.loads(
        Path(
            "/work/shared/fixtures/peers/k8s/k8s-api-testdata-HEAD-apps.v1.Deployment.json"
        ).read_text()
    )
    path = write(tmp_path / "deploy.json", document)
    with pytest.raises(PodListError) as caught:
        FileSource(path).list_pods()
    assert str(caught.value).startswith(
        f"file {path} is a Deployment (apps/v1) named 'nameValue', not a pod list"
    )


def test_selected_namespaces_filter_pods_and_objects(tmp_path: Path) -> None:
    objects = [
        kube_object("Namespace", "", "shop", api_version="v1", labels={"team": "shop"}),
        kube_object("Namespace", "", "tools", api_version="v1"),
        kube_object("StatefulSet", "shop", "db"),
    ]
    path = write(
        tmp_path / "pods.json", pod_list(realistic_cluster(fake_images()), objects=objects)
    )
    listing = FileSource(path, namespaces=["shop"]).list_pods()
    assert {p.namespace for p in listing.pods} == {"shop"} and len(listing.pods) == 6
    assert [(o.kind, o.name) for o in listing.objects] == [
        ("Namespace", "shop"),
        ("StatefulSet", "db"),
    ]


def test_a_multi_kind_kubectl_list_gives_exact_owners_offline(tmp_path: Path) -> None:
    """``kubectl get pods,rs,jobs -A -o json``: one List with every kind."""
    pods = [
        make_pod(
            "canary-6f7d8-a",
            "ns",
            containers=[C("c", "nginx")],
            labels={"pod-template-hash": "6f7d8"},
            owners=[owner("ReplicaSet", "canary-6f7d8")],
        ),
    ]
    objects = [
        kube_object(
            "ReplicaSet",
            "ns",
            "canary-6f7d8",
            owners=[owner("Rollout", "canary", api_version="argoproj.io/v1alpha1")],
        ),
    ]
    path = write(tmp_path / "all.json", pod_list(pods, objects=objects))
    listing = FileSource(path).list_pods()
    (pod,) = listing.pods
    result = attribute(pod, OwnerIndex(listing.objects))
    assert result.workload == WorkloadId("ns", "Rollout", "canary")
    assert result.rule is AttributionRule.OWNERS
