"""Which images a Kubernetes object asks for: every peer object, the decoys, UPDATE, kubectl debug.

The expected images come from /work/shared/fixtures/peers/k8s/manifest.json (52 files from
k8s.io/api testdata, connaisseur and kubewarden; see that folder's README). The manifest writes
field paths as ``spec.containers.0.image``; ballast writes ``spec.containers[0].image``.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from webhook.workloads import (
    EXCEPTION_ANNOTATION,
    MAX_NOTES,
    ContainerImage,
    ContainerType,
    ObjectKind,
    dedupe_images,
    extract_images,
    extract_workload,
    locate_pod_spec,
)

PEERS_DIR = Path(os.environ.get("BALLAST_PEER_FIXTURES", "/work/shared/fixtures/peers"))
K8S_DIR = PEERS_DIR / "k8s"
# Loaded at import: a missing manifest must be a collection error, not zero tests.
MANIFEST: list[dict[str, Any]] = json.loads((K8S_DIR / "manifest.json").read_text())["files"]
BY_FILE = {entry["file"]: entry for entry in MANIFEST}
IMAGE_VALUE_FILES = [e["file"] for e in MANIFEST if e["document"] == "Kubernetes object"]
ADMISSION_FILES = [e["file"] for e in MANIFEST if e["document"] != "Kubernetes object"]

SHA = "sha256:" + "91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff"


def load(name: str) -> Any:
    return json.loads((K8S_DIR / name).read_text())


def ballast_path(manifest_path: str) -> str:
    """``spec.containers.0.image`` → ``spec.containers[0].image``."""
    return re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", manifest_path)


def subject_of(entry: dict[str, Any]) -> tuple[Mapping[str, Any] | None, ObjectKind | None]:
    """The object a manifest entry's images come from, and the kind to read it as."""
    document = load(entry["file"])
    if entry["document"] == "Kubernetes object":
        return document, None
    if not isinstance(document, dict):
        return None, None
    request = document.get("request", document)  # kubewarden files are bare requests
    kind = request.get("kind")
    if not isinstance(kind, dict):
        return None, None
    gvk = ObjectKind(group=kind["group"], version=kind["version"], kind=kind["kind"])
    obj = request.get("object")
    return (obj if isinstance(obj, dict) else None), gvk


def triples(images: tuple[ContainerImage, ...]) -> list[tuple[str, str | None, str]]:
    return [(i.field_path, i.container_name, i.image) for i in images]


def expected_triples(rows: list[dict[str, Any]]) -> list[tuple[str, str | None, str]]:
    return [(ballast_path(r["field"]), r["container"], r["image"]) for r in rows]


def dig(obj: Any, manifest_path: str) -> Any:
    for key in manifest_path.split("."):
        obj = obj[int(key)] if isinstance(obj, list) else obj[key]
    return obj


# --- every peer file ---


@pytest.mark.parametrize("name", sorted(BY_FILE))
def test_every_peer_object_yields_the_manifest_images_in_order(name: str) -> None:
    entry = BY_FILE[name]
    obj, kind = subject_of(entry)
    expected = expected_triples(entry.get("expected_images", []))
    if obj is None:
        assert expected == []  # null document, broken request: nothing to read
        return
    scan = extract_images(obj, kind)
    assert triples(scan.images) == expected
    assert [i.image for i in scan.images] == entry["expected_image_list"]
    unique = [u.image for u in dedupe_images(scan.images)]
    # The manifest sorts its unique list; ballast keeps the order of first occurrence.
    assert sorted(unique) == sorted(entry["expected_unique_images"])
    assert unique == list(dict.fromkeys(entry["expected_image_list"]))
    assert scan.notes == ()
    if expected:
        assert scan.skip_reason is None


@pytest.mark.parametrize("name", ADMISSION_FILES)
def test_old_objects_yield_the_manifest_old_images(name: str) -> None:
    entry = BY_FILE[name]
    document = load(name)
    if not isinstance(document, dict):
        assert entry["expected_images"] == []  # the JSON null document
        return
    request = document.get("request", document)
    old = request.get("oldObject")
    expected = expected_triples(entry.get("expected_old_object_images", []))
    if not isinstance(old, dict) or not old:
        assert expected == []  # null, {}, "" and the string "None" all carry no images
        return
    _, kind = subject_of(entry)
    assert triples(extract_images(old, kind).images) == expected


