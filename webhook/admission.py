"""AdmissionReview ``admission.k8s.io/v1`` in and out, without HTTP.

This module owns the wire format of the validating webhook:

- the raw payloads, typed as ``TypedDict`` (:class:`AdmissionReviewPayload`,
  :class:`RequestPayload`, :class:`ResponsePayload` ...);
- :func:`parse_review`, which checks the content type, size and envelope of a
  request body and converts it, once, into a frozen :class:`AdmissionRequest`
  (with the images to judge already extracted by :mod:`webhook.workloads`);
- :class:`ReviewError`, the one exception it raises: a bad *review request*
  becomes a 4xx with a message saying exactly what is wrong;
- :func:`build_response` and its limits on warnings, the deny message and
  audit annotation keys, so every response is one the API server accepts.

It is pure and must not import Flask (or anything HTTP): ``webhook/app.py``
reads the body and headers, calls :func:`parse_review`, and serialises what
:func:`build_response` returns. That keeps the whole format testable without a
server [kopf ``_core/engines/admission.py``].

Status codes of :class:`ReviewError`:

- 400: the body is not an AdmissionReview v1 (not UTF-8, not JSON, ``null``,
  not an object, wrong ``apiVersion`` or ``kind``, no ``request``, a bare
  AdmissionRequest without the envelope);
- 413: the body is larger than :data:`MAX_BODY_BYTES`;
- 415: the content type is not ``application/json`` (UTF-8);
- 422: it is an AdmissionReview v1 but its ``request`` is unusable (``uid``,
  ``kind`` or ``operation`` missing, empty or of the wrong type, ``object``
  not an object ...). Every such problem is listed, not only the first.

Note the API server itself never sends any of these: they help whoever wires
the webhook up by hand (curl, tests, another admission framework).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal, NotRequired, TypedDict

from ballast.json_values import MISSING, as_text, describe, is_object, shorten
from webhook.workloads import KubeObject, ObjectKind, Workload, extract_workload

__all__ = [
    "ADMISSION_API_VERSION",
    "ADMISSION_KIND",
    "AUDIT_ANNOTATION_KEY_MAX_CHARS",
    "MAX_BODY_BYTES",
    "MAX_MESSAGE_CHARS",
    "MAX_WARNINGS",
    "MAX_WARNING_CHARS",
    "AdmissionRequest",
    "AdmissionReviewPayload",
    "GroupVersionKindPayload",
    "GroupVersionResourcePayload",
    "Operation",
    "RequestPayload",
    "ResponsePayload",
    "ReviewError",
    "ReviewStatus",
    "StatusPayload",
    "UserInfoPayload",
    "build_response",
    "check_body_size",
    "check_content_type",
    "is_valid_audit_annotation_key",
    "limit_warnings",
    "parse_review",
]

ADMISSION_API_VERSION: Final = "admission.k8s.io/v1"
ADMISSION_KIND: Final = "AdmissionReview"

MAX_BODY_BYTES: Final = 3 * 1024 * 1024
"""Largest request body accepted, in bytes (3 MiB).

etcd limits an object to about 1.5 MiB, and an UPDATE review carries two of
them plus the envelope; anything bigger was not sent by the API server.
"""

MAX_WARNINGS: Final = 10
"""At most this many ``warnings`` per response; kubectl prints each on its own line."""

MAX_WARNING_CHARS: Final = 119
"""Each warning is shorter than 120 characters, as the Kubernetes docs ask.

(The API server truncates warnings above 256 characters and drops all of
them past 4 KiB in total; 10 × 119 stays well inside.)
"""

MAX_MESSAGE_CHARS: Final = 8192
"""A deny message is cut to this many characters (kubectl prints it in one go)."""

AUDIT_ANNOTATION_KEY_MAX_CHARS: Final = 63
"""An audit annotation key is the *name* part of a qualified name (≤ 63 chars).

