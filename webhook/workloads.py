"""Which container images a Kubernetes object asks for, and the context around them.

This module owns the knowledge of where a pod spec sits in each workload kind
(Pod, PodTemplate, Deployment, StatefulSet, DaemonSet, ReplicaSet,
ReplicationController, Job, CronJob and the ``pods/ephemeralcontainers``
subresource), the extraction of images from ``containers``,
``initContainers`` and ``ephemeralContainers`` (in that order, each with its
field path), the UPDATE rule (only images that are new compared to
``oldObject`` are judged), deduplication, and the workload context a policy
needs (namespace, labels, annotations, the ``ballast.dev/exception``
annotation, imagePullSecrets and the service account).

It reads untrusted, already-decoded JSON (plain dicts and lists, or the
read-only mappings :func:`webhook.admission.parse_review` builds) and never
raises for any shape of input: what it cannot read becomes a note, and what it
cannot judge becomes a ``skip_reason`` so the webhook allows it.

Other image-like fields are deliberately *not* reported: OCI image volumes
(``volumes[].image.reference``), RBD volumes (``volumes[].rbd.image``) and
anything under ``status`` (``containerStatuses[].image``/``imageID``,
``volumeStatus.image.imageRef``). Only the three container lists are read.

It is pure: it must not import Flask, the Kubernetes client, or
``webhook.admission`` (which imports this module).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

from ballast.json_values import MISSING, as_text, describe, is_array, is_object, shorten

__all__ = [
    "EXCEPTION_ANNOTATION",
    "KNOWN_OPERATIONS",
    "MAX_NOTES",
    "ContainerImage",
    "ContainerType",
    "ExceptionSource",
    "ImageScan",
    "ImageUse",
    "KubeObject",
    "ObjectKind",
    "PodSpecLocation",
    "Workload",
    "WorkloadContext",
    "dedupe_images",
    "extract_images",
    "extract_workload",
    "locate_pod_spec",
]

EXCEPTION_ANNOTATION: Final = "ballast.dev/exception"
"""The annotation that carries a policy exception (rules, justification, expiry)."""

KNOWN_OPERATIONS: Final = frozenset({"CREATE", "UPDATE", "DELETE", "CONNECT"})
"""The operations the API server sends (admission.k8s.io/v1 ``Operation``)."""

MAX_NOTES: Final = 20
"""At most this many notes per object; the rest are counted in one last note.

A hostile object with 100 000 malformed containers must not produce a
100 000-line log entry.
"""

KubeObject = Mapping[str, object]
"""A decoded Kubernetes object: untrusted, so every value is ``object``."""


class ContainerType(enum.Enum):
    """Which of the three container lists of a pod spec an image came from."""

    CONTAINER = "containers"  # spec.containers: the application containers
    INIT = "initContainers"  # spec.initContainers: run to completion before the others
    EPHEMERAL = "ephemeralContainers"  # spec.ephemeralContainers: added by `kubectl debug`

    @property
    def field(self) -> str:
        """The pod spec field that holds this list (``initContainers``)."""
        return self.value


ExceptionSource = Literal[
    "template",  # the pod template's metadata.annotations (what the Pods inherit)
    "metadata",  # the object's own metadata.annotations
]


@dataclass(frozen=True, slots=True)
class ObjectKind:
    """Group, version and kind of an object: ``apps``, ``v1``, ``Deployment``.

    The core group is the empty string (``v1 Pod`` has group ``""``).
    """

    group: str
    version: str
    kind: str

    @classmethod
    def of(cls, obj: KubeObject) -> ObjectKind:
        """Read ``apiVersion`` and ``kind`` from the object itself.

        Missing or non-string values give empty strings, which no kind in the
        table matches, so the object is skipped rather than misread.
        """
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        group, _, version = (api_version if isinstance(api_version, str) else "").rpartition("/")
        return cls(
            group=as_text(group),
            version=as_text(version),
            kind=as_text(kind) if isinstance(kind, str) else "",
        )

    @property
    def api_version(self) -> str:
        """``apps/v1``, or ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def __str__(self) -> str:
        return f"{self.api_version} {self.kind}".strip()


@dataclass(frozen=True, slots=True)
class PodSpecLocation:
    """Where the pod spec and the pods' metadata sit inside one kind of object."""

    spec_path: tuple[str, ...]
    """Keys from the object root to the PodSpec (empty: the root holds the lists)."""
    pod_metadata_path: tuple[str, ...]
    """Keys to the metadata the Pods get (``spec.template.metadata`` for workloads)."""

    @property
    def spec_field(self) -> str:
        """The spec path written as a field path, ``spec.template.spec``."""
        return ".".join(self.spec_path)