@pytest.mark.parametrize("name", IMAGE_VALUE_FILES)
def test_k8s_api_placeholder_image_is_reported_three_times_and_judged_once(name: str) -> None:
    """Each k8s.io/api fixture has one container, init and ephemeral container, all `imageValue`.

    `imageValue` is not a valid reference (uppercase); the extractor still reports it, and the
    reference parser is the one to reject it.
    """
    document = load(name)
    workload = extract_workload(document)
    assert [i.image for i in workload.images] == ["imageValue"] * 3
    assert [i.container_type for i in workload.images] == list(ContainerType)
    assert workload.changed_images == workload.images
    (use,) = workload.unique_changed_images
    assert use.image == "imageValue"
    assert use.field_paths == tuple(i.field_path for i in workload.images)
    assert use.container_names == ("nameValue",) * 3
    assert BY_FILE[name]["duplicates"] == ["imageValue"]


@pytest.mark.parametrize("name", IMAGE_VALUE_FILES)
def test_image_volumes_rbd_and_status_images_are_not_reported(name: str) -> None:
    entry = BY_FILE[name]
    document = load(name)
    decoys = entry["non_container_image_fields_NOT_expected"]
    assert decoys, "every k8s.io/api fixture carries decoys"
    reported = {i.field_path for i in extract_images(document).images}
    for decoy in decoys:
        assert dig(document, decoy["field"]) == decoy["value"]  # the decoy is really there
        assert ballast_path(decoy["field"]) not in reported
    assert all(re.search(r"(containers|Containers)\[\d+\]\.image$", p) for p in reported)


@pytest.mark.parametrize("name", IMAGE_VALUE_FILES)
def test_k8s_api_objects_give_the_workload_context(name: str) -> None:
    document = load(name)
    context = extract_workload(document).context
    assert context.object_kind == ObjectKind.of(document)
    assert context.namespace == "namespaceValue"
    assert context.name == "nameValue"
    assert context.generate_name == "generateNameValue"
    assert context.labels == {"labelsKey": "labelsValue"}
    assert context.annotations == {"annotationsKey": "annotationsValue"}
    assert context.exception is None
    assert context.image_pull_secrets == ("nameValue",)
    # serviceAccountName wins over the deprecated serviceAccount alias.
    assert context.service_account_name == "serviceAccountNameValue"
    assert (context.owner_kind, context.owner_name) == ("kindValue", "nameValue")


def test_kubewarden_bare_requests_are_read_through_their_object_and_request_kind() -> None:
    """The kubewarden Pod objects carry no apiVersion/kind: only request.kind says what they are."""
    document = load("kubewarden-trusted-repos-policy-pod_creation.json")
    obj = document["object"]
    assert "kind" not in obj
    skipped = extract_images(obj)
    assert skipped.images == ()
    assert skipped.skip_reason is not None
    assert "without apiVersion and kind" in skipped.skip_reason
    kind = ObjectKind(**document["kind"])
    assert triples(extract_images(obj, kind).images) == [
        ("spec.containers[0].image", "nginx", "nginx:1.0.0")
    ]


def test_ingress_and_role_are_skipped_with_a_reason() -> None:
    ingress = load("kubewarden-trusted-repos-policy-ingress_creation.json")
    workload = extract_workload(ingress["object"], ObjectKind(**ingress["kind"]))
    assert workload.is_skipped
    assert workload.images == () and workload.unique_changed_images == ()
    assert "Ingress has no pod template" in (workload.skip_reason or "")

    role = load("connaisseur-11_role.json")["request"]
    workload = extract_workload(role["object"], ObjectKind(**role["kind"]))
    assert workload.skip_reason == (
        "rbac.authorization.k8s.io/v1 Role has no pod template ballast knows how to read"
    )
    assert workload.context.name == "pod-reader"


def test_pod_object_without_spec_is_skipped_not_misread() -> None:
    request = load("connaisseur-12_err_pod.json")["request"]
    workload = extract_workload(request["object"], ObjectKind(**request["kind"]))
    assert workload.skip_reason == "Pod has no pod spec: spec is missing"
    assert workload.images == ()