The API server prefixes it with ``<webhook name>/`` and rejects the pair if
the result is not a valid annotation key (``checkKeyFormat`` in
``k8s.io/apiserver/pkg/admission/attributes.go``).
"""

_AUDIT_KEY_RE: Final = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?")

# --- raw payloads (admission.k8s.io/v1, k8s.io/api/admission/v1/types.go) ---

Operation = Literal["CREATE", "UPDATE", "DELETE", "CONNECT"]
"""The operations the API server sends; :class:`AdmissionRequest` keeps any string."""


class GroupVersionKindPayload(TypedDict):
    """``request.kind``: the kind of the object, as the webhook registered for it."""

    group: str
    version: str
    kind: str


class GroupVersionResourcePayload(TypedDict):
    """``request.resource``: the resource (plural, lower case) being accessed."""

    group: str
    version: str
    resource: str


class UserInfoPayload(TypedDict, total=False):
    """``request.userInfo``: who made the request."""

    username: str
    uid: str
    groups: list[str]
    extra: dict[str, list[str]]


class RequestPayload(TypedDict):
    """``request`` of an AdmissionReview, as the API server sends it."""

    uid: str
    kind: GroupVersionKindPayload
    resource: GroupVersionResourcePayload
    subResource: NotRequired[str]
    requestKind: NotRequired[GroupVersionKindPayload]
    requestResource: NotRequired[GroupVersionResourcePayload]
    requestSubResource: NotRequired[str]
    name: NotRequired[str]
    namespace: NotRequired[str]
    operation: Operation
    userInfo: UserInfoPayload
    object: NotRequired[dict[str, object] | None]
    oldObject: NotRequired[dict[str, object] | None]
    dryRun: NotRequired[bool]
    options: NotRequired[dict[str, object] | None]


class StatusPayload(TypedDict, total=False):
    """``response.status``: a metav1.Status; only code and message are used."""

    code: int
    message: str


class ResponsePayload(TypedDict):
    """``response`` of an AdmissionReview (validating: no patch)."""

    uid: str
    allowed: bool
    status: NotRequired[StatusPayload]
    warnings: NotRequired[list[str]]
    auditAnnotations: NotRequired[dict[str, str]]


class AdmissionReviewPayload(TypedDict):
    """The envelope, in both directions."""

    apiVersion: Literal["admission.k8s.io/v1"]
    kind: Literal["AdmissionReview"]
    request: NotRequired[RequestPayload]
    response: NotRequired[ResponsePayload]


# --- errors ---

ReviewStatus = Literal[400, 413, 415, 422]
"""HTTP status of a :class:`ReviewError` (see the module docstring)."""

_REVIEW_STATUSES: Final = frozenset({400, 413, 415, 422})


class ReviewError(Exception):
    """A request body that is not a usable AdmissionReview v1.

    A front-end error, deliberately outside ballast's core error tree: the
    core never sees review requests. The HTTP adapter answers ``status`` with
    ``message`` as the body; neither holds anything internal.
    """

    def __init__(self, message: str, *, status: ReviewStatus = 400) -> None:
        if status not in _REVIEW_STATUSES:
            raise ValueError(f"ReviewError status must be 400, 413, 415 or 422, not {status!r}")
        super().__init__(message)
        self.message = message
        self.status: ReviewStatus = status


# --- the converted request ---


@dataclass(frozen=True, slots=True)
class AdmissionRequest:
    """One admission request, converted once from the raw payload.

    ``object`` and ``old_object`` are read-only all the way down: every JSON
    object in them is a ``MappingProxyType`` (arrays stay lists; treat them as
    read-only sequences). To serialise one, pass ``default=dict`` to
    ``json.dumps``.
    """

    uid: str
    """Echo it in ``response.uid``; the API server rejects any other value."""
    kind: str
    """``request.kind.kind``: ``Deployment``, ``Pod`` ..."""
    group: str
    """``request.kind.group``; ``""`` for the core group."""
    version: str
    resource: str
    """``request.resource.resource``: ``deployments``, ``pods`` ... (``""`` if absent)."""
    sub_resource: str | None
    """``ephemeralcontainers``, ``status`` ...; None for the main resource."""
    operation: str
    """CREATE, UPDATE, DELETE or CONNECT (other strings are kept and not judged)."""
    namespace: str | None
    name: str | None
    """None when the object is created with ``generateName``."""
    dry_run: bool
    """True for ``kubectl --dry-run=server``: judge, but record no side effects."""
    username: str | None
    object: KubeObject | None
    old_object: KubeObject | None
    workload: Workload
    """The images to judge and the context around them (see :mod:`webhook.workloads`)."""

    @property
    def object_kind(self) -> ObjectKind:
        """Group, version and kind together."""
        return ObjectKind(group=self.group, version=self.version, kind=self.kind)


# --- parsing ---


def check_content_type(content_type: str | None) -> None:
    """Raise a 415 :class:`ReviewError` unless this is UTF-8 ``application/json``.

    The API server sends ``application/json``; a ``charset`` parameter other
    than UTF-8 is refused because JSON on the wire is UTF-8 (RFC 8259 §8.1).
    """
    if content_type is None or not content_type.strip():
        raise ReviewError(
            "no Content-Type: send the AdmissionReview as application/json", status=415
        )
    media_type, *parameters = content_type.split(";")
    if media_type.strip().lower() != "application/json":
        raise ReviewError(
            f"Content-Type {shorten(content_type)} is not application/json: "
            "send the AdmissionReview as JSON",
            status=415,
        )
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if key.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise ReviewError(
                f"Content-Type {shorten(content_type)} names charset {shorten(charset)}: "
                "JSON must be sent as UTF-8",
                status=415,
            )


def check_body_size(size: int | None, *, limit: int = MAX_BODY_BYTES) -> None:
    """Raise a 413 :class:`ReviewError` when ``size`` bytes exceed ``limit``.

    The HTTP adapter calls it with ``Content-Length`` before reading the body
    (``None`` when the length is not known: then read at most ``limit + 1``
    bytes and call it again with what was read). :func:`parse_review` checks
    the body it is given as well.
    """
    if size is not None and size > limit:
        raise ReviewError(
            f"request body is {size} bytes, above the {limit}-byte limit: Kubernetes "
            "objects are at most about 1.5 MiB, so this did not come from the API server",
            status=413,
        )


class _NotJSONConstant(ValueError):
    """``NaN``/``Infinity``: Python's json accepts them, JSON (and Go) does not."""