_POD = PodSpecLocation(("spec",), ("metadata",))
_POD_TEMPLATE = PodSpecLocation(("template", "spec"), ("template", "metadata"))
_TEMPLATED = PodSpecLocation(("spec", "template", "spec"), ("spec", "template", "metadata"))
_CRONJOB = PodSpecLocation(
    ("spec", "jobTemplate", "spec", "template", "spec"),
    ("spec", "jobTemplate", "spec", "template", "metadata"),
)
# Before Kubernetes 1.23 the pods/ephemeralcontainers subresource took an
# EphemeralContainers object: {metadata, ephemeralContainers: [...]} at the root.
_EPHEMERAL_CONTAINERS = PodSpecLocation((), ("metadata",))

# (group, kind) → versions accepted, location. The beta versions are the same
# shapes under older names (apps/v1beta1 and v1beta2 until 1.16,
# extensions/v1beta1 until 1.16, batch/v1beta1 CronJob until 1.25); accepting
# them costs nothing and judges what an old cluster or an old manifest sends.
_APPS_VERSIONS: Final = frozenset({"v1", "v1beta1", "v1beta2"})
_BATCH_VERSIONS: Final = frozenset({"v1", "v1beta1", "v2alpha1"})
_KINDS: Final[Mapping[tuple[str, str], tuple[frozenset[str], PodSpecLocation]]] = {
    ("", "Pod"): (frozenset({"v1"}), _POD),
    ("", "PodTemplate"): (frozenset({"v1"}), _POD_TEMPLATE),
    ("", "ReplicationController"): (frozenset({"v1"}), _TEMPLATED),
    ("", "EphemeralContainers"): (frozenset({"v1"}), _EPHEMERAL_CONTAINERS),
    ("apps", "Deployment"): (_APPS_VERSIONS, _TEMPLATED),
    ("apps", "StatefulSet"): (_APPS_VERSIONS, _TEMPLATED),
    ("apps", "DaemonSet"): (_APPS_VERSIONS, _TEMPLATED),
    ("apps", "ReplicaSet"): (_APPS_VERSIONS, _TEMPLATED),
    ("extensions", "Deployment"): (frozenset({"v1beta1"}), _TEMPLATED),
    ("extensions", "DaemonSet"): (frozenset({"v1beta1"}), _TEMPLATED),
    ("extensions", "ReplicaSet"): (frozenset({"v1beta1"}), _TEMPLATED),
    ("batch", "Job"): (_BATCH_VERSIONS, _TEMPLATED),
    ("batch", "CronJob"): (_BATCH_VERSIONS, _CRONJOB),
}

_EPHEMERAL_SUBRESOURCE: Final = "ephemeralcontainers"


def locate_pod_spec(object_kind: ObjectKind) -> PodSpecLocation | None:
    """Where the pod spec of this kind of object sits, or None for other kinds."""
    entry = _KINDS.get((object_kind.group, object_kind.kind))
    if entry is None or object_kind.version not in entry[0]:
        return None
    return entry[1]


@dataclass(frozen=True, slots=True)
class ContainerImage:
    """One container's image, and where it was found."""

    image: str
    """The image string exactly as written in the object (not normalised)."""
    field_path: str
    """Where it was found: ``spec.template.spec.initContainers[0].image``."""
    container_name: str | None
    """The container's ``name`` (None when missing or not a string)."""
    container_type: ContainerType
    index: int
    """Position in its container list."""


@dataclass(frozen=True, slots=True)
class ImageUse:
    """One distinct image and every container that uses it.

    The webhook judges the image once and names every field path in its
    message, so a deny says which containers to fix.
    """

    image: str
    uses: tuple[ContainerImage, ...]

    @property
    def field_paths(self) -> tuple[str, ...]:
        """Every field path that names this image, in object order."""
        return tuple(use.field_path for use in self.uses)

    @property
    def container_names(self) -> tuple[str, ...]:
        """The names of the containers that use this image (unnamed ones left out)."""
        return tuple(use.container_name for use in self.uses if use.container_name is not None)