# --- the kind table ---


@pytest.mark.parametrize(
    ("api_version", "kind", "spec_field"),
    [
        ("v1", "Pod", "spec"),
        ("v1", "PodTemplate", "template.spec"),
        ("v1", "ReplicationController", "spec.template.spec"),
        ("v1", "EphemeralContainers", ""),
        *[
            (f"apps/{v}", k, "spec.template.spec")
            for v in ("v1", "v1beta1", "v1beta2")
            for k in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")
        ],
        ("extensions/v1beta1", "Deployment", "spec.template.spec"),
        ("batch/v1", "Job", "spec.template.spec"),
        ("batch/v1", "CronJob", "spec.jobTemplate.spec.template.spec"),
        ("batch/v1beta1", "CronJob", "spec.jobTemplate.spec.template.spec"),
    ],
)
def test_pod_spec_is_located_for_every_workload_kind_and_version(
    api_version: str, kind: str, spec_field: str
) -> None:
    location = locate_pod_spec(ObjectKind.of({"apiVersion": api_version, "kind": kind}))
    assert location is not None
    assert location.spec_field == spec_field


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("apps/v2", "Deployment"),  # a version that does not exist (yet)
        ("v1", "Deployment"),  # right kind, wrong group
        ("apps/v1", "Pod"),
        ("v1", "Service"),
        ("example.com/v1", "CustomType"),
        ("", ""),
    ],
)
def test_unknown_kinds_and_versions_have_no_pod_spec(api_version: str, kind: str) -> None:
    assert locate_pod_spec(ObjectKind.of({"apiVersion": api_version, "kind": kind})) is None


def test_an_unknown_version_of_a_known_kind_says_which_versions_are_read() -> None:
    obj = {"apiVersion": "apps/v2", "kind": "Deployment", "spec": {}}
    assert extract_images(obj).skip_reason == (
        "apps/v2 Deployment is not a version ballast reads "
        "(it reads Deployment as apps/v1, apps/v1beta1, apps/v1beta2); not judged"
    )


# --- UPDATE: only new images are judged ---


def test_replicaset_scaled_by_update_judges_nothing() -> None:
    """connaisseur 10: replicas 4 → 2, same image (tag plus digest) before and after."""
    request = load("connaisseur-10_update.json")["request"]
    workload = extract_workload(
        request["object"],
        ObjectKind(**request["kind"]),
        operation="UPDATE",
        old_object=request["oldObject"],
    )
    image = "docker.io/library/redis:latest@sha256:" + "1" * 64
    assert [i.image for i in workload.images] == [image]
    assert [i.image for i in workload.old_images] == [image]
    assert workload.changed_images == ()
    assert workload.unique_changed_images == ()
    assert workload.unique_images[0].image == image
    assert not workload.is_skipped


def _deployment(
    containers: list[dict[str, Any]], init: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": containers}
    if init is not None:
        spec["initContainers"] = init
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": spec}},
    }


def test_update_judges_only_images_absent_from_the_old_object() -> None:
    old = _deployment(
        [{"name": "app", "image": "shop/web:1"}, {"name": "proxy", "image": "envoy:1.30"}],
        init=[{"name": "migrate", "image": "shop/migrate:1"}],
    )
    new = _deployment(
        [
            {"name": "app", "image": "shop/web:2"},  # changed
            {"name": "proxy", "image": "envoy:1.30"},  # unchanged
            {"name": "sidecar", "image": "shop/migrate:1"},  # moved from init: not new
            {"name": "again", "image": "shop/web:2"},  # duplicate of a changed image
        ],
        init=[{"name": "migrate", "image": "shop/migrate:2"}],  # changed
    )
    workload = extract_workload(new, operation="UPDATE", old_object=old)
    assert [i.field_path for i in workload.changed_images] == [
        "spec.template.spec.containers[0].image",
        "spec.template.spec.containers[3].image",
        "spec.template.spec.initContainers[0].image",
    ]
    assert [(u.image, u.container_names) for u in workload.unique_changed_images] == [
        ("shop/web:2", ("app", "again")),
        ("shop/migrate:2", ("migrate",)),
    ]
    assert len(workload.images) == 5
    assert [u.image for u in workload.unique_images] == [
        "shop/web:2",
        "envoy:1.30",
        "shop/migrate:1",
        "shop/migrate:2",
    ]


