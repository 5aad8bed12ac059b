"""The result of one audit pass: :class:`AuditSnapshot` and the records it is made of.

Owns the immutable model that metrics and reports are built from (they never
look at pods or registries themselves): per image digest what it is, how big,
how it was judged and who runs it where; per workload, per namespace and per
node totals; findings with advice and savings; exceptions honoured and
ignored; counts and timing. Sizes are bytes and say their kind:
``compressed_bytes`` is what a node pulls (from the manifest),
``savings_bytes`` of a finding is unpacked (uncompressed) bytes, as layer
analysis measures it.

*Pull footprint* is an image's compressed size times the distinct nodes that
run it: what the cluster pulled (and keeps on disk, compressed) for it. A
cluster's footprint counts each (image, node) once; a namespace's counts the
nodes where that namespace runs the image, so namespaces may add up to more
than the cluster when they share images on the same nodes.

Ordering is part of the contract, so reports can take the first N: images by
compressed size (largest first, unknown last), workloads and namespaces by
pull footprint, nodes by compressed bytes, findings by severity of the action
then savings. :func:`auditor.snapshot_json.snapshot_to_dict` gives the
JSON document. Pure; must not import Flask, the Kubernetes client or
:mod:`webhook`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from auditor.owners import AttributionRule, WorkloadId
from auditor.pods import ContainerType
from ballast.facts import ImageFacts, ResolvedImage
from ballast.policy import Finding, ImageVerdict, LayerReportView, Quantity, Verdict

__all__ = [
    "SCHEMA_VERSION",
    "AuditSnapshot",
    "ContainerSlot",
    "Counts",
    "ExceptionRecord",
    "FindingRecord",
    "IgnoredExceptionRecord",
    "ImageRecord",
    "ImageUse",
    "NamespaceTotals",
    "NodeTotals",
    "PolicySummary",
    "Timing",
    "WorkloadRecord",
]

SCHEMA_VERSION: Final = 1
"""Version of the snapshot JSON document; bumped when the meaning of a key changes."""


@dataclass(frozen=True, slots=True)
class ContainerSlot:
    """A container of a workload's pod template: its name and which list it is in."""

    name: str
    type: ContainerType


@dataclass(frozen=True, slots=True)
class ImageUse:
    """One workload running one image, judged in that workload's context."""

    workload: WorkloadId
    spec_images: tuple[str, ...]
    """The image as this workload's pod specs write it (usually one spelling)."""
    containers: tuple[ContainerSlot, ...]
    pods: int
    """Pods of the workload that run the image (replicas)."""
    nodes: tuple[str, ...]
    """Distinct nodes those pods are on (unscheduled pods have none)."""
    verdict: ImageVerdict
    """The policy's judgement for this workload (its namespace, labels and exceptions)."""


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One unique image (by digest; by reference when it could not be resolved)."""

    key: str
    """The digest it resolved to, else the normalised reference (or the spec text)."""
    digest: str | None
    """What the references resolve to: a manifest, or a multi-arch index."""
    references: tuple[str, ...]
    """Normalised references asked for (``registry/repo@sha256:…`` or ``…:tag``); the
    first one is the one that answered."""
    spec_images: tuple[str, ...]
    """Every spelling in pod specs."""
    resolved: ResolvedImage | None
    """The facts, per selected platform; ``None`` when unknown."""
    layer_reports: tuple[LayerReportView | None, ...]
    """Layer facts per platform of ``resolved`` (``None`` while not read)."""
    unknown_reason: str | None
    """Why there are no facts (a registry error message, an invalid reference)."""
    error_type: str | None
    """The error's class name (``RegistryUnavailable``, ``NotFound``, ``InvalidReference``)."""
    is_registry_error: bool
    uses: tuple[ImageUse, ...]
    pods: int
    containers: int
    nodes: tuple[str, ...]
    namespaces: tuple[str, ...]
    verdict: Verdict
    """The worst verdict over its uses (failure-mode verdict for an unknown image)."""
    compressed_bytes: int | None = field(init=False)
    """What a node pulls for the primary platform (layers + config); ``None`` when unknown.
    Computed once: reports and totals read it many times."""

    def __post_init__(self) -> None:
        primary = self.primary
        size = primary.compressed_bytes if primary is not None else None
        object.__setattr__(self, "compressed_bytes", size)

    @property
    def is_unknown(self) -> bool:
        return self.resolved is None

    @property
    def primary(self) -> ImageFacts | None:
        """Facts of the first selected platform (the one sizes are reported for)."""
        return self.resolved.platforms[0] if self.resolved and self.resolved.platforms else None

    @property
    def layer_report(self) -> LayerReportView | None:
        """Layer facts of the primary platform, when read."""
        return self.layer_reports[0] if self.layer_reports else None

    @property
    def layer_count(self) -> int | None:
        primary = self.primary
        return primary.layer_count if primary is not None else None

    @property
    def platform(self) -> str | None:
        primary = self.primary
        return str(primary.platform) if primary is not None else None

    @property
    def pull_footprint_bytes(self) -> int | None:
        """Compressed size × distinct nodes running it; ``None`` when unknown."""
        size = self.compressed_bytes
        return size * len(self.nodes) if size is not None else None

    @property
    def registry(self) -> str:
        """The registry host of the first reference (``ghcr.io``, ``127.0.0.1:5000``), for
        per-registry error counts; empty when nothing could be resolved."""
        return self.references[0].split("/", 1)[0] if self.references else ""

    @property
    def repositories(self) -> tuple[str, ...]:
        """``registry/repository`` of each reference (for matching across digests in diffs)."""
        names = (ref.split("@", 1)[0] for ref in self.references)
        return tuple(dict.fromkeys(_strip_tag(name) for name in names))

    @property
    def workloads(self) -> tuple[WorkloadId, ...]:
        return tuple(use.workload for use in self.uses)

    @property
    def failures(self) -> tuple[Finding, ...]:
        """Failing findings over every use (the same finding once per use)."""
        return tuple(f for use in self.uses for f in use.verdict.failures)