@dataclass(frozen=True, slots=True)
class ImageScan:
    """The images of one object, in containers → initContainers → ephemeralContainers order."""

    images: tuple[ContainerImage, ...]
    """Every image, duplicates kept."""
    notes: tuple[str, ...]
    """Entries that were skipped because they were malformed, and why."""
    skip_reason: str | None
    """Set when no pod spec could be found: the kind is not handled or the spec is absent."""


@dataclass(frozen=True, slots=True)
class WorkloadContext:
    """What a policy needs to know about the workload besides its images."""

    object_kind: ObjectKind
    namespace: str | None
    """The request's namespace, else ``metadata.namespace``; None when cluster-scoped."""
    name: str | None
    """The request's name, else ``metadata.name``; None for a Pod created by ``generateName``."""
    generate_name: str | None
    """``metadata.generateName`` (``web-7d4b9c-``), the best name a new Pod has."""
    labels: Mapping[str, str]
    """The Pods' labels: the pod template's (for a Pod, its own)."""
    workload_labels: Mapping[str, str]
    """The object's own ``metadata.labels``."""
    annotations: Mapping[str, str]
    """``metadata.annotations`` overlaid with the pod template's (template wins)."""
    exception: str | None
    """The raw ``ballast.dev/exception`` value, or None. Parsed by the policy."""
    exception_source: ExceptionSource | None
    """Where the exception was found (see :func:`extract_workload` for precedence)."""
    image_pull_secrets: tuple[str, ...]
    """Names from ``imagePullSecrets`` of the pod spec, for registry credentials."""
    service_account_name: str | None
    """``serviceAccountName`` (or the deprecated ``serviceAccount``). None means
    the namespace's ``default`` account (the ServiceAccount admission plugin fills
    it in for Pods before validating webhooks run; templates usually leave it out)."""
    owner_kind: str | None
    """Kind of the controlling ownerReference (a Pod's ReplicaSet), if any."""
    owner_name: str | None

    @property
    def display_name(self) -> str:
        """``name``, else ``generateName*``, else ``<unnamed>``: for messages and logs."""
        if self.name:
            return self.name
        if self.generate_name:
            return self.generate_name + "*"
        return "<unnamed>"


@dataclass(frozen=True, slots=True)
class Workload:
    """Everything the webhook judges in one admission request.

    When ``skip_reason`` is set every image tuple is empty and the webhook
    allows the request (it cannot judge it, or there is nothing to judge).
    """

    context: WorkloadContext
    images: tuple[ContainerImage, ...]
    """Every image in scope, duplicates kept. For ``pods/ephemeralcontainers``
    the scope is the ephemeral containers only."""
    changed_images: tuple[ContainerImage, ...]
    """The images to judge: all of ``images`` on CREATE; on UPDATE those whose
    image string appears nowhere (in no container list) in ``oldObject``."""
    unique_images: tuple[ImageUse, ...]
    """``images`` deduplicated, first occurrence first."""
    unique_changed_images: tuple[ImageUse, ...]
    """``changed_images`` deduplicated: what to resolve and judge, once each."""
    old_images: tuple[ContainerImage, ...]
    """Every image of ``oldObject`` (UPDATE only), all three container lists."""
    skip_reason: str | None
    notes: tuple[str, ...]

    @property
    def is_skipped(self) -> bool:
        """True when the request is not judged at all (see ``skip_reason``)."""
        return self.skip_reason is not None


class _Notes:
    """Collects notes up to MAX_NOTES and counts the rest."""

    __slots__ = ("_dropped", "_items", "_prefix")

    def __init__(self, *, prefix: str = "") -> None:
        self._items: list[str] = []
        self._dropped = 0
        self._prefix = prefix

    def add(self, note: str) -> None:
        if len(self._items) < MAX_NOTES:
            self._items.append(self._prefix + note)
        else:
            self._dropped += 1

    def extend(self, notes: Iterable[str]) -> None:
        for note in notes:
            self.add(note)

    def freeze(self) -> tuple[str, ...]:
        if self._dropped:
            return (*self._items, f"{self._dropped} more notes not shown")
        return tuple(self._items)


def _walk(obj: KubeObject, path: tuple[str, ...]) -> KubeObject | str:
    """Follow ``path`` through nested objects; a str return explains where it stopped."""
    node = obj
    for depth, key in enumerate(path):
        value = node.get(key, MISSING)
        if not is_object(value):
            where = ".".join(path[: depth + 1])
            return f"{where} is {describe(value)}"
        node = value
    return node