def test_update_compares_image_strings_exactly() -> None:
    old = _deployment([{"name": "app", "image": "nginx"}])
    new = _deployment([{"name": "app", "image": "docker.io/library/nginx:latest"}])
    workload = extract_workload(new, operation="UPDATE", old_object=old)
    assert [i.image for i in workload.changed_images] == ["docker.io/library/nginx:latest"]


@pytest.mark.parametrize("old", [None, {"kind": "Deployment"}, {"spec": None}])
def test_update_without_a_readable_old_object_judges_every_image(old: Any) -> None:
    new = _deployment([{"name": "app", "image": "shop/web:2"}])
    workload = extract_workload(new, operation="UPDATE", old_object=old)
    assert [i.image for i in workload.changed_images] == ["shop/web:2"]
    assert len(workload.notes) == 1
    assert workload.notes[0].endswith("every image is judged")


def test_create_ignores_an_old_object() -> None:
    """connaisseur 04 and 09 send oldObject "None" and "" with CREATE; `{}` is common too."""
    new = _deployment([{"name": "app", "image": "shop/web:2"}])
    workload = extract_workload(new, operation="CREATE", old_object=new)
    assert workload.changed_images == workload.images
    assert workload.old_images == ()


@pytest.mark.parametrize("operation", ["DELETE", "CONNECT"])
def test_delete_and_connect_are_skipped_but_keep_context(operation: str) -> None:
    old = _deployment([{"name": "app", "image": "shop/web:1"}])
    workload = extract_workload(None, operation=operation, old_object=old)
    assert workload.skip_reason == f"{operation} requests bring no new images; nothing to judge"
    assert workload.images == workload.changed_images == ()
    assert workload.context.name == "web"
    assert workload.context.namespace == "shop"


def test_unknown_operation_and_missing_object_are_skipped() -> None:
    obj = _deployment([{"name": "app", "image": "a"}])
    assert "operation 'PATCH' is not one of" in (
        extract_workload(obj, operation="PATCH").skip_reason or ""
    )
    assert extract_workload(None, ObjectKind("apps", "v1", "Deployment")).skip_reason == (
        "the CREATE request carries no object; nothing to judge"
    )


@pytest.mark.parametrize("sub_resource", ["status", "scale", "binding"])
def test_other_subresources_are_not_judged(sub_resource: str) -> None:
    obj = _deployment([{"name": "app", "image": "a"}])
    workload = extract_workload(obj, operation="UPDATE", sub_resource=sub_resource, old_object={})
    assert workload.is_skipped
    assert f"subresource '{sub_resource}' cannot change images" in (workload.skip_reason or "")


# --- kubectl debug: pods/ephemeralcontainers ---


def _pod(ephemeral: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": "app", "image": "shop/web:1"}],
        "initContainers": [{"name": "init", "image": "busybox:1.36"}],
    }
    if ephemeral is not None:
        spec["ephemeralContainers"] = ephemeral
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop"},
        "spec": spec,
    }


def test_kubectl_debug_judges_only_the_new_ephemeral_container() -> None:
    old = _pod([{"name": "debugger-1", "image": "nicolaka/netshoot"}])
    new = _pod(
        [
            {"name": "debugger-1", "image": "nicolaka/netshoot"},
            {"name": "debugger-2", "image": "ubuntu:24.04"},
        ]
    )
    workload = extract_workload(
        new,
        ObjectKind("", "v1", "Pod"),
        operation="UPDATE",
        sub_resource="ephemeralcontainers",
        old_object=old,
    )
    assert [i.image for i in workload.images] == ["nicolaka/netshoot", "ubuntu:24.04"]
    assert triples(workload.changed_images) == [
        ("spec.ephemeralContainers[1].image", "debugger-2", "ubuntu:24.04")
    ]
    assert workload.changed_images[0].container_type is ContainerType.EPHEMERAL


def test_kubectl_debug_with_the_apps_own_image_judges_nothing() -> None:
    new = _pod([{"name": "debugger", "image": "shop/web:1"}])
    workload = extract_workload(
        new, operation="UPDATE", sub_resource="ephemeralcontainers", old_object=_pod()
    )
    assert [i.image for i in workload.images] == ["shop/web:1"]
    assert workload.changed_images == ()