def _reject_constant(name: str) -> object:
    raise _NotJSONConstant(f"{name} is not a JSON value")


def _load_json(body: bytes) -> object:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReviewError(
            f"body is not UTF-8 (invalid byte at offset {exc.start}): "
            "send the AdmissionReview as UTF-8 JSON"
        ) from exc
    if not text.strip():
        raise ReviewError("body is empty: expected an AdmissionReview JSON object")
    try:
        # object_hook makes every JSON object read-only as it is decoded, which
        # costs nothing measurable (a C call per object).
        return json.loads(text, object_hook=MappingProxyType, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise ReviewError("body is not usable JSON: it is nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, NaN, or an integer above 4300 digits
        raise ReviewError(f"body is not valid JSON: {shorten(str(exc), limit=200)}") from exc


def _looks_like_bare_request(document: Mapping[str, object]) -> bool:
    return (
        "apiVersion" not in document
        and "request" not in document
        and ("uid" in document or "operation" in document)
    )


def _envelope_request(document: object) -> Mapping[str, object]:
    """Check the AdmissionReview envelope and return its ``request``."""
    if document is None:
        raise ReviewError(
            "body is JSON null: expected an AdmissionReview object "
            '{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {...}}'
        )
    if not is_object(document):
        raise ReviewError(
            f"body is {describe(document)}, not a JSON object: expected an AdmissionReview"
        )
    if _looks_like_bare_request(document):
        raise ReviewError(
            "body is a bare AdmissionRequest (uid, kind and operation at the top level) "
            'without the AdmissionReview envelope: send {"apiVersion": '
            '"admission.k8s.io/v1", "kind": "AdmissionReview", "request": <this object>}'
        )
    api_version = document.get("apiVersion", MISSING)
    kind = document.get("kind", MISSING)
    if isinstance(kind, str) and kind != ADMISSION_KIND:
        shown = f"{api_version} " if isinstance(api_version, str) else ""
        raise ReviewError(
            f"body is a {shorten(shown + kind)} object, not an AdmissionReview: this "
            "endpoint takes the AdmissionReview the API server sends to validating webhooks"
        )
    if api_version == "admission.k8s.io/v1beta1":
        raise ReviewError(
            "AdmissionReview admission.k8s.io/v1beta1 is not supported: set "
            "admissionReviewVersions: [v1] in the ValidatingWebhookConfiguration"
        )
    if api_version != ADMISSION_API_VERSION:
        got = (
            f"apiVersion {shorten(api_version)} is not"
            if isinstance(api_version, str)
            else f"apiVersion is {describe(api_version)}, expected"
        )
        raise ReviewError(f"{got} {ADMISSION_API_VERSION}: ballast only speaks AdmissionReview v1")
    if kind != ADMISSION_KIND:
        raise ReviewError(f"kind is {describe(kind)}, expected AdmissionReview")
    request = document.get("request", MISSING)
    if request is MISSING or request is None:
        raise ReviewError(
            f"AdmissionReview has no request (request is {describe(request)}): "
            "the API server always sends one; a response-only review cannot be judged"
        )
    if not is_object(request):
        raise ReviewError(f"AdmissionReview request is {describe(request)}, not an object")
    return request


class _Fields:
    """Reads typed fields out of ``request`` and collects every problem."""

    __slots__ = ("problems",)

    def __init__(self) -> None:
        self.problems: list[str] = []

    def required_text(self, source: Mapping[str, object], key: str, *, where: str) -> str:
        value = source.get(key, MISSING)
        if not isinstance(value, str):
            shown = "is missing" if value is MISSING else f"must be a string, not {describe(value)}"
            self.problems.append(f"{where} {shown}")
            return ""
        if not value.strip():
            self.problems.append(f"{where} is empty")
            return ""
        return as_text(value)

    def optional_text(self, source: Mapping[str, object], key: str, *, where: str) -> str | None:
        value = source.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problems.append(f"{where} must be a string or null, not {describe(value)}")
            return None
        return as_text(value) or None

    def optional_object(
        self, source: Mapping[str, object], key: str, *, where: str
    ) -> Mapping[str, object] | None:
        value = source.get(key)
        if value is None or is_object(value):
            return value
        self.problems.append(f"{where} must be an object or null, not {describe(value)}")
        return None

    def optional_bool(self, source: Mapping[str, object], key: str, *, where: str) -> bool:
        value = source.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.problems.append(f"{where} must be true, false or null, not {describe(value)}")
            return False
        return value


_EMPTY: Final[Mapping[str, object]] = MappingProxyType({})


def _convert_request(request: Mapping[str, object]) -> AdmissionRequest:
    fields = _Fields()
    uid = fields.required_text(request, "uid", where="request.uid")
    kind_payload = request.get("kind", MISSING)
    if is_object(kind_payload):
        kind = fields.required_text(kind_payload, "kind", where="request.kind.kind")
        # The core group is "", so only group may be empty or absent.
        group = fields.optional_text(kind_payload, "group", where="request.kind.group")
        version = fields.required_text(kind_payload, "version", where="request.kind.version")
    else:
        fields.problems.append(
            "request.kind is missing"
            if kind_payload is MISSING
            else f"request.kind must be an object {{group, version, kind}}, "
            f"not {describe(kind_payload)}"
        )
        kind, group, version = "", None, ""
    resource_payload = fields.optional_object(request, "resource", where="request.resource")
    resource = fields.optional_text(
        resource_payload or _EMPTY, "resource", where="request.resource.resource"
    )
    sub_resource = fields.optional_text(request, "subResource", where="request.subResource")
    operation = fields.required_text(request, "operation", where="request.operation")
    namespace = fields.optional_text(request, "namespace", where="request.namespace")
    name = fields.optional_text(request, "name", where="request.name")
    dry_run = fields.optional_bool(request, "dryRun", where="request.dryRun")
    user_info = fields.optional_object(request, "userInfo", where="request.userInfo")
    username = fields.optional_text(
        user_info or _EMPTY, "username", where="request.userInfo.username"
    )
    obj = fields.optional_object(request, "object", where="request.object")
    # oldObject is only read on UPDATE. The API server sends null otherwise;
    # test data in the wild sends {} or even the string "None" on CREATE.
    old_object = request.get("oldObject")
    if not is_object(old_object):
        if operation == "UPDATE" and old_object is not None:
            fields.problems.append(
                f"request.oldObject must be an object or null, not {describe(old_object)}"
            )
        old_object = None
    if fields.problems:
        hint = (
            " (the API server sends a uid with every request and needs it back)"
            if any(problem.startswith("request.uid") for problem in fields.problems)
            else ""
        )
        raise ReviewError(
            "AdmissionReview request is not usable: " + "; ".join(fields.problems) + hint,
            status=422,
        )
    object_kind = ObjectKind(group=group or "", version=version, kind=kind)
    workload = extract_workload(
        obj,
        object_kind,
        operation=operation,
        sub_resource=sub_resource,
        old_object=old_object,
        namespace=namespace,
        name=name,
    )
    return AdmissionRequest(
        uid=uid,
        kind=kind,
        group=object_kind.group,
        version=object_kind.version,
        resource=resource or "",
        sub_resource=sub_resource,
        operation=operation,
        namespace=namespace,
        name=name,
        dry_run=dry_run,
        username=username,
        object=obj,
        old_object=old_object,
        workload=workload,
    )


def parse_review(
    body: bytes, *, content_type: str | None, max_body_bytes: int = MAX_BODY_BYTES
) -> AdmissionRequest:
    """Check and convert one AdmissionReview request body.

    ``content_type`` is the request's ``Content-Type`` header; ``max_body_bytes``
    should be the limit the HTTP adapter enforces, if it configures one. The conversion
    happens once: the result holds the read-only object and the images to
    judge (``.workload``), so nothing downstream touches raw JSON.

    Raises :class:`ReviewError` (400, 413, 415 or 422; see the module
    docstring) and nothing else, whatever the bytes are.
    """
    check_content_type(content_type)
    check_body_size(len(body), limit=max_body_bytes)
    request = _envelope_request(_load_json(body))
    return _convert_request(request)


# --- responses ---


def _clean_line(text: str) -> str:
    """One line of printable text: control characters become spaces, runs collapse.

    The API server turns warnings into ``Warning:`` HTTP headers and drops
    any that are not printable.
    """
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 3].rstrip() + "..."


def limit_warnings(
    warnings: Iterable[str],
    *,
    max_count: int = MAX_WARNINGS,
    max_chars: int = MAX_WARNING_CHARS,
) -> list[str]:
    """Make warnings fit what kubectl shows well and the API server keeps.

    Each warning becomes one printable line of at most ``max_chars``
    characters (cut with ``...``); empty ones and repeats are dropped; past
    ``max_count`` the last slot says how many more there were. Idempotent.
    """
    if isinstance(warnings, str):
        raise TypeError("limit_warnings takes an iterable of warnings, not one string")
    if max_count < 1 or max_chars < 20:
        raise ValueError("limit_warnings needs max_count >= 1 and max_chars >= 20")
    cleaned: list[str] = []
    seen: set[str] = set()
    for warning in warnings:
        line = _truncate(_clean_line(warning), max_chars)
        if line and line not in seen:
            seen.add(line)
            cleaned.append(line)
    if len(cleaned) <= max_count:
        return cleaned
    kept = cleaned[: max_count - 1]
    more = len(cleaned) - len(kept)
    return [*kept, _truncate(f"... and {more} more warnings", max_chars)]


def is_valid_audit_annotation_key(key: str) -> bool:
    """True for a key the API server accepts after prefixing it with the webhook name."""
    return len(key) <= AUDIT_ANNOTATION_KEY_MAX_CHARS and _AUDIT_KEY_RE.fullmatch(key) is not None


def _audit_annotations(annotations: Mapping[str, str]) -> dict[str, str]:
    bad_keys = [key for key in annotations if not is_valid_audit_annotation_key(key)]
    if bad_keys:
        raise ValueError(
            f"invalid audit annotation keys {bad_keys!r}: a key is a name of at most "
            f"{AUDIT_ANNOTATION_KEY_MAX_CHARS} characters, [A-Za-z0-9] at both ends and "
            "[-_.A-Za-z0-9] inside, without a prefix (the API server adds the webhook name)"
        )
    bad_values = [key for key, value in annotations.items() if not isinstance(value, str)]
    if bad_values:
        raise TypeError(f"audit annotation values must be strings: {bad_values!r}")
    return {key: as_text(value) for key, value in annotations.items()}


def build_response(
    uid: str,
    *,
    allowed: bool,
    message: str | None = None,
    code: int | None = None,
    warnings: Iterable[str] = (),
    audit_annotations: Mapping[str, str] | None = None,
) -> AdmissionReviewPayload:
    """Build the AdmissionReview v1 answer to the request with ``uid``.

    A denial needs a ``message`` (what is wrong and how to fix it; cut to
    :data:`MAX_MESSAGE_CHARS`) and answers ``code`` (403 by default, any
    400-599) in ``response.status``. An allowed response carries neither:
    tell the user things through ``warnings``, which pass through
    :func:`limit_warnings`. ``audit_annotations`` keys must pass
    :func:`is_valid_audit_annotation_key`.

    Raises ``ValueError``/``TypeError`` for a misuse of these rules (a
    programmer mistake, never caused by the request).
    """
    if not isinstance(uid, str) or not uid:
        raise ValueError("build_response needs the request's uid, a non-empty string")
    response: ResponsePayload = {"uid": uid, "allowed": allowed}
    if allowed:
        if message is not None or code is not None:
            raise ValueError(
                "message and code belong to a denial; use warnings on an allowed response"
            )
    else:
        if not message or not message.strip():
            raise ValueError("a denial needs a message saying what is wrong and how to fix it")
        status_code = 403 if code is None else code
        if isinstance(status_code, bool) or not 400 <= status_code <= 599:
            raise ValueError(f"a denial's code must be an HTTP error status, not {code!r}")
        response["status"] = {
            "code": status_code,
            "message": _truncate(as_text(message), MAX_MESSAGE_CHARS),
        }
    limited = limit_warnings(warnings)
    if limited:
        response["warnings"] = limited
    if audit_annotations:
        response["auditAnnotations"] = _audit_annotations(audit_annotations)
    return {"apiVersion": ADMISSION_API_VERSION, "kind": ADMISSION_KIND, "response": response}