def _field(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _scan_spec(
    spec: KubeObject, *, prefix: str, types: tuple[ContainerType, ...], notes: _Notes
) -> tuple[ContainerImage, ...]:
    images: list[ContainerImage] = []
    for container_type in types:
        list_path = _field(prefix, container_type.field)
        entries = spec.get(container_type.field, MISSING)
        if entries is MISSING or entries is None:
            continue
        if not is_array(entries):
            notes.add(f"{list_path} is {describe(entries)}, not an array; skipped")
            continue
        for index, entry in enumerate(entries):
            entry_path = f"{list_path}[{index}]"
            if not is_object(entry):
                notes.add(f"{entry_path} is {describe(entry)}, not a container; skipped")
                continue
            image = entry.get("image", MISSING)
            if not isinstance(image, str):
                notes.add(f"{entry_path}.image is {describe(image)}; container skipped")
                continue
            if not image.strip():
                notes.add(f"{entry_path}.image is empty; container skipped")
                continue
            name = entry.get("name")
            images.append(
                ContainerImage(
                    image=as_text(image),
                    field_path=f"{entry_path}.image",
                    container_name=as_text(name) if isinstance(name, str) else None,
                    container_type=container_type,
                    index=index,
                )
            )
    return tuple(images)


_ALL_TYPES: Final = tuple(ContainerType)
_EPHEMERAL_ONLY: Final = (ContainerType.EPHEMERAL,)


def _unknown_kind_reason(object_kind: ObjectKind) -> str:
    entry = _KINDS.get((object_kind.group, object_kind.kind))
    if entry is not None:
        known = ", ".join(
            ObjectKind(object_kind.group, version, object_kind.kind).api_version
            for version in sorted(entry[0])
        )
        return (
            f"{object_kind} is not a version ballast reads (it reads {object_kind.kind} "
            f"as {known}); not judged"
        )
    shown = str(object_kind) or "an object without apiVersion and kind"
    return f"{shown} has no pod template ballast knows how to read"


def _scan(
    obj: KubeObject, object_kind: ObjectKind, *, ephemeral_only: bool, notes: _Notes
) -> tuple[tuple[ContainerImage, ...], KubeObject | None, str | None]:
    """Images, the pod spec (when found) and the skip reason (when not)."""
    location = locate_pod_spec(object_kind)
    if location is None:
        return (), None, _unknown_kind_reason(object_kind)
    spec = _walk(obj, location.spec_path)
    if isinstance(spec, str):
        return (), None, f"{object_kind.kind} has no pod spec: {spec}"
    types = _EPHEMERAL_ONLY if ephemeral_only else _ALL_TYPES
    return _scan_spec(spec, prefix=location.spec_field, types=types, notes=notes), spec, None


def extract_images(
    obj: KubeObject, object_kind: ObjectKind | None = None, *, ephemeral_only: bool = False
) -> ImageScan:
    """List the container images of one object, in the order the manifest gives them.

    ``object_kind`` defaults to the object's own ``apiVersion``/``kind``; an
    admission request passes ``request.kind`` instead, which is authoritative
    (kubewarden's test objects, for one, carry no ``kind`` at all). With
    ``ephemeral_only`` only ``ephemeralContainers`` is read.

    Never raises for any shape of ``obj``: malformed entries become notes, a
    missing pod spec or an unknown kind becomes ``skip_reason``.
    """
    kind = ObjectKind.of(obj) if object_kind is None else object_kind
    notes = _Notes()
    images, _, skip_reason = _scan(obj, kind, ephemeral_only=ephemeral_only, notes=notes)
    return ImageScan(images=images, notes=notes.freeze(), skip_reason=skip_reason)


def dedupe_images(images: Iterable[ContainerImage]) -> tuple[ImageUse, ...]:
    """Group equal image strings, keeping the order of first occurrence.

    Equality is on the string as written: ``nginx`` and
    ``docker.io/library/nginx:latest`` stay apart (both resolve to the same
    digest, so the second costs a cache hit, not a registry request).
    """
    groups: dict[str, list[ContainerImage]] = {}
    for image in images:
        groups.setdefault(image.image, []).append(image)
    return tuple(ImageUse(image=key, uses=tuple(uses)) for key, uses in groups.items())


def _string_map(value: object, *, path: str, notes: _Notes) -> dict[str, str]:
    if value is MISSING or value is None:
        return {}
    if not is_object(value):
        notes.add(f"{path} is {describe(value)}, not an object; ignored")
        return {}
    result: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            continue
        if isinstance(item, str):
            result[as_text(key)] = as_text(item)
        else:
            notes.add(f"{path}[{shorten(key)}] is {describe(item)}, not a string; ignored")
    return result


def _optional_text(value: object) -> str | None:
    return as_text(value) if isinstance(value, str) and value else None


def _pull_secrets(spec: KubeObject, *, path: str, notes: _Notes) -> tuple[str, ...]:
    entries = spec.get("imagePullSecrets")
    if entries is None:
        return ()
    if not is_array(entries):
        notes.add(f"{path} is {describe(entries)}, not an array; ignored")
        return ()
    names: list[str] = []
    for index, entry in enumerate(entries):
        name = entry.get("name") if is_object(entry) else None
        if isinstance(name, str) and name:
            names.append(as_text(name))
        else:
            notes.add(f"{path}[{index}] has no name; ignored")
    return tuple(names)


def _controller_owner(metadata: KubeObject) -> tuple[str | None, str | None]:
    owners = metadata.get("ownerReferences")
    if not is_array(owners):
        return None, None
    for owner in owners:
        if is_object(owner) and owner.get("controller") is True:
            return _optional_text(owner.get("kind")), _optional_text(owner.get("name"))
    return None, None


def _context(
    obj: KubeObject | None,
    object_kind: ObjectKind,
    *,
    spec: KubeObject | None,
    namespace: str | None,
    name: str | None,
    notes: _Notes,
) -> WorkloadContext:
    root: KubeObject = obj if obj is not None else {}
    metadata = _walk(root, ("metadata",))
    meta: KubeObject = metadata if not isinstance(metadata, str) else {}
    workload_labels = _string_map(meta.get("labels"), path="metadata.labels", notes=notes)
    workload_annotations = _string_map(
        meta.get("annotations"), path="metadata.annotations", notes=notes
    )

    location = locate_pod_spec(object_kind)
    labels = workload_labels
    template_annotations: dict[str, str] = {}
    if location is not None and location.pod_metadata_path != ("metadata",):
        pod_meta = _walk(root, location.pod_metadata_path)
        if not isinstance(pod_meta, str):
            prefix = ".".join(location.pod_metadata_path)
            labels = _string_map(pod_meta.get("labels"), path=f"{prefix}.labels", notes=notes)
            template_annotations = _string_map(
                pod_meta.get("annotations"), path=f"{prefix}.annotations", notes=notes
            )
        else:
            labels = {}

    # The pod template wins: its annotations are what the Pods inherit, so a
    # Deployment is judged with the exception its Pods will carry when the
    # webhook sees them one by one. An exception only on the Deployment's own
    # metadata still counts for the Deployment (and its ReplicaSets, which
    # copy it) but never reaches the Pods.
    exception: str | None = None
    source: ExceptionSource | None = None
    if EXCEPTION_ANNOTATION in template_annotations:
        exception, source = template_annotations[EXCEPTION_ANNOTATION], "template"
    elif EXCEPTION_ANNOTATION in workload_annotations:
        exception, source = workload_annotations[EXCEPTION_ANNOTATION], "metadata"

    pull_secrets: tuple[str, ...] = ()
    service_account: str | None = None
    if spec is not None and location is not None:
        spec_field = location.spec_field
        pull_secrets = _pull_secrets(spec, path=_field(spec_field, "imagePullSecrets"), notes=notes)
        service_account = _optional_text(spec.get("serviceAccountName")) or _optional_text(
            spec.get("serviceAccount")
        )
    owner_kind, owner_name = _controller_owner(meta)
    return WorkloadContext(
        object_kind=object_kind,
        namespace=namespace or _optional_text(meta.get("namespace")),
        name=name or _optional_text(meta.get("name")),
        generate_name=_optional_text(meta.get("generateName")),
        labels=MappingProxyType(labels),
        workload_labels=MappingProxyType(workload_labels),
        annotations=MappingProxyType({**workload_annotations, **template_annotations}),
        exception=exception,
        exception_source=source,
        image_pull_secrets=pull_secrets,
        service_account_name=service_account,
        owner_kind=owner_kind,
        owner_name=owner_name,
    )


def _skipped(context: WorkloadContext, reason: str, notes: _Notes) -> Workload:
    return Workload(
        context=context,
        images=(),
        changed_images=(),
        unique_images=(),
        unique_changed_images=(),
        old_images=(),
        skip_reason=reason,
        notes=notes.freeze(),
    )


def _skip_reason_for_request(
    object_kind: ObjectKind, *, operation: str, sub_resource: str | None
) -> str | None:
    if operation in ("DELETE", "CONNECT"):
        return f"{operation} requests bring no new images; nothing to judge"
    if operation not in KNOWN_OPERATIONS:
        return (
            f"operation {shorten(operation)} is not one of CREATE, UPDATE, DELETE, CONNECT;"
            " not judged"
        )
    if sub_resource and sub_resource != _EPHEMERAL_SUBRESOURCE:
        return (
            f"subresource {shorten(sub_resource)} cannot change images"
            " (only pods/ephemeralcontainers is judged)"
        )
    if sub_resource == _EPHEMERAL_SUBRESOURCE and (
        object_kind.group != "" or object_kind.kind not in ("Pod", "EphemeralContainers")
    ):
        return f"subresource ephemeralcontainers of {object_kind} is not a Pod's; not judged"
    return None


def extract_workload(
    obj: KubeObject | None,
    object_kind: ObjectKind | None = None,
    *,
    operation: str = "CREATE",
    sub_resource: str | None = None,
    old_object: KubeObject | None = None,
    namespace: str | None = None,
    name: str | None = None,
) -> Workload:
    """Decide what one admission request asks the webhook to judge.

    - CREATE: every image of ``obj``. ``old_object`` is ignored (the API
      server sends null; some test data sends ``{}`` or a string).
    - UPDATE: only images that appear in no container list of
      ``old_object``; moving an image from one container to another, or
      changing only replicas, judges nothing. Without a readable
      ``old_object`` every image is judged (the safe side) and a note says so.
    - ``pods/ephemeralcontainers`` (``kubectl debug``): only the ephemeral
      containers are in scope; ``obj`` is a Pod, or an EphemeralContainers
      object before Kubernetes 1.23.
    - DELETE, CONNECT, unknown operations, other subresources, kinds without
      a pod template and objects without a pod spec: nothing is judged and
      ``skip_reason`` says why, so the webhook allows what it cannot judge.

    ``object_kind`` should be the request's ``kind`` (it defaults to the
    object's ``apiVersion``/``kind``). ``namespace`` and ``name`` are the
    request's; the object's metadata fills them in when they are empty.

    Exception precedence: ``ballast.dev/exception`` on the pod template wins
    over the one on the object's metadata, because the template's annotations
    are the ones Pods inherit; the merged ``annotations`` map follows the same
    rule. Never raises for any input.
    """
    notes = _Notes()
    subject = obj if obj is not None else old_object
    kind = object_kind
    if kind is None:
        kind = ObjectKind.of(subject) if subject is not None else ObjectKind("", "", "")
    sub_resource = sub_resource or None

    reason = _skip_reason_for_request(kind, operation=operation, sub_resource=sub_resource)
    if reason is None and obj is None:
        reason = f"the {operation} request carries no object; nothing to judge"
    if reason is not None or obj is None:
        context = _context(subject, kind, spec=None, namespace=namespace, name=name, notes=notes)
        return _skipped(context, reason or "nothing to judge", notes)

    ephemeral_only = sub_resource == _EPHEMERAL_SUBRESOURCE or kind.kind == "EphemeralContainers"
    images, spec, reason = _scan(obj, kind, ephemeral_only=ephemeral_only, notes=notes)
    context = _context(obj, kind, spec=spec, namespace=namespace, name=name, notes=notes)
    if reason is not None:
        return _skipped(context, reason, notes)

    old_images: tuple[ContainerImage, ...] = ()
    changed = images
    if operation == "UPDATE":
        old_notes = _Notes(prefix="oldObject: ")
        old_reason: str | None
        if old_object is None:
            old_reason = "the UPDATE request carries no oldObject"
        else:
            old_images, _, old_reason = _scan(
                old_object, kind, ephemeral_only=False, notes=old_notes
            )
        if old_reason is not None:
            notes.add(f"{old_reason}; every image is judged")
        else:
            notes.extend(old_notes.freeze())
            before = {image.image for image in old_images}
            changed = tuple(image for image in images if image.image not in before)

    return Workload(
        context=context,
        images=images,
        changed_images=changed,
        unique_images=dedupe_images(images),
        unique_changed_images=dedupe_images(changed),
        old_images=old_images,
        skip_reason=None,
        notes=notes.freeze(),
    )