def test_connaisseur_20_pod_as_kubectl_debug_request() -> None:
    request = load("connaisseur-20_pod_ephemeralcontainer.json")["request"]
    new = request["object"]
    old = copy.deepcopy(new)
    del old["spec"]["ephemeralContainers"]
    workload = extract_workload(
        new,
        ObjectKind(**request["kind"]),
        operation="UPDATE",
        sub_resource="ephemeralcontainers",
        old_object=old,
    )
    assert triples(workload.changed_images) == [
        ("spec.ephemeralContainers[0].image", "my-initcontainer", "nginx")
    ]


def test_ephemeral_containers_object_of_old_clusters_is_read_at_the_root() -> None:
    """Before Kubernetes 1.23 the subresource took kind EphemeralContainers."""
    new = {
        "apiVersion": "v1",
        "kind": "EphemeralContainers",
        "metadata": {"name": "web-1", "namespace": "shop"},
        "ephemeralContainers": [{"name": "debugger", "image": "busybox:1.36"}],
    }
    old = {**new, "ephemeralContainers": []}
    workload = extract_workload(
        new, operation="UPDATE", sub_resource="ephemeralcontainers", old_object=old
    )
    assert triples(workload.changed_images) == [
        ("ephemeralContainers[0].image", "debugger", "busybox:1.36")
    ]
    assert workload.context.name == "web-1"


def test_ephemeralcontainers_subresource_of_something_else_is_skipped() -> None:
    obj = _deployment([{"name": "app", "image": "a"}])
    workload = extract_workload(obj, operation="UPDATE", sub_resource="ephemeralcontainers")
    assert "is not a Pod's" in (workload.skip_reason or "")


# --- malformed objects: notes, never a crash ---


def test_malformed_container_entries_are_skipped_with_a_note() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {
            "containers": [
                {"name": "ok", "image": "nginx"},
                "not-a-container",
                {"name": "number", "image": 42},
                {"name": "blank", "image": "   "},
                {"name": "absent"},
                {"name": 7, "image": "redis"},
            ],
            "initContainers": {"name": "x", "image": "y"},
            "ephemeralContainers": None,
        },
    }
    scan = extract_images(pod)
    assert triples(scan.images) == [
        ("spec.containers[0].image", "ok", "nginx"),
        ("spec.containers[5].image", None, "redis"),
    ]
    assert scan.notes == (
        "spec.containers[1] is a string, not a container; skipped",
        "spec.containers[2].image is a number; container skipped",
        "spec.containers[3].image is empty; container skipped",
        "spec.containers[4].image is missing; container skipped",
        "spec.initContainers is an object, not an array; skipped",
    )


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({"apiVersion": "v1", "kind": "Pod", "spec": None}, "Pod has no pod spec: spec is null"),
        (
            {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": []}},
            "Deployment has no pod spec: spec.template is an array",
        ),
        (
            {"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"jobTemplate": {"spec": 1}}},
            "CronJob has no pod spec: spec.jobTemplate.spec is a number",
        ),
    ],
)
def test_null_or_wrong_pod_spec_is_a_skip_reason(obj: dict[str, Any], reason: str) -> None:
    assert extract_images(obj).skip_reason == reason
    assert extract_workload(obj).skip_reason == reason


def test_notes_are_capped() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [None] * 1000}}
    scan = extract_images(pod)
    assert len(scan.notes) == MAX_NOTES + 1
    assert scan.notes[-1] == f"{1000 - MAX_NOTES} more notes not shown"


def test_lone_surrogates_become_replacement_characters() -> None:
    """Python's json keeps "\\ud800" as a lone surrogate, which cannot be encoded as UTF-8."""
    pod = json.loads(
        '{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"image":"a\\ud800"}]}}'
    )
    (image,) = extract_images(pod).images
    assert image.image == "a\ufffd"
    image.image.encode("utf-8")


# --- context: labels, annotations, exception precedence, credentials ---


def _annotated(
    workload_annotations: dict[str, Any] | None, template_annotations: dict[str, Any] | None
) -> dict[str, Any]:
    obj = _deployment([{"name": "app", "image": "a"}])
    if workload_annotations is not None:
        obj["metadata"]["annotations"] = workload_annotations
    if template_annotations is not None:
        obj["spec"]["template"]["metadata"]["annotations"] = template_annotations
    return obj


