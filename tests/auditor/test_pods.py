"""Reading pod lists: every container type, the image that really runs, malformed input."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from auditor.errors import PodListError
from auditor.pods import ContainerType, ImageOrigin, parse_pod_list, running_image
from tests.auditor.podlists import (
    POD_FIXTURE,
    C,
    fake_digest,
    fake_images,
    make_pod,
    pod_list,
    realistic_cluster,
)

DIGEST = fake_digest("nginx")
HEX = DIGEST.removeprefix("sha256:")


# -- the running image: a table of imageID forms ---------------------------------------------

IMAGE_CASES = [
    # (spec image, status imageID or None, expected reference, origin)
    pytest.param(
        "nginx:1.25",
        f"docker-pullable://nginx@{DIGEST}",
        f"docker.io/library/nginx@{DIGEST}",
        ImageOrigin.STATUS,
        id="dockershim-unnormalised",
    ),
    pytest.param(
        "registry.opensource.zalan.do/pathfinder/skipper:v0.13",
        f"docker-pullable://registry.opensource.zalan.do/pathfinder/skipper@{DIGEST}",
        f"registry.opensource.zalan.do/pathfinder/skipper@{DIGEST}",
        ImageOrigin.STATUS,
        id="dockershim-qualified",
    ),
    pytest.param(
        "nginx:1.25",
        f"docker.io/library/nginx@{DIGEST}",
        f"docker.io/library/nginx@{DIGEST}",
        ImageOrigin.STATUS,
        id="containerd",
    ),
    pytest.param(
        "ghcr.io/acme/api:2",
        f"mirror.local:5000/acme/api@{DIGEST}",
        f"ghcr.io/acme/api@{DIGEST}",
        ImageOrigin.STATUS,
        id="status-repo-differs-spec-repo-wins",
    ),
    pytest.param(
        f"nginx:1.25@{fake_digest('index')}",
        f"docker.io/library/nginx@{DIGEST}",
        f"docker.io/library/nginx@{DIGEST}",
        ImageOrigin.STATUS,
        id="pinned-spec-status-digest-wins",
    ),
    pytest.param(
        "nginx:1.25",
        DIGEST,
        "docker.io/library/nginx:1.25",
        ImageOrigin.SPEC,
        id="bare-image-id",
    ),
    pytest.param(
        "nginx:1.25",
        f"docker://{DIGEST}",
        "docker.io/library/nginx:1.25",
        ImageOrigin.SPEC,
        id="docker-image-id",
    ),
    pytest.param("nginx:1.25", "", "docker.io/library/nginx:1.25", ImageOrigin.SPEC, id="empty"),
    pytest.param(
        "nginx:1.25",
        "imageIDValue",
        "docker.io/library/nginx:1.25",
        ImageOrigin.SPEC,
        id="placeholder",
    ),
    pytest.param(
        "nginx:1.25",
        "docker.io/library/nginx@sha256:abc",
        "docker.io/library/nginx:1.25",
        ImageOrigin.SPEC,
        id="short-digest",
    ),
    pytest.param(
        "nginx:1.25",
        f"docker.io/library/nginx@sha512:{HEX}{HEX}",
        "docker.io/library/nginx:1.25",
        ImageOrigin.SPEC,
        id="sha512",
    ),
    pytest.param(
        "nginx:1.25", None, "docker.io/library/nginx:1.25", ImageOrigin.SPEC, id="no-status"
    ),
    pytest.param(
        "imageValue",
        f"docker.io/library/nginx@{DIGEST}",
        f"docker.io/library/nginx@{DIGEST}",
        ImageOrigin.STATUS,
        id="invalid-spec-status-repo-used",
    ),
    pytest.param("imageValue", "imageIDValue", None, ImageOrigin.NONE, id="both-invalid"),
    pytest.param("", None, None, ImageOrigin.NONE, id="no-image-no-status"),
]


@pytest.mark.parametrize(("spec", "image_id", "expected", "origin"), IMAGE_CASES)
def test_running_image_comes_from_the_status_digest_else_the_spec(
    spec: str, image_id: str | None, expected: str | None, origin: ImageOrigin
) -> None:
    image = running_image(spec, image_id)
    assert (str(image.reference) if image.reference else None) == expected
    assert image.origin is origin
    if origin is ImageOrigin.STATUS and spec != "imageValue":
        assert image.note == ""
    else:
        assert image.note  # says why the status was not used


def test_an_image_id_is_named_as_such_in_the_note() -> None:
    image = running_image("nginx:1.25", DIGEST)
    assert "is an image ID, not a manifest digest" in image.note
    assert image.key == "docker.io/library/nginx:1.25"
    assert running_image("nginx:1.25", f"nginx@{DIGEST}").key == DIGEST


# -- the real k8s.io/api Pod fixture -----------------------------------------------------------


def test_real_fixture_pod_gives_three_containers_and_no_decoys() -> None:
    document = json.loads(POD_FIXTURE.read_text())
    listing = parse_pod_list(document, source="core.v1.Pod.json")
    (pod,) = listing.pods
    assert (pod.namespace, pod.name, pod.node, pod.phase) == (
        "namespaceValue",
        "nameValue",
        "nodeNameValue",
        "phaseValue",
    )
    assert [c.type for c in pod.containers] == [
        ContainerType.CONTAINER,
        ContainerType.INIT,
        ContainerType.EPHEMERAL,
    ]
    # imageValue is uppercase (refused by the grammar) and imageIDValue a placeholder:
    # reported, never resolved; the volume image and volumeStatus imageRef are not containers.
    assert {c.spec_image for c in pod.containers} == {"imageValue"}
    assert {c.image_id for c in pod.containers} == {"imageIDValue"}
    assert {c.image.origin for c in pod.containers} == {ImageOrigin.NONE}
    assert pod.owners[0].kind == "kindValue" and pod.owners[0].controller
    assert dict(pod.labels) == {"labelsKey": "labelsValue"}


def test_status_is_matched_by_container_name_within_its_own_list() -> None:
    web, sidecar, init = fake_digest("web"), fake_digest("sidecar"), fake_digest("init")
    pod = make_pod(
        "p",
        "ns",
        containers=[
            C("web", "r.example/web:1", f"r.example/web@{web}"),
            C("sidecar", "r.example/side:1", f"r.example/side@{sidecar}"),
        ],
        init=[C("web", "r.example/init:1", f"r.example/init@{init}")],  # same name, other list
        node="n1",
    )
    # The runtime lists statuses in its own order.
    pod["status"]["containerStatuses"].reverse()
    (parsed,) = parse_pod_list(pod_list([pod])).pods
    digests = {(c.type, c.name): c.image.digest for c in parsed.containers}
    assert digests == {
        (ContainerType.CONTAINER, "web"): web,
        (ContainerType.CONTAINER, "sidecar"): sidecar,
        (ContainerType.INIT, "web"): init,
    }


# -- the realistic cluster ---------------------------------------------------------------------


def test_realistic_cluster_reads_every_pod_and_container_type() -> None:
    images = fake_images()
    listing = parse_pod_list(pod_list(realistic_cluster(images)), source="pods.json")
    assert listing.notes == () and listing.skipped == 0
    assert len(listing.pods) == 16
    containers = list(listing.containers)
    assert len(containers) == 21
    types = [c.type for c in containers]
    assert types.count(ContainerType.INIT) == 4
    assert types.count(ContainerType.EPHEMERAL) == 1
    by_pod = {(c.pod, c.name): c for c in containers}
    pending = by_pod[("web-5f6d7c8b9a-b2c4d", "web")]
    assert (pending.phase, pending.node, pending.image_id) == ("Pending", "node-a", "")
    assert str(pending.image.reference) == images.web_next.ref
    no_status = by_pod[("just-created", "shell")]
    assert (no_status.phase, no_status.node, no_status.image.origin) == ("", "", ImageOrigin.SPEC)
    assert "no container status yet" in no_status.image.note
    exporter = by_pod[("node-exporter-h2j4k", "exporter")]
    assert exporter.image_id.startswith("docker-pullable://mirror.example.com/")
    assert str(exporter.image.reference) == f"{images.exporter.name}@{images.exporter.digest}"
    report = by_pod[("nightly-report-29512800-q8w7e", "report")]
    assert report.image.origin is ImageOrigin.SPEC and report.image.key == images.report.ref
    debugger = by_pod[("debug-shell", "debugger")]
    assert debugger.type is ContainerType.EPHEMERAL
    assert debugger.image.digest == images.tool.digest


def test_api_server_podlist_items_without_kind_are_pods() -> None:
    pods = realistic_cluster(fake_images())
    listing = parse_pod_list(pod_list(pods, api_shape=True), source="page")
    assert len(listing.pods) == 16 and listing.objects == ()


# -- malformed input ---------------------------------------------------------------------------


def _good() -> dict[str, Any]:
    return make_pod("good", "ns", containers=[C("app", "nginx:1.25", f"nginx@{DIGEST}")])


BROKEN_ITEMS = [
    pytest.param("a string", "is the string 'a string', not an object", id="not-object"),
    pytest.param({"metadata": []}, "metadata is an array", id="metadata-array"),
    pytest.param({"metadata": {"namespace": "ns"}}, "metadata.name is null", id="no-name"),
    pytest.param(
        {"metadata": {"name": "p", "namespace": "ns"}, "spec": 3},
        "spec is a number",
        id="spec-number",
    ),
    pytest.param(
        {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": "x"}},
        "spec.containers is the string 'x'; ignored",
        id="containers-string",
    ),
    pytest.param(
        {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": [{"image": "a"}]}},
        "spec.containers[0].name is null; skipped",
        id="container-without-name",
    ),
    pytest.param({"kind": 7, "metadata": {}}, "has kind a number", id="kind-number"),
]


@pytest.mark.parametrize(("item", "note"), BROKEN_ITEMS)
def test_malformed_items_are_skipped_with_a_note_never_a_crash(item: object, note: str) -> None:
    document = pod_list([_good()])
    document["items"].insert(0, item)
    listing = parse_pod_list(document, source="pods.json")
    assert [p.name for p in listing.pods] == ["good"]
    assert listing.skipped == 1
    assert any(note in n for n in listing.notes), listing.notes
    assert listing.notes[0].startswith(("pods.json items[0]", "pod ns/p"))


def test_odd_fields_are_noted_and_the_pod_kept() -> None:
    pod = _good()
    pod["metadata"]["labels"] = {"app": "x", "replicas": 3}
    pod["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet"}]
    pod["status"] = "Running"
    del pod["metadata"]["namespace"]
    listing = parse_pod_list(pod_list([pod]))
    (parsed,) = listing.pods
    assert parsed.namespace == "default" and dict(parsed.labels) == {"app": "x"}
    assert parsed.owners == () and parsed.containers[0].image.origin is ImageOrigin.SPEC
    assert len(listing.notes) == 4


def test_notes_are_capped() -> None:
    document = pod_list([_good()])
    document["items"] += ["junk"] * 500
    listing = parse_pod_list(document)
    assert listing.skipped == 500
    assert len(listing.notes) == 51 and listing.notes[-1] == "... and 450 more notes"


NOT_POD_LISTS = [
    pytest.param([], "is an array, not a pod list", "an array", id="array"),
    pytest.param("pods", "is the string 'pods', not a pod list", "the string 'pods'", id="string"),
    pytest.param(
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}},
        "is a Deployment (apps/v1) named 'web', not a pod list",
        "a Deployment (apps/v1) named 'web'",
        id="deployment",
    ),
    pytest.param(
        {"kind": "List", "items": {"a": 1}},
        "is a List whose items are an object; expected a list of pods in items",
        "a List whose items are an object",
        id="items-object",
    ),
    pytest.param(
        {"spec": {}, "metadata": {}},
        "is an object without kind (keys: metadata, spec)",
        "an object without kind (keys: metadata, spec)",
        id="no-kind",
    ),
]


@pytest.mark.parametrize(("document", "message", "found"), NOT_POD_LISTS)
def test_a_document_that_is_not_a_pod_list_says_what_it_is(
    document: object, message: str, found: str
) -> None:
    with pytest.raises(PodListError) as caught:
        parse_pod_list(document, source="pods.json")
    assert str(caught.value).startswith(f"pods.json {message}")
    assert "kubectl get pods -A -o json" in str(caught.value) or "items" in str(caught.value)
    assert caught.value.found == found
    assert caught.value.source == "pods.json"


def test_a_single_pod_document_is_accepted() -> None:
    listing = parse_pod_list(copy.deepcopy(_good()))
    assert [p.name for p in listing.pods] == ["good"]


def test_a_list_with_other_kinds_keeps_them_as_owner_metadata() -> None:
    from tests.auditor.podlists import kube_object, owner

    rs = kube_object("ReplicaSet", "ns", "web-abc", owners=[owner("Deployment", "web")])
    namespace = kube_object("Namespace", "", "ns", api_version="v1", labels={"team": "a"})
    listing = parse_pod_list(pod_list([_good()], objects=[rs, namespace]))
    assert [(o.kind, o.namespace, o.name) for o in listing.objects] == [
        ("ReplicaSet", "ns", "web-abc"),
        ("Namespace", "", "ns"),
    ]
    assert listing.objects[0].controller is not None
    assert listing.objects[0].controller.name == "web"
