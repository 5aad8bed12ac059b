"""Fuzz: no request body makes parse_review (and the extraction inside it) do anything but
return an AdmissionRequest or raise ReviewError with a 4xx.

Four generators, 500 examples each: random bytes, random JSON, random requests inside a valid
envelope, and mutations of the 52 real peer documents (values replaced, keys deleted, list
entries dropped or repeated, bodies truncated). Each test prints how many bodies it generated
and how they ended, visible without ``-s``.
"""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webhook.admission import (
    ADMISSION_API_VERSION,
    MAX_WARNING_CHARS,
    MAX_WARNINGS,
    AdmissionRequest,
    ReviewError,
    build_response,
    parse_review,
)
from webhook.workloads import KNOWN_OPERATIONS, ObjectKind, Workload, extract_workload

PEERS_DIR = Path(os.environ.get("BALLAST_PEER_FIXTURES", "/work/shared/fixtures/peers"))
K8S_DIR = PEERS_DIR / "k8s"
FIXTURES: dict[str, Any] = {
    path.name: json.loads(path.read_text())
    for path in sorted(K8S_DIR.glob("*.json"))
    if path.name != "manifest.json"
}
assert len(FIXTURES) == 52

EXAMPLES = 500
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

KEYS = [
    "apiVersion", "kind", "request", "response", "uid", "operation", "object", "oldObject",
    "subResource", "dryRun", "namespace", "name", "resource", "userInfo", "username", "group",
    "version", "metadata", "labels", "annotations", "ownerReferences", "controller", "spec",
    "template", "jobTemplate", "containers", "initContainers", "ephemeralContainers", "image",
    "imagePullSecrets", "serviceAccountName", "serviceAccount", "generateName",
]  # fmt: skip
WORDS = [
    ADMISSION_API_VERSION, "admission.k8s.io/v1beta1", "AdmissionReview", "v1", "apps/v1",
    "batch/v1", "apps", "batch", "", "Pod", "Deployment", "CronJob", "EphemeralContainers",
    "CREATE", "UPDATE", "DELETE", "CONNECT", "ephemeralcontainers", "status", "nginx",
    "ballast.dev/exception", "\ud800", "a\x00b", "x" * 300,
]  # fmt: skip

leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(WORDS)
)
json_values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)
JSON = "application/json"


def _mostly(valid: st.SearchStrategy[Any], anything: st.SearchStrategy[Any] = json_values) -> Any:
    """``valid`` about nine times in ten, ``anything`` otherwise.

    (``st.one_of(valid, anything)`` would pick each branch about half the time, and a request
    with a dozen fields would then almost never be valid enough to reach the extractor.)
    """
    return st.integers(0, 9).flatmap(lambda n: anything if n == 5 else valid)


content_types = _mostly(
    st.sampled_from([JSON, "application/json; charset=utf-8"]), st.none() | st.text()
)
kind_dicts = _mostly(
    st.sampled_from(
        [("", "v1", "Pod"), ("apps", "v1", "Deployment"), ("batch", "v1beta1", "CronJob"),
         ("", "v1", "EphemeralContainers"), ("rbac.authorization.k8s.io", "v1", "Role")]
    ).map(lambda k: {"group": k[0], "version": k[1], "kind": k[2]})
)  # fmt: skip
OPERATIONS = st.sampled_from([*sorted(KNOWN_OPERATIONS), "PATCH", ""])
SUB_RESOURCES = st.sampled_from(["ephemeralcontainers", "status", "scale", ""])
REAL_OBJECTS = [
    d.get("request", d).get("object") if "request" in d or "uid" in d else d
    for d in FIXTURES.values()
    if isinstance(d, dict)
]
objects = _mostly(st.sampled_from([o for o in REAL_OBJECTS if isinstance(o, dict)]))
"""Mostly real objects from the peer files, sometimes anything."""