@pytest.mark.parametrize(
    ("on_workload", "on_template", "expected", "source"),
    [
        (None, None, None, None),
        ("size: big on purpose", None, "size: big on purpose", "metadata"),
        (None, "size: template", "size: template", "template"),
        ("size: workload", "size: template", "size: template", "template"),
    ],
)
def test_exception_annotation_on_the_pod_template_wins(
    on_workload: str | None, on_template: str | None, expected: str | None, source: str | None
) -> None:
    workload_annotations = {"team": "shop"}
    template_annotations = {"team": "shop-pods"}
    if on_workload is not None:
        workload_annotations[EXCEPTION_ANNOTATION] = on_workload
    if on_template is not None:
        template_annotations[EXCEPTION_ANNOTATION] = on_template
    context = extract_workload(_annotated(workload_annotations, template_annotations)).context
    assert context.exception == expected
    assert context.exception_source == source
    assert context.annotations["team"] == "shop-pods"


def test_pod_exception_comes_from_its_own_metadata() -> None:
    pod = _pod()
    pod["metadata"]["annotations"] = {EXCEPTION_ANNOTATION: "why"}
    pod["metadata"]["labels"] = {"app": "web"}
    context = extract_workload(pod).context
    assert (context.exception, context.exception_source) == ("why", "metadata")
    assert context.labels == context.workload_labels == {"app": "web"}


def test_labels_are_the_pod_templates_and_bad_values_are_noted() -> None:
    obj = _annotated({"ok": "1", "bad": 2}, None)
    obj["metadata"]["labels"] = {"tier": "workload"}
    obj["spec"]["template"]["metadata"]["labels"] = "not-a-map"
    workload = extract_workload(obj)
    assert workload.context.labels == {}
    assert workload.context.workload_labels == {"tier": "workload"}
    assert workload.context.annotations == {"ok": "1"}
    assert workload.notes == (
        "metadata.annotations['bad'] is a number, not a string; ignored",
        "spec.template.metadata.labels is a string, not an object; ignored",
    )


def test_pull_secrets_and_service_account_are_collected_for_credentials() -> None:
    obj = _deployment([{"name": "app", "image": "a"}])
    spec = obj["spec"]["template"]["spec"]
    spec["imagePullSecrets"] = [{"name": "ghcr"}, {"name": ""}, "x", {"name": "quay"}]
    spec["serviceAccount"] = "legacy"
    workload = extract_workload(obj)
    assert workload.context.image_pull_secrets == ("ghcr", "quay")
    assert workload.context.service_account_name == "legacy"
    assert workload.notes == (
        "spec.template.spec.imagePullSecrets[1] has no name; ignored",
        "spec.template.spec.imagePullSecrets[2] has no name; ignored",
    )


def test_request_namespace_and_name_win_and_generate_name_is_shown() -> None:
    pod = load("connaisseur-02_pod.json")["request"]["object"]
    context = extract_workload(pod, namespace="test-connaisseur").context
    assert context.namespace == "test-connaisseur"
    assert context.name is None
    assert context.display_name == "charlie-deployment-76fbf58b7d-*"
    assert (context.owner_kind, context.owner_name) == (
        "ReplicaSet",
        "charlie-deployment-76fbf58b7d",
    )
    assert context.service_account_name == "default"
    assert extract_workload(pod, namespace="other", name="p").context.display_name == "p"


def test_dedupe_keeps_first_occurrence_order_and_every_field_path() -> None:
    pod = load("connaisseur-19_pod_initcontainer.json")["request"]["object"]
    pod = copy.deepcopy(pod)
    pod["spec"]["ephemeralContainers"] = [{"name": "dbg", "image": "nginx"}]
    uses = dedupe_images(extract_images(pod).images)
    assert [u.image for u in uses] == [f"securesystemsengineering/charlie-image@{SHA}", "nginx"]
    assert uses[1].field_paths == (
        "spec.initContainers[0].image",
        "spec.ephemeralContainers[0].image",
    )
    assert uses[1].container_names == ("my-initcontainer", "dbg")
