"""What runs in the cluster, typed: a PodList document becomes :class:`Pod` and
:class:`RunningContainer` objects.

Owns the conversion of ``kubectl get pods -A -o json`` output (a ``List``) or an
API server ``PodList`` page into frozen dataclasses, once, at the edge: one
:class:`RunningContainer` per container, init container and ephemeral container,
with the image that actually runs. A ``List`` may also carry the objects pods
belong to (``kubectl get pods,rs,jobs,deploy -A -o json``): those become
:class:`KubeObject` (metadata only) for owner attribution.

The running image (:func:`running_image`) comes from the container's status
``imageID``, matched by container name, in the forms the runtimes write:

- ``docker-pullable://repo@sha256:…`` (dockershim; ``repo`` may be unnormalised,
  ``nginx@sha256:…``) and ``repo@sha256:…`` (containerd, CRI-O): the digest that
  runs. The reference resolved is the *spec image's* repository at that digest,
  normalised: the runtime may report another repository holding the same
  content, and the spec's is the one the kubelet pulls from.
- bare ``sha256:…`` (or ``docker://sha256:…``): an image ID (the config digest),
  not a manifest digest: the spec image is used.
- empty, placeholders, anything else, or no status yet: the spec image is used
  (a tag, so what runs may differ from what the tag points at now).

Input is untrusted: nothing here raises for a malformed item; it is skipped
with a note. Only a document that is not a pod list at all raises
:class:`~auditor.errors.PodListError`, saying what was found. Imports
:mod:`ballast.reference`; must not import Flask, the Kubernetes client or
:mod:`webhook`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from auditor.errors import PodListError
from ballast._errors import InvalidReference
from ballast.json_values import describe, is_array, is_object, shorten, text_or_empty
from ballast.reference import Reference, is_digest, parse_reference

__all__ = [
    "MAX_NOTES",
    "ContainerType",
    "ImageOrigin",
    "KubeObject",
    "Notes",
    "OwnerReference",
    "Pod",
    "PodList",
    "RunningContainer",
    "RunningImage",
    "parse_object",
    "parse_pod",
    "parse_pod_list",
    "running_image",
]

MAX_NOTES: Final = 50
"""Notes kept per listing; the rest are counted, so a broken cluster cannot flood a report."""
_EMPTY: Final[Mapping[str, str]] = MappingProxyType({})
_PULLABLE_PREFIXES: Final = ("docker-pullable://", "docker://")
_LIST_KINDS: Final = frozenset({"List", "PodList"})


class ContainerType(StrEnum):
    """Which list of the pod spec a container comes from."""

    CONTAINER = "container"
    """``spec.containers``: the application."""
    INIT = "initContainer"
    """``spec.initContainers``: run to completion before the application (sidecars too)."""
    EPHEMERAL = "ephemeralContainer"
    """``spec.ephemeralContainers``: added later by ``kubectl debug``; pulled like any other."""

    @property
    def spec_field(self) -> str:
        """The pod spec field that lists containers of this type."""
        return _SPEC_FIELDS[self]

    @property
    def status_field(self) -> str:
        """The pod status field that reports them."""
        return _STATUS_FIELDS[self]


_SPEC_FIELDS: Final = {
    ContainerType.CONTAINER: "containers",
    ContainerType.INIT: "initContainers",
    ContainerType.EPHEMERAL: "ephemeralContainers",
}
_STATUS_FIELDS: Final = {
    ContainerType.CONTAINER: "containerStatuses",
    ContainerType.INIT: "initContainerStatuses",
    ContainerType.EPHEMERAL: "ephemeralContainerStatuses",
}


class ImageOrigin(StrEnum):
    """Where the reference to resolve came from."""

    STATUS = "status"
    """The status ``imageID`` named a manifest digest: exactly what runs."""
    SPEC = "spec"
    """No usable ``imageID`` (no status yet, an image ID, a placeholder): the spec image."""
    NONE = "none"
    """Nothing resolvable: the spec image does not parse and the status names no digest."""


class Notes:
    """Messages about skipped or odd input, capped at ``limit`` (the rest are counted)."""

    __slots__ = ("_items", "dropped", "limit")

    def __init__(self, limit: int = MAX_NOTES) -> None:
        self._items: list[str] = []
        self.dropped = 0
        self.limit = limit

    def add(self, message: str) -> None:
        if len(self._items) < self.limit:
            self._items.append(message)
        else:
            self.dropped += 1

    def extend(self, messages: Iterable[str]) -> None:
        for message in messages:
            self.add(message)

    def freeze(self) -> tuple[str, ...]:
        """The notes, with one line counting those that did not fit."""
        if not self.dropped:
            return tuple(self._items)
        return (*self._items, f"... and {self.dropped} more notes")

    def __len__(self) -> int:
        return len(self._items) + self.dropped


@dataclass(frozen=True, slots=True)
class OwnerReference:
    """One ``metadata.ownerReferences`` entry."""

    kind: str
    name: str
    api_version: str = ""
    uid: str = ""
    controller: bool = False
    """True for the managing controller (a pod has at most one)."""


@dataclass(frozen=True, slots=True)
class RunningImage:
    """The image a container runs, as far as the pod tells."""

    reference: Reference | None
    """What to resolve: ``<spec repository>@<status digest>``, else the spec image;
    ``None`` when nothing parses."""
    origin: ImageOrigin
    note: str = ""
    """Why the status was not used, or why nothing can be resolved; empty otherwise."""

    @property
    def digest(self) -> str | None:
        """The manifest (or index) digest when known before asking a registry."""
        return self.reference.digest if self.reference is not None else None

    @property
    def key(self) -> str:
        """Identity for dedup before resolving: the digest when known, else the normalised
        reference (``docker.io/library/nginx:1.25``); empty when nothing resolves."""
        if self.reference is None:
            return ""
        return self.reference.digest or str(self.reference)


@dataclass(frozen=True, slots=True)
class RunningContainer:
    """One container of one pod, with the image that runs in it."""

    namespace: str
    pod: str
    name: str
    type: ContainerType
    node: str
    """``spec.nodeName``; empty while the pod is not scheduled."""
    phase: str
    """``status.phase`` (``Running``, ``Pending`` ...); empty when there is no status."""
    spec_image: str
    """``image`` as the pod spec writes it (what policies match against); may be empty."""
    image_id: str
    """The status ``imageID`` as reported; empty when there is no status for it."""
    image: RunningImage
    owners: tuple[OwnerReference, ...]
    pod_labels: Mapping[str, str]
    pod_annotations: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Pod:
    """One pod and its containers (all three lists, in spec order)."""

    namespace: str
    name: str
    uid: str
    node: str
    phase: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    owners: tuple[OwnerReference, ...]
    containers: tuple[RunningContainer, ...]

    @property
    def controller(self) -> OwnerReference | None:
        """The managing owner (``controller: true``), else the first owner, else ``None``."""
        for owner in self.owners:
            if owner.controller:
                return owner
        return self.owners[0] if self.owners else None


@dataclass(frozen=True, slots=True)
class KubeObject:
    """A non-pod object listed with the pods (ReplicaSet, Job, Deployment, Namespace ...).

    Metadata only: enough to walk owner references up to the top-level workload and to
    read the workload's annotations (``ballast.dev/exception``) and namespace labels.
    """

    kind: str
    namespace: str
    """Empty for cluster-scoped objects (Namespace)."""
    name: str
    uid: str = ""
    owners: tuple[OwnerReference, ...] = ()
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    annotations: Mapping[str, str] = field(default_factory=lambda: _EMPTY)

    @property
    def controller(self) -> OwnerReference | None:
        """The managing owner (``controller: true``), else the first owner, else ``None``."""
        for owner in self.owners:
            if owner.controller:
                return owner
        return self.owners[0] if self.owners else None


@dataclass(frozen=True, slots=True)
class PodList:
    """A parsed pod list: pods, the other objects listed with them, and what was skipped."""

    pods: tuple[Pod, ...]
    objects: tuple[KubeObject, ...] = ()
    notes: tuple[str, ...] = ()
    skipped: int = 0
    """Items that could not be read at all (each has a note)."""

    @property
    def containers(self) -> Iterator[RunningContainer]:
        for pod in self.pods:
            yield from pod.containers


# -- the running image ------------------------------------------------------------------------


def running_image(spec_image: str, image_id: str | None) -> RunningImage:
    """The reference to resolve for a container (see the module docstring for the forms).

    ``image_id`` is the status ``imageID``, or ``None`` when the container has no
    status yet. Never raises.
    """
    spec_ref, spec_error = _parse(spec_image)
    if image_id is None:
        why = "no container status yet"
    else:
        raw = image_id.strip()
        for prefix in _PULLABLE_PREFIXES:
            if raw.startswith(prefix):
                raw = raw[len(prefix) :]
                break
        name, at, digest = raw.rpartition("@")
        if at and name and is_digest(digest):
            if spec_ref is not None:
                pinned = Reference(spec_ref.registry, spec_ref.repository, digest=digest)
                return RunningImage(pinned, ImageOrigin.STATUS)
            from_status, _ = _parse(raw)
            if from_status is not None:
                return RunningImage(
                    Reference(from_status.registry, from_status.repository, digest=digest),
                    ImageOrigin.STATUS,
                    f"spec image does not parse ({spec_error}); repository taken from imageID",
                )
            why = f"imageID {shorten(image_id)} names no valid repository"
        elif not raw:
            why = "imageID is empty (image not pulled yet)"
        elif is_digest(raw):
            why = f"imageID {shorten(raw, limit=20)} is an image ID, not a manifest digest"
        else:
            why = f"imageID {shorten(image_id)} is not repository@sha256:<digest>"
    if spec_ref is not None:
        return RunningImage(spec_ref, ImageOrigin.SPEC, f"{why}; spec image used")
    return RunningImage(None, ImageOrigin.NONE, f"{why}, and the spec image {spec_error}")


def _parse(text: str) -> tuple[Reference | None, str]:
    if not text:
        return None, "is missing"
    try:
        return parse_reference(text), ""
    except InvalidReference as exc:
        return None, f"{shorten(text)} is invalid: {exc}"


# -- documents --------------------------------------------------------------------------------


def parse_pod_list(document: object, *, source: str = "the document") -> PodList:
    """Read a ``PodList``, a ``List`` (``kubectl get … -o json``) or a single ``Pod``.

    Items without ``kind`` are pods (the API server's PodList leaves it out);
    items of other kinds become :class:`KubeObject`. Malformed items are skipped
    with a note. Raises PodListError (with ``found``) for anything that is not a
    list of pods.
    """
    notes = Notes()
    if not is_object(document):
        found = describe(document, quote_strings=True)
        raise PodListError(
            f"{source} is {found}, not a pod list: expected the output of "
            "'kubectl get pods -A -o json' (an object with kind List and items)",
            source=source,
            found=found,
        )
    kind = document.get("kind")
    if kind == "Pod":
        pod = parse_pod(document, where=source, notes=notes)
        pods = (pod,) if pod is not None else ()
        return PodList(pods, notes=notes.freeze(), skipped=1 - len(pods))
    if kind not in _LIST_KINDS and not (kind is None and "items" in document):
        found = _found(document)
        raise PodListError(
            f"{source} is {found}, not a pod list: expected the output of "
            "'kubectl get pods -A -o json' (kind List or PodList, with items)",
            source=source,
            found=found,
        )
    items = document.get("items")
    if not is_array(items):
        found = f"a {kind or 'document'} whose items are {describe(items, quote_strings=True)}"
        raise PodListError(
            f"{source} is {found}; expected a list of pods in items", source=source, found=found
        )
    return parse_items(items, source=source, notes=notes)


def parse_items(items: Iterable[object], *, source: str, notes: Notes | None = None) -> PodList:
    """Convert list items (pods and, in a ``List``, other objects); never raises."""
    notes = notes if notes is not None else Notes()
    pods: list[Pod] = []
    objects: list[KubeObject] = []
    skipped = 0
    for index, item in enumerate(items):
        where = f"{source} items[{index}]"
        if not is_object(item):
            notes.add(f"{where} is {describe(item, quote_strings=True)}, not an object; skipped")
            skipped += 1
            continue
        kind = item.get("kind")
        if kind is None or kind == "Pod":
            pod = parse_pod(item, where=where, notes=notes)
            if pod is None:
                skipped += 1
            else:
                pods.append(pod)
            continue
        if not isinstance(kind, str) or not kind:
            notes.add(f"{where} has kind {describe(kind, quote_strings=True)}; skipped")
            skipped += 1
            continue
        obj = parse_object(item, kind=kind, where=where, notes=notes)
        if obj is None:
            skipped += 1
        else:
            objects.append(obj)
    return PodList(tuple(pods), tuple(objects), notes.freeze(), skipped)


def _found(document: Mapping[str, Any]) -> str:
    kind = document.get("kind")
    if not isinstance(kind, str) or not kind:
        keys = ", ".join(sorted(str(k) for k in document)[:6]) or "no keys"
        return f"an object without kind (keys: {keys})"
    text = f"a {kind[:40]}"
    api_version = document.get("apiVersion")
    if isinstance(api_version, str) and api_version:
        text += f" ({api_version[:40]})"
    metadata = document.get("metadata")
    if is_object(metadata) and isinstance(metadata.get("name"), str):
        text += f" named {shorten(metadata['name'], limit=60)}"
    return text


def parse_pod(item: Mapping[str, Any], *, where: str, notes: Notes) -> Pod | None:
    """One pod item, or ``None`` (with a note) when it cannot be read."""
    metadata = item.get("metadata")
    if not is_object(metadata):
        notes.add(f"{where}: metadata is {describe(metadata, quote_strings=True)}; skipped")
        return None
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        notes.add(f"{where}: metadata.name is {describe(name, quote_strings=True)}; skipped")
        return None
    namespace = metadata.get("namespace")
    where = f"pod {namespace}/{name}" if isinstance(namespace, str) and namespace else where
    if not isinstance(namespace, str) or not namespace:
        notes.add(f"{where}: no metadata.namespace; taken as 'default'")
        namespace = "default"
    spec = item.get("spec")
    if not is_object(spec):
        notes.add(f"{where}: spec is {describe(spec, quote_strings=True)}; skipped")
        return None
    status = item.get("status")
    if status is not None and not is_object(status):
        notes.add(f"{where}: status is {describe(status, quote_strings=True)}; spec images used")
    status_map: Mapping[str, Any] = status if is_object(status) else {}
    labels = _string_map(metadata.get("labels"), where=f"{where} metadata.labels", notes=notes)
    annotations = _string_map(
        metadata.get("annotations"), where=f"{where} metadata.annotations", notes=notes
    )
    owners = _owners(metadata.get("ownerReferences"), where=where, notes=notes)
    node = text_or_empty(spec.get("nodeName"))
    phase = text_or_empty(status_map.get("phase"))
    containers: list[RunningContainer] = []
    for container_type in ContainerType:
        entries = spec.get(container_type.spec_field)
        if entries is None:
            continue
        list_path = f"{where} spec.{container_type.spec_field}"
        if not is_array(entries):
            notes.add(f"{list_path} is {describe(entries, quote_strings=True)}; ignored")
            continue
        image_ids = _image_ids(status_map.get(container_type.status_field))
        for index, entry in enumerate(entries):
            if not is_object(entry):
                notes.add(f"{list_path}[{index}] is {describe(entry, quote_strings=True)}; skipped")
                continue
            container_name = entry.get("name")
            if not isinstance(container_name, str) or not container_name:
                notes.add(
                    f"{list_path}[{index}].name is "
                    f"{describe(container_name, quote_strings=True)}; skipped"
                )
                continue
            spec_image = entry.get("image")
            if spec_image is not None and not isinstance(spec_image, str):
                notes.add(
                    f"{list_path}[{index}].image is {describe(spec_image, quote_strings=True)}"
                )
            spec_text = spec_image if isinstance(spec_image, str) else ""
            image_id = image_ids.get(container_name)
            containers.append(
                RunningContainer(
                    namespace=namespace,
                    pod=name,
                    name=container_name,
                    type=container_type,
                    node=node,
                    phase=phase,
                    spec_image=spec_text,
                    image_id=image_id or "",
                    image=running_image(spec_text, image_id),
                    owners=owners,
                    pod_labels=labels,
                    pod_annotations=annotations,
                )
            )
    if not containers:
        notes.add(f"{where}: no containers could be read; skipped")
        return None
    return Pod(
        namespace=namespace,
        name=name,
        uid=text_or_empty(metadata.get("uid")),
        node=node,
        phase=phase,
        labels=labels,
        annotations=annotations,
        owners=owners,
        containers=tuple(containers),
    )


def parse_object(
    item: Mapping[str, Any], *, kind: str, where: str, notes: Notes
) -> KubeObject | None:
    """A non-pod item as :class:`KubeObject` (metadata only), or ``None`` with a note."""
    metadata = item.get("metadata")
    if not is_object(metadata):
        notes.add(
            f"{where} ({kind}): metadata is {describe(metadata, quote_strings=True)}; skipped"
        )
        return None
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        notes.add(
            f"{where} ({kind}): metadata.name is {describe(name, quote_strings=True)}; skipped"
        )
        return None
    where = f"{kind} {name}"
    return KubeObject(
        kind=kind,
        namespace=text_or_empty(metadata.get("namespace")),
        name=name,
        uid=text_or_empty(metadata.get("uid")),
        owners=_owners(metadata.get("ownerReferences"), where=where, notes=notes),
        labels=_string_map(metadata.get("labels"), where=f"{where} labels", notes=notes),
        annotations=_string_map(
            metadata.get("annotations"), where=f"{where} annotations", notes=notes
        ),
    )


def _image_ids(statuses: object) -> dict[str, str]:
    """``name → imageID`` from one status list; unreadable entries are left out."""
    if not is_array(statuses):
        return {}
    found: dict[str, str] = {}
    for status in statuses:
        if not is_object(status):
            continue
        name = status.get("name")
        if isinstance(name, str) and name not in found:
            found[name] = text_or_empty(status.get("imageID"))
    return found


def _string_map(value: object, *, where: str, notes: Notes) -> Mapping[str, str]:
    if value is None:
        return _EMPTY
    if not is_object(value):
        notes.add(f"{where} is {describe(value, quote_strings=True)}; ignored")
        return _EMPTY
    result = {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
    if len(result) != len(value):
        notes.add(f"{where}: {len(value) - len(result)} non-string values ignored")
    return MappingProxyType(result) if result else _EMPTY


def _owners(value: object, *, where: str, notes: Notes) -> tuple[OwnerReference, ...]:
    if value is None:
        return ()
    if not is_array(value):
        notes.add(
            f"{where}: metadata.ownerReferences is {describe(value, quote_strings=True)}; ignored"
        )
        return ()
    owners: list[OwnerReference] = []
    for index, entry in enumerate(value):
        kind = entry.get("kind") if is_object(entry) else None
        name = entry.get("name") if is_object(entry) else None
        if not is_object(entry) or not isinstance(kind, str) or not isinstance(name, str):
            notes.add(f"{where}: metadata.ownerReferences[{index}] has no kind and name; ignored")
            continue
        owners.append(
            OwnerReference(
                kind=kind,
                name=name,
                api_version=text_or_empty(entry.get("apiVersion")),
                uid=text_or_empty(entry.get("uid")),
                controller=entry.get("controller") is True,
            )
        )
    return tuple(owners)
