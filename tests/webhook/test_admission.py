"""AdmissionReview in and out: the 40 peer documents, every bad body, and valid responses.

The documents are real AdmissionReviews from connaisseur (v1 and v1beta1), kubewarden's bare
AdmissionRequests and the k8s.io/api serialisation fixture; see
/work/shared/fixtures/peers/README.md. Decisions checked here:

- only admission.k8s.io/v1 is accepted; v1beta1 gets a 400 that says to set
  ``admissionReviewVersions: [v1]``;
- a bare AdmissionRequest (kubewarden) gets a 400 that says how to wrap it;
- a v1 envelope whose request is unusable (no uid ...) gets a 422 listing every problem.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from webhook.admission import (
    ADMISSION_API_VERSION,
    MAX_BODY_BYTES,
    MAX_MESSAGE_CHARS,
    MAX_WARNING_CHARS,
    MAX_WARNINGS,
    AdmissionRequest,
    ReviewError,
    build_response,
    check_body_size,
    check_content_type,
    is_valid_audit_annotation_key,
    limit_warnings,
    parse_review,
)
from webhook.workloads import ContainerType

PEERS_DIR = Path(os.environ.get("BALLAST_PEER_FIXTURES", "/work/shared/fixtures/peers"))
K8S_DIR = PEERS_DIR / "k8s"
# Loaded at import: a missing manifest must be a collection error, not zero tests.
MANIFEST: list[dict[str, Any]] = json.loads((K8S_DIR / "manifest.json").read_text())["files"]
BY_FILE = {entry["file"]: entry for entry in MANIFEST}
ADMISSION_FILES = [e["file"] for e in MANIFEST if e["document"] != "Kubernetes object"]

JSON = "application/json"
V1BETA1_MESSAGE = (
    "AdmissionReview admission.k8s.io/v1beta1 is not supported: set "
    "admissionReviewVersions: [v1] in the ValidatingWebhookConfiguration"
)


def body_of(document: Any) -> bytes:
    return json.dumps(document).encode()


def envelope(request: Any, **extra: Any) -> bytes:
    return body_of(
        {"apiVersion": ADMISSION_API_VERSION, "kind": "AdmissionReview", "request": request} | extra
    )


def parse(body: bytes) -> AdmissionRequest:
    return parse_review(body, content_type=JSON)


def review_error(body: bytes, *, content_type: str | None = JSON) -> ReviewError:
    with pytest.raises(ReviewError) as info:
        parse_review(body, content_type=content_type)
    return info.value


def manifest_path(path: str) -> str:
    """ballast's ``spec.containers[0].image`` → the manifest's ``spec.containers.0.image``."""
    return path.replace("[", ".").replace("]", "")


def pod_request(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": "shop",
        "operation": "CREATE",
        "userInfo": {"username": "alice"},
        "object": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "app", "image": "shop/web:1"}]},
        },
        "oldObject": None,
        "dryRun": False,
    }
    return request | overrides


# --- the 40 peer admission documents ---


def test_the_manifest_lists_40_admission_documents_and_one_null() -> None:
    kinds = [BY_FILE[name]["document"] for name in ADMISSION_FILES]
    assert kinds.count("JSON null (not an AdmissionReview)") == 1
    assert len(kinds) - 1 == 40


@pytest.mark.parametrize("name", ADMISSION_FILES)
def test_every_peer_admission_document_is_parsed_or_refused_clearly(name: str) -> None:
    entry = BY_FILE[name]
    raw = (K8S_DIR / name).read_bytes()
    document = json.loads(raw)

    if document is None:  # connaisseur 25
        error = review_error(raw)
        assert (error.status, error.message.split(":")[0]) == (400, "body is JSON null")
        return
    if entry["document"].startswith("AdmissionRequest (bare"):  # kubewarden
        error = review_error(raw)
        assert error.status == 400
        assert error.message.startswith("body is a bare AdmissionRequest")
        assert '"request": <this object>' in error.message
        request, body = document, envelope(document)
    elif entry.get("admission_api_version") == "admission.k8s.io/v1beta1":
        error = review_error(raw)
        assert (error.status, error.message) == (400, V1BETA1_MESSAGE)
        request, body = (
            document["request"],
            body_of(document | {"apiVersion": "admission.k8s.io/v1"}),
        )
    else:
        request, body = document["request"], raw

    if "uid" not in request:  # connaisseur 21 and 26: {"operation": ...} only
        error = review_error(body)
        assert error.status == 422
        assert error.message.startswith(
            "AdmissionReview request is not usable: request.uid is missing; request.kind is missing"
        )
        return

    parsed = parse(body)
    assert parsed.uid == request["uid"]
    assert (parsed.group, parsed.version, parsed.kind) == (
        request["kind"]["group"],
        request["kind"]["version"],
        request["kind"]["kind"],
    )
    assert parsed.resource == request["resource"]["resource"]
    assert parsed.operation == request["operation"]
    assert parsed.namespace == request.get("namespace")
    assert parsed.sub_resource == request.get("subResource")
    assert parsed.dry_run is bool(request.get("dryRun"))

    workload = parsed.workload
    expected = [(e["field"], e["container"], e["image"]) for e in entry["expected_images"]]
    got = [(manifest_path(i.field_path), i.container_name, i.image) for i in workload.images]
    assert got == expected
    assert workload.is_skipped is (expected == [])
    if parsed.operation == "UPDATE":
        old = [
            (e["field"], e["container"], e["image"]) for e in entry["expected_old_object_images"]
        ]
        assert [
            (manifest_path(i.field_path), i.container_name, i.image) for i in workload.old_images
        ] == old
        unchanged = {image for _, _, image in old}
        assert [i.image for i in workload.changed_images] == [
            image for _, _, image in expected if image not in unchanged
        ]
    else:
        assert workload.changed_images == workload.images
    assert [u.image for u in workload.unique_changed_images] == list(
        dict.fromkeys(i.image for i in workload.changed_images)
    )


def test_update_of_unchanged_replicaset_has_nothing_to_judge() -> None:
    """connaisseur 10: a scale-down; the image (tag plus digest) is the same before and after."""
    parsed = parse((K8S_DIR / "connaisseur-10_update.json").read_bytes())
    assert parsed.operation == "UPDATE"
    assert parsed.old_object is not None
    assert len(parsed.workload.images) == len(parsed.workload.old_images) == 1
    assert parsed.workload.changed_images == ()
    assert not parsed.workload.is_skipped


def test_update_with_a_new_image_judges_it() -> None:
    document = json.loads((K8S_DIR / "connaisseur-10_update.json").read_bytes())
    containers = document["request"]["object"]["spec"]["template"]["spec"]["containers"]
    containers[0]["image"] = "docker.io/library/redis:7.4"
    containers.append({"name": "exporter", "image": containers[0]["image"]})
    workload = parse(body_of(document)).workload
    (use,) = workload.unique_changed_images
    assert use.image == "docker.io/library/redis:7.4"
    assert use.field_paths == (
        "spec.template.spec.containers[0].image",
        "spec.template.spec.containers[1].image",
    )
    assert use.container_names == ("nginx", "exporter")


def test_k8s_api_placeholder_review_parses_and_is_not_judged() -> None:
    parsed = parse(
        (K8S_DIR / "k8s-api-testdata-HEAD-admission.k8s.io.v1.AdmissionReview.json").read_bytes()
    )
    assert parsed.uid == "uidValue"
    assert parsed.dry_run is True
    assert parsed.sub_resource == "subResourceValue"
    assert parsed.username == "usernameValue"
    assert parsed.workload.skip_reason == (
        "operation 'operationValue' is not one of CREATE, UPDATE, DELETE, CONNECT; not judged"
    )


def test_dry_run_is_read_from_the_request_not_the_envelope() -> None:
    """connaisseur 02 puts "dryRun": false next to the envelope, where the API server never does."""
    assert parse(envelope(pod_request(dryRun=True))).dry_run is True
    assert parse(envelope(pod_request(dryRun=None))).dry_run is False
    request = pod_request()
    del request["dryRun"]
    assert parse(envelope(request, dryRun=True)).dry_run is False


def test_kubectl_debug_request_judges_only_the_ephemeral_container() -> None:
    old = pod_request()["object"]
    new = json.loads(json.dumps(old))
    new["spec"]["ephemeralContainers"] = [{"name": "debugger-x", "image": "busybox:1.36"}]
    parsed = parse(
        envelope(
            pod_request(
                operation="UPDATE", subResource="ephemeralcontainers", object=new, oldObject=old
            )
        )
    )
    assert parsed.sub_resource == "ephemeralcontainers"
    (image,) = parsed.workload.changed_images
    assert (image.field_path, image.container_type) == (
        "spec.ephemeralContainers[0].image",
        ContainerType.EPHEMERAL,
    )


def test_delete_is_allowed_to_pass_unjudged() -> None:
    old = pod_request()["object"]
    parsed = parse(envelope(pod_request(operation="DELETE", object=None, oldObject=old)))
    assert parsed.object is None
    assert parsed.workload.skip_reason == "DELETE requests bring no new images; nothing to judge"
    assert parsed.workload.context.name == "web"


def test_the_converted_request_is_frozen_and_its_object_read_only() -> None:
    parsed = parse(envelope(pod_request()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.uid = "other"  # type: ignore[misc]
    assert isinstance(parsed.object, MappingProxyType)
    spec = parsed.object["spec"]
    assert isinstance(spec, MappingProxyType)
    with pytest.raises(TypeError):
        spec["containers"] = []  # type: ignore[index]
    # Serialising the object back needs default=dict, as the docstring says.
    assert json.loads(json.dumps(parsed.object, default=dict)) == pod_request()["object"]


def test_empty_strings_become_none_and_cluster_scoped_requests_have_no_namespace() -> None:
    parsed = parse(envelope(pod_request(namespace="", name="", subResource="")))
    assert (parsed.namespace, parsed.name, parsed.sub_resource) == (None, None, None)


# --- content type and size ---


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", 'Application/JSON;charset="UTF8"'],
)
def test_json_content_types_are_accepted(content_type: str) -> None:
    check_content_type(content_type)
    assert parse_review(envelope(pod_request()), content_type=content_type).uid


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        (None, "no Content-Type: send the AdmissionReview as application/json"),
        ("  ", "no Content-Type: send the AdmissionReview as application/json"),
        (
            "text/plain",
            "Content-Type 'text/plain' is not application/json: send the AdmissionReview as JSON",
        ),
        (
            "application/yaml",
            "Content-Type 'application/yaml' is not application/json: "
            "send the AdmissionReview as JSON",
        ),
        (
            "application/json; charset=latin-1",
            "Content-Type 'application/json; charset=latin-1' names charset 'latin-1': "
            "JSON must be sent as UTF-8",
        ),
    ],
)
def test_wrong_content_type_is_415(content_type: str | None, message: str) -> None:
    error = review_error(envelope(pod_request()), content_type=content_type)
    assert (error.status, error.message) == (415, message)


def test_oversized_body_is_413_before_it_is_decoded() -> None:
    error = review_error(b" " * (MAX_BODY_BYTES + 1))
    assert error.status == 413
    assert error.message.startswith(f"request body is {MAX_BODY_BYTES + 1} bytes, above the")
    check_body_size(MAX_BODY_BYTES)
    small = envelope(pod_request())
    with pytest.raises(ReviewError) as info:
        parse_review(small, content_type=JSON, max_body_bytes=len(small) - 1)
    assert info.value.status == 413
    assert parse_review(small, content_type=JSON, max_body_bytes=len(small)).uid
    check_body_size(None)
    with pytest.raises(ReviewError) as info:
        check_body_size(11, limit=10)
    assert info.value.status == 413
    assert MAX_BODY_BYTES == 3 * 1024 * 1024


def test_a_large_but_legal_update_is_parsed() -> None:
    """Two ~1.4 MiB objects (the etcd limit is ~1.5 MiB each) fit under MAX_BODY_BYTES."""
    big = pod_request()["object"] | {"data": "x" * (1400 * 1024)}
    body = envelope(pod_request(operation="UPDATE", object=big, oldObject=big))
    assert len(body) < MAX_BODY_BYTES
    assert parse(body).workload.changed_images == ()


# --- bad bodies: 400 with a message that says what is wrong ---

REVIEW = {"apiVersion": ADMISSION_API_VERSION, "kind": "AdmissionReview"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "body is empty: expected an AdmissionReview JSON object"),
        (b" \n", "body is empty: expected an AdmissionReview JSON object"),
        (
            b"\xff{}",
            "body is not UTF-8 (invalid byte at offset 0): send the AdmissionReview as UTF-8 JSON",
        ),
        (
            b"{",
            "body is not valid JSON: 'Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)'",
        ),
        (
            b"kind: AdmissionReview",
            "body is not valid JSON: 'Expecting value: line 1 column 1 (char 0)'",
        ),
        (b'{"a": NaN}', "body is not valid JSON: 'NaN is not a JSON value'"),
        (b"[" * 100_000, "body is not usable JSON: it is nested too deeply"),
        (
            b"null",
            'body is JSON null: expected an AdmissionReview object {"apiVersion": '
            '"admission.k8s.io/v1", "kind": "AdmissionReview", "request": {...}}',
        ),
        (b"[]", "body is an array, not a JSON object: expected an AdmissionReview"),
        (b'"AdmissionReview"', "body is a string, not a JSON object: expected an AdmissionReview"),
        (b"42", "body is a number, not a JSON object: expected an AdmissionReview"),
        (
            b"{}",
            "apiVersion is missing, expected admission.k8s.io/v1: "
            "ballast only speaks AdmissionReview v1",
        ),
        (
            body_of(REVIEW | {"apiVersion": "admission.k8s.io/v2"}),
            "apiVersion 'admission.k8s.io/v2' is not admission.k8s.io/v1: "
            "ballast only speaks AdmissionReview v1",
        ),
        (
            body_of(REVIEW | {"apiVersion": 1}),
            "apiVersion is a number, expected admission.k8s.io/v1: "
            "ballast only speaks AdmissionReview v1",
        ),
        (body_of(REVIEW | {"apiVersion": "admission.k8s.io/v1beta1"}), V1BETA1_MESSAGE),
        (
            body_of({"apiVersion": ADMISSION_API_VERSION}),
            "kind is missing, expected AdmissionReview",
        ),
        (
            body_of(REVIEW | {"kind": ["AdmissionReview"]}),
            "kind is an array, expected AdmissionReview",
        ),
        (
            body_of({"apiVersion": "v1", "kind": "Pod", "spec": {}}),
            "body is a 'v1 Pod' object, not an AdmissionReview: this endpoint takes the "
            "AdmissionReview the API server sends to validating webhooks",
        ),
        (
            body_of(REVIEW),
            "AdmissionReview has no request (request is missing): the API server always sends "
            "one; a response-only review cannot be judged",
        ),
        (
            body_of(REVIEW | {"request": None}),
            "AdmissionReview has no request (request is null): the API server always sends "
            "one; a response-only review cannot be judged",
        ),
        (body_of(REVIEW | {"request": []}), "AdmissionReview request is an array, not an object"),
        (body_of(REVIEW | {"request": "{}"}), "AdmissionReview request is a string, not an object"),
    ],
)
def test_bodies_that_are_not_an_admission_review_are_400(body: bytes, message: str) -> None:
    error = review_error(body)
    assert (error.status, error.message) == (400, message)


def test_huge_integers_are_invalid_json_not_a_crash() -> None:
    error = review_error(b'{"a": ' + b"9" * 5000 + b"}")
    assert error.status == 400
    assert error.message.startswith("body is not valid JSON: 'Exceeds the limit")
    assert len(error.message) < 260


def test_bom_is_refused_as_invalid_json() -> None:
    error = review_error("\ufeff".encode() + envelope(pod_request()))
    assert error.status == 400
    assert "BOM" in error.message


# --- unusable requests: 422 listing every problem ---


@pytest.mark.parametrize(
    ("overrides", "problems"),
    [
        ({"uid": None}, "request.uid must be a string, not null"),
        ({"uid": ""}, "request.uid is empty"),
        ({"uid": "  "}, "request.uid is empty"),
        ({"uid": 7}, "request.uid must be a string, not a number"),
        ({"kind": "Pod"}, "request.kind must be an object {group, version, kind}, not a string"),
        ({"kind": {"group": "", "version": "v1"}}, "request.kind.kind is missing"),
        ({"kind": {"kind": "Pod"}}, "request.kind.version is missing"),
        (
            {"kind": {"group": 1, "version": "v1", "kind": "Pod"}},
            "request.kind.group must be a string or null, not a number",
        ),
        ({"operation": None}, "request.operation must be a string, not null"),
        ({"resource": "pods"}, "request.resource must be an object or null, not a string"),
        ({"namespace": ["shop"]}, "request.namespace must be a string or null, not an array"),
        ({"dryRun": "true"}, "request.dryRun must be true, false or null, not a string"),
        ({"object": "{}"}, "request.object must be an object or null, not a string"),
        ({"userInfo": []}, "request.userInfo must be an object or null, not an array"),
        (
            {"operation": "UPDATE", "oldObject": "None"},
            "request.oldObject must be an object or null, not a string",
        ),
        (
            {"uid": 1, "operation": 2, "object": 3},
            "request.uid must be a string, not a number; request.operation must be a string, "
            "not a number; request.object must be an object or null, not a number",
        ),
    ],
)
def test_unusable_requests_are_422_with_every_problem(
    overrides: dict[str, Any], problems: str
) -> None:
    error = review_error(envelope(pod_request(**overrides)))
    assert error.status == 422
    assert error.message.startswith(f"AdmissionReview request is not usable: {problems}")


def test_uid_problems_say_why_the_uid_matters() -> None:
    request = pod_request()
    del request["uid"]
    error = review_error(envelope(request))
    assert error.message == (
        "AdmissionReview request is not usable: request.uid is missing "
        "(the API server sends a uid with every request and needs it back)"
    )


def test_old_object_of_the_wrong_type_is_ignored_on_create() -> None:
    """connaisseur 04 and 09 send oldObject "None" and "" with CREATE."""
    olds: list[object] = ["None", "", 0, []]
    for old in olds:
        assert parse(envelope(pod_request(oldObject=old))).old_object is None


def test_messages_quote_client_input_briefly() -> None:
    error = review_error(body_of(REVIEW | {"apiVersion": "x" * 10_000}))
    assert len(error.message) < 200


def test_review_error_only_takes_its_four_statuses() -> None:
    with pytest.raises(ValueError, match="400, 413, 415 or 422"):
        ReviewError("boom", status=500)  # type: ignore[arg-type]


# --- responses ---


def test_allow_response_echoes_uid_and_nothing_else() -> None:
    response = build_response("uid-1", allowed=True)
    assert response == {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": {"uid": "uid-1", "allowed": True},
    }


def test_deny_response_carries_status_code_and_message() -> None:
    response = build_response(
        "uid-2",
        allowed=False,
        message="shop/web:1 is 1.2 GB compressed (limit 400 MB): use a slim base",
        warnings=["dry run: nothing recorded"],
        audit_annotations={"decision": "deny", "facts-digest": "sha256:abc"},
    )
    assert response["response"] == {
        "uid": "uid-2",
        "allowed": False,
        "status": {
            "code": 403,
            "message": "shop/web:1 is 1.2 GB compressed (limit 400 MB): use a slim base",
        },
        "warnings": ["dry run: nothing recorded"],
        "auditAnnotations": {"decision": "deny", "facts-digest": "sha256:abc"},
    }
    assert (
        build_response("u", allowed=False, message="m", code=422)["response"]["status"]["code"]
        == 422
    )
    json.dumps(response).encode("utf-8")


def test_long_deny_messages_are_cut() -> None:
    response = build_response("u", allowed=False, message="x" * 100_000)
    message = response["response"]["status"]["message"]
    assert len(message) == MAX_MESSAGE_CHARS
    assert message.endswith("...")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"uid": "", "allowed": True}, "needs the request's uid"),
        ({"uid": "u", "allowed": False}, "a denial needs a message"),
        ({"uid": "u", "allowed": False, "message": " "}, "a denial needs a message"),
        ({"uid": "u", "allowed": False, "message": "m", "code": 200}, "HTTP error status"),
        ({"uid": "u", "allowed": False, "message": "m", "code": True}, "HTTP error status"),
        ({"uid": "u", "allowed": True, "message": "fine"}, "use warnings"),
        ({"uid": "u", "allowed": True, "code": 200}, "use warnings"),
        (
            {"uid": "u", "allowed": True, "audit_annotations": {"ballast.dev/decision": "x"}},
            "invalid audit",
        ),
        ({"uid": "u", "allowed": True, "audit_annotations": {"x" * 64: "x"}}, "invalid audit"),
    ],
)
def test_misuse_of_build_response_is_a_value_error(kwargs: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        build_response(**kwargs)


def test_audit_annotation_values_must_be_strings() -> None:
    with pytest.raises(TypeError, match="must be strings"):
        build_response("u", allowed=True, audit_annotations={"size": 3})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("decision", True),
        ("facts-digest", True),
        ("image.size_bytes", True),
        ("A1", True),
        ("x" * 63, True),
        ("x" * 64, False),
        ("", False),
        ("-decision", False),
        ("decision.", False),
        ("ballast.dev/decision", False),
        ("has space", False),
        ("décision", False),
    ],
)
def test_audit_annotation_keys_are_qualified_name_parts(key: str, valid: bool) -> None:
    assert is_valid_audit_annotation_key(key) is valid


def test_warnings_are_cut_cleaned_deduplicated_and_bounded() -> None:
    long = "shop/web:1 " + "is big " * 40
    raw = [
        long,
        "two\nlines\tand\x00nul",
        "",
        "   ",
        "two lines and nul",
        *[f"w{i}" for i in range(20)],
    ]
    warnings = limit_warnings(raw)
    assert len(warnings) == MAX_WARNINGS
    assert all(0 < len(w) <= MAX_WARNING_CHARS for w in warnings)
    assert warnings[0].endswith("...") and warnings[0].startswith("shop/web:1 is big")
    assert warnings[1] == "two lines and nul"
    assert warnings[2:9] == [f"w{i}" for i in range(7)]
    assert warnings[-1] == "... and 13 more warnings"
    assert limit_warnings(warnings) == warnings  # idempotent
    assert all(w.isprintable() for w in warnings)


def test_warnings_in_responses_are_limited() -> None:
    response = build_response("u", allowed=True, warnings=[f"warning {i}" for i in range(50)])
    assert len(response["response"]["warnings"]) == MAX_WARNINGS
    with pytest.raises(TypeError):
        limit_warnings("one string is not a list of warnings")


def test_lone_surrogates_never_reach_the_wire() -> None:
    request = pod_request(uid="uid-\ud800")
    parsed = parse(envelope(request))
    assert parsed.uid == "uid-\ufffd"
    response = build_response(parsed.uid, allowed=False, message="bad \udfff", warnings=["w\ud800"])
    json.dumps(response, ensure_ascii=False).encode("utf-8")


# --- boundaries ---

BLOCK_FLASK = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'flask', 'werkzeug', 'kubernetes', 'auditor'}:
            raise ImportError('webhook wire format must not import ' + name)
sys.meta_path.insert(0, Block())
import webhook.admission, webhook.workloads, ballast.json_values
print('ok')
"""


def test_wire_format_modules_import_without_flask() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_FLASK], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