def _strip_tag(name: str) -> str:
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


@dataclass(frozen=True, slots=True)
class WorkloadRecord:
    """One top-level workload (Deployment, StatefulSet, CronJob, bare Pod ...)."""

    id: WorkloadId
    rule: AttributionRule
    """How its pods were attributed to it."""
    images: tuple[str, ...]
    """Keys of the images it runs (see :attr:`ImageRecord.key`)."""
    spec_images: tuple[str, ...]
    pods: int
    containers: int
    nodes: tuple[str, ...]
    compressed_bytes: int
    """Σ compressed size of its known unique images."""
    pull_footprint_bytes: int
    """Σ over its images of size × nodes where this workload runs it."""
    unknown_images: int
    verdict: Verdict
    """The worst verdict of its images in its context."""
    failed_findings: int


@dataclass(frozen=True, slots=True)
class NamespaceTotals:
    """Totals for one namespace."""

    name: str
    pods: int
    containers: int
    workloads: int
    images: int
    """Unique images run in the namespace."""
    unknown_images: int
    compressed_bytes: int
    """Σ compressed size of the namespace's known unique images."""
    pull_footprint_bytes: int
    """Σ over its images of size × nodes where the namespace runs it."""
    failed_findings: int
    savings_bytes: int
    """Σ unpacked bytes its findings say could be saved (each image once)."""


@dataclass(frozen=True, slots=True)
class NodeTotals:
    """What one node pulled."""

    name: str
    pods: int
    images: int
    compressed_bytes: int
    """Σ compressed size of the known unique images on the node."""


@dataclass(frozen=True, slots=True)
class FindingRecord:
    """One finding on one image, with every workload it was reported for."""

    image: str
    """The image's :attr:`ImageRecord.key`."""
    finding: Finding
    workloads: tuple[WorkloadId, ...]
    namespaces: tuple[str, ...]
    nodes: int
    """Distinct nodes those workloads run the image on."""

    @property
    def savings_bytes(self) -> int | None:
        """Unpacked bytes the fix saves per image copy (from layer facts), when known."""
        return self.finding.savings_bytes

    @property
    def node_savings_bytes(self) -> int | None:
        """Unpacked bytes saved over every node that holds the image."""
        saved = self.finding.savings_bytes
        return saved * max(self.nodes, 1) if saved is not None else None