@st.composite
def requests(draw: Callable[[st.SearchStrategy[Any]], Any]) -> dict[str, Any]:
    fields: dict[str, st.SearchStrategy[Any]] = {
        "uid": _mostly(st.just("705ab4f5-6393-11e8-b7cc-42010a800002")),
        "kind": kind_dicts,
        "resource": _mostly(st.just({"group": "", "version": "v1", "resource": "pods"})),
        "subResource": _mostly(st.none(), SUB_RESOURCES | json_values),
        "operation": _mostly(st.sampled_from(["CREATE", "UPDATE"]), OPERATIONS | json_values),
        "namespace": _mostly(st.sampled_from(["shop", "", None])),
        "name": _mostly(st.sampled_from(["web", None])),
        "userInfo": _mostly(st.just({"username": "alice"})),
        "object": objects,
        "oldObject": st.none() | objects,
        "dryRun": _mostly(st.booleans()),
        "options": json_values,
    }
    request = {key: draw(strategy) for key, strategy in fields.items()}
    for key in draw(st.sets(st.sampled_from(sorted(request)), max_size=3)):
        del request[key]
    return request


def _mutate(draw: Callable[[st.SearchStrategy[Any]], Any], value: Any, depth: int) -> Any:
    """Walk a random path into ``value`` and damage what is at its end."""
    descend = depth < 3 or draw(st.integers(0, 4)) > 0
    if isinstance(value, dict | list) and value and depth < 16 and descend:
        if isinstance(value, dict):
            key = draw(st.sampled_from(sorted(value)))
            if draw(st.integers(0, 5)) == 0:
                del value[key]
            else:
                value[key] = _mutate(draw, value[key], depth + 1)
        else:
            index = draw(st.integers(0, len(value) - 1))
            action = draw(st.sampled_from(["mutate", "drop", "repeat"]))
            if action == "drop":
                del value[index]
            elif action == "repeat":
                value.insert(index, copy.deepcopy(value[index]))
            else:
                value[index] = _mutate(draw, value[index], depth + 1)
        return value
    return draw(json_values)


@st.composite
def mutated_fixtures(draw: Callable[[st.SearchStrategy[Any]], Any]) -> bytes:
    name = draw(st.sampled_from(sorted(FIXTURES)))
    document = copy.deepcopy(FIXTURES[name])
    if isinstance(document, dict) and draw(st.integers(0, 4)) > 0:
        # Reach past the envelope checks: make v1beta1 reviews v1, wrap bare requests,
        # and send the plain objects as the object of a CREATE.
        if "request" in document:
            document["apiVersion"] = ADMISSION_API_VERSION
        else:
            if "uid" not in document:
                kind = ObjectKind.of(document)
                document = {
                    "uid": "uid-1",
                    "kind": {"group": kind.group, "version": kind.version, "kind": kind.kind},
                    "operation": "CREATE",
                    "object": document,
                }
            document = {
                "apiVersion": ADMISSION_API_VERSION,
                "kind": "AdmissionReview",
                "request": document,
            }
    for _ in range(draw(st.integers(1, 4))):
        # Aim most mutations inside the request, and most of those inside the object, so
        # they get past the envelope checks and reach the extractor.
        aim = draw(st.integers(0, 9))
        request = document.get("request") if isinstance(document, dict) else None
        if isinstance(request, dict) and aim < 9:
            if aim < 6 and isinstance(request.get("object"), dict):
                request["object"] = _mutate(draw, request["object"], 0)
            else:
                document["request"] = _mutate(draw, request, 0)
        else:
            document = _mutate(draw, document, 0)
    body = json.dumps(document).encode()
    damage = draw(st.integers(0, 19))
    if damage == 0 and body:
        body = body[: draw(st.integers(0, len(body) - 1))]
    elif damage == 1 and body:
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([draw(st.integers(0, 255))]) + body[at + 1 :]
    return body


def _check_workload(workload: Workload) -> None:
    if workload.is_skipped:
        assert workload.images == workload.changed_images == ()
        assert workload.unique_images == workload.unique_changed_images == ()
    assert set(workload.changed_images) <= set(workload.images)
    assert [u.image for u in workload.unique_changed_images] == list(
        dict.fromkeys(i.image for i in workload.changed_images)
    )
    for image in workload.images:
        assert image.image.strip()
        assert image.field_path.endswith(".image")
        image.image.encode("utf-8")
    for value in (workload.context.namespace, workload.context.name, *workload.notes):
        if value is not None:
            value.encode("utf-8")


def _check_request(request: AdmissionRequest) -> None:
    assert request.uid.strip()
    assert request.kind and request.operation
    _check_workload(request.workload)
    for allowed in (True, False):
        response = build_response(
            request.uid,
            allowed=allowed,
            message=None if allowed else f"denied {request.workload.skip_reason}",
            warnings=request.workload.notes,
            audit_annotations={"decision": "allow" if allowed else "deny"},
        )
        assert response["response"]["uid"] == request.uid
        assert len(response["response"].get("warnings", [])) <= MAX_WARNINGS
        assert all(len(w) <= MAX_WARNING_CHARS for w in response["response"].get("warnings", []))
        json.dumps(response, ensure_ascii=False).encode("utf-8")


def _run(body: bytes, content_type: str | None, outcomes: Counter[str]) -> None:
    """The property: a ReviewError with a 4xx, or a request whose invariants hold."""
    try:
        request = parse_review(body, content_type=content_type)
    except ReviewError as error:
        assert error.status in (400, 413, 415, 422)
        assert error.message.strip()
        error.message.encode("utf-8")
        outcomes[str(error.status)] += 1
        return
    _check_request(request)
    outcomes["skipped" if request.workload.is_skipped else "parsed"] += 1


def _report(capsys: pytest.CaptureFixture[str], name: str, outcomes: Counter[str]) -> None:
    total = sum(outcomes.values())
    detail = ", ".join(f"{key}: {outcomes[key]}" for key in sorted(outcomes))
    with capsys.disabled():
        print(f"\n[fuzz] {name}: {total} generated examples ({detail})")
    assert total >= EXAMPLES, f"Hypothesis ran only {total} examples"


def test_random_bytes_never_escape_as_anything_but_review_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcomes: Counter[str] = Counter()

    @FUZZ
    @given(body=st.binary(max_size=2048), content_type=content_types)
    def run(body: bytes, content_type: str | None) -> None:
        _run(body, content_type, outcomes)

    run()
    _report(capsys, "random bytes", outcomes)


def test_random_json_never_escapes_as_anything_but_review_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcomes: Counter[str] = Counter()

    @FUZZ
    @given(document=json_values)
    def run(document: Any) -> None:
        _run(json.dumps(document).encode(), JSON, outcomes)

    run()
    _report(capsys, "random JSON", outcomes)


def test_random_requests_in_a_valid_envelope_parse_or_get_a_4xx(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcomes: Counter[str] = Counter()

    @FUZZ
    @given(request=requests())
    def run(request: dict[str, Any]) -> None:
        document = {"apiVersion": ADMISSION_API_VERSION, "kind": "AdmissionReview"}
        _run(json.dumps(document | {"request": request}).encode(), JSON, outcomes)

    run()
    _report(capsys, "random requests in an envelope", outcomes)
    assert outcomes["parsed"] >= EXAMPLES // 10
    assert outcomes["skipped"] > 0 and outcomes["422"] > 0


def test_mutated_peer_documents_parse_or_get_a_4xx(capsys: pytest.CaptureFixture[str]) -> None:
    outcomes: Counter[str] = Counter()

    @FUZZ
    @given(body=mutated_fixtures())
    def run(body: bytes) -> None:
        _run(body, JSON, outcomes)

    run()
    _report(capsys, "mutated peer documents", outcomes)
    assert outcomes["parsed"] >= EXAMPLES // 10


def test_extraction_of_any_object_never_raises(capsys: pytest.CaptureFixture[str]) -> None:
    outcomes: Counter[str] = Counter()

    @FUZZ
    @given(
        obj=objects,
        old=st.none() | objects,
        kind=st.none()
        | st.sampled_from(
            [
                ObjectKind("", "v1", "Pod"),
                ObjectKind("batch", "v1", "CronJob"),
                ObjectKind("apps", "v1beta2", "DaemonSet"),
                ObjectKind("", "v1", "PodTemplate"),
            ]
        ),
        operation=_mostly(st.sampled_from(["CREATE", "UPDATE"]), OPERATIONS),
        sub_resource=_mostly(st.none(), SUB_RESOURCES),
    )
    def run(
        obj: Any, old: Any, kind: ObjectKind | None, operation: str, sub_resource: str | None
    ) -> None:
        if not isinstance(obj, dict):
            obj = {"spec": obj}
        if old is not None and not isinstance(old, dict):
            old = {"spec": old}
        workload = extract_workload(
            obj, kind, operation=operation, sub_resource=sub_resource, old_object=old
        )
        _check_workload(workload)
        outcomes["skipped" if workload.is_skipped else "extracted"] += 1

    run()
    _report(capsys, "extract_workload on random objects", outcomes)