@dataclass(frozen=True, slots=True)
class ExceptionRecord:
    """A valid ``ballast.dev/exception`` of a workload, and what it changed this pass."""

    workload: WorkloadId
    index: int
    rules: tuple[str, ...]
    justification: str
    expires: dt.date | None
    days_left: int | None
    """Days until it expires (0 on its last day); ``None`` when it never does."""
    limit: Quantity | None
    """The raised limit, or ``None`` for a waiver."""
    images: tuple[str, ...]
    """Image globs it is narrowed to (empty: every image of the workload)."""
    applied_to: tuple[str, ...]
    """Rules whose outcome it changed on some image this pass."""
    applied_images: tuple[str, ...]
    """Keys of the images it changed something for."""
    source: str
    """``pod`` (pod/template annotations) or ``workload`` (the workload object's)."""


@dataclass(frozen=True, slots=True)
class IgnoredExceptionRecord:
    """An exception annotation (or one entry of it) that was not honoured, and why."""

    workload: WorkloadId
    index: int | None
    reason: str
    rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PolicySummary:
    """Which policy judged the pass."""

    name: str
    source: str
    mode: str
    failure_mode: str


@dataclass(frozen=True, slots=True)
class Timing:
    """When the pass ran and where its time went (seconds)."""

    started: dt.datetime
    """UTC, timezone-aware."""
    finished: dt.datetime
    duration_s: float
    list_s: float
    """Listing the pods (file read or API calls)."""
    resolve_s: float
    """Facts from the cache and registries."""
    evaluate_s: float
    """Layer-report hook, policy evaluation and assembling the snapshot."""


@dataclass(frozen=True, slots=True)
class Counts:
    """How much the pass saw."""

    pods: int
    containers: int
    workloads: int
    namespaces: int
    nodes: int
    unique_images: int
    unknown_images: int
    registry_errors: int
    """Unique images whose facts a registry failed to give."""
    failed_findings: int
    """Finding records with status ``fail``."""
    exceptions_honoured: int
    exceptions_ignored: int
    skipped_items: int
    """List items that could not be read at all (see the notes)."""
    phases: Mapping[str, int]
    """Pods per ``status.phase`` (``""`` for pods without status)."""
    container_types: Mapping[str, int]
    """Containers per :class:`~auditor.pods.ContainerType` value."""
    images_by_verdict: Mapping[str, int]
    """Known images per worst verdict (``allow``/``warn``/``deny``); unknown ones excluded."""


@dataclass(frozen=True, slots=True)
class AuditSnapshot:
    """Everything one audit pass found; immutable, in the orders the module docstring gives."""

    source: str
    policy: PolicySummary
    platforms: tuple[str, ...]
    """Platforms facts were selected for (empty: the lookup's default)."""
    timing: Timing
    counts: Counts
    images: tuple[ImageRecord, ...]
    workloads: tuple[WorkloadRecord, ...]
    namespaces: tuple[NamespaceTotals, ...]
    nodes: tuple[NodeTotals, ...]
    findings: tuple[FindingRecord, ...]
    exceptions: tuple[ExceptionRecord, ...]
    ignored_exceptions: tuple[IgnoredExceptionRecord, ...]
    notes: tuple[str, ...]
    """Skipped items, unreadable fields, owner kinds that could not be listed."""

    @property
    def compressed_bytes(self) -> int:
        """Σ compressed size of the known unique images (each once)."""
        return sum(i.compressed_bytes or 0 for i in self.images)

    @property
    def pull_footprint_bytes(self) -> int:
        """Σ size × distinct nodes over the known unique images."""
        return sum(i.pull_footprint_bytes or 0 for i in self.images)

    @property
    def savings_bytes(self) -> int:
        """Σ unpacked bytes the failing findings could save (per image copy)."""
        return sum(f.savings_bytes or 0 for f in self.findings if f.finding.is_failure)

    def image(self, key: str) -> ImageRecord | None:
        """The image with this key (digest or reference)."""
        return next((i for i in self.images if i.key == key), None)

    def workload(self, workload: WorkloadId) -> WorkloadRecord | None:
        return next((w for w in self.workloads if w.id == workload), None)

    def largest_images(self, count: int = 10) -> tuple[ImageRecord, ...]:
        """The ``count`` largest known images by compressed size."""
        return tuple(i for i in self.images if not i.is_unknown)[:count]

    def largest_workloads(self, count: int = 10) -> tuple[WorkloadRecord, ...]:
        """The ``count`` workloads with the largest pull footprint."""
        return self.workloads[:count]
