"""What changed since the previous report: :class:`Changes` and its JSON form.

Owns the model the diff produces (:func:`auditor.reports.diff.diff_reports`)
and every report shows: image changes (new, grown, shrunk, updated, gone),
findings that appeared or were resolved, summary totals then and now, and
notes saying how far the comparison could go (a previous report that is
corrupt or of another schema version). :func:`changes_to_dict` gives the
``changes`` object of the JSON report, :func:`changes_from_dict` reads it back
(from a report the schema has validated). Sizes are compressed bytes, as the
audit's ``compressedSize``. Pure; must not import Flask, the Kubernetes client
or :mod:`webhook`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

__all__ = [
    "SUMMARY_KEYS",
    "Changes",
    "ChangesStatus",
    "FindingChange",
    "ImageChange",
    "ImageChangeKind",
    "SummaryDelta",
    "changes_from_dict",
    "changes_to_dict",
]

SUMMARY_KEYS: Final = (
    "uniqueImages",
    "compressedSize",
    "pullFootprint",
    "failedFindings",
    "savingsBytes",
    "unknownImages",
    "workloads",
    "pods",
)
"""Keys of the audit ``summary`` compared between reports, in the order reports show them."""


class ChangesStatus(StrEnum):
    """How far the comparison with the previous report could go."""

    COMPARED = "compared"
    """Both reports have this schema version: every change is listed."""
    PARTIAL = "partial"
    """The previous report has another schema version: what both share was compared."""
    UNAVAILABLE = "unavailable"
    """The previous report could not be read (corrupt, not an audit report): nothing listed."""


class ImageChangeKind(StrEnum):
    """What happened to an image (or to what a repository runs) between two reports."""

    NEW = "new"
    """Runs now; nothing of its repository ran before."""
    GROWN = "grown"
    """Its repository now runs a different digest that is larger."""
    SHRUNK = "shrunk"
    """Its repository now runs a different digest that is smaller."""
    UPDATED = "updated"
    """A different digest of the same size, or a size unknown on one side."""
    GONE = "gone"
    """Ran before; nothing of its repository runs now."""


@dataclass(frozen=True, slots=True)
class SummaryDelta:
    """One summary total in the previous report and now (``None``: the previous had none)."""

    previous: int | None
    current: int

    @property
    def delta(self) -> int | None:
        return self.current - self.previous if self.previous is not None else None


@dataclass(frozen=True, slots=True)
class ImageChange:
    """One image that appeared, changed digest within its repository, or went away."""

    kind: ImageChangeKind
    name: str
    """Short display name (the spec image as pods write it)."""
    repository: str
    """``registry/repository`` (empty when the reference could not be parsed)."""
    key: str | None
    """The image's key now (``None`` when gone)."""
    previous_key: str | None
    """The image's key in the previous report (``None`` when new)."""
    compressed_bytes: int | None
    previous_compressed_bytes: int | None
    pull_footprint_bytes: int | None
    previous_pull_footprint_bytes: int | None

    @property
    def delta_bytes(self) -> int | None:
        """Compressed size now minus before; ``None`` unless both are known."""
        if self.compressed_bytes is None or self.previous_compressed_bytes is None:
            return None
        return self.compressed_bytes - self.previous_compressed_bytes


@dataclass(frozen=True, slots=True)
class FindingChange:
    """A failing finding that is new, or one of the previous report that is resolved."""

    image: str
    """The image's key in the report it comes from (current for new, previous for resolved)."""
    image_name: str
    rule: str
    detail: str
    message: str
    advice: str
    category: str | None
    severity: str | None
    savings_bytes: int | None
    workloads: tuple[str, ...]
    image_gone: bool = False
    """Resolved because the image no longer runs at all (rather than fixed)."""


@dataclass(frozen=True, slots=True)
class Changes:
    """Everything that changed since the previous report, and how sure the comparison is."""

    status: ChangesStatus
    previous_file: str | None
    """The previous report's file name, when it came from a file."""
    previous_started: str | None
    """When the previous audit ran (RFC 3339), when it says."""
    previous_schema_version: int | None
    notes: tuple[str, ...]
    """Why the comparison is partial or unavailable; unreadable entries skipped."""
    summary: Mapping[str, SummaryDelta]
    """Totals then and now, keyed as in :data:`SUMMARY_KEYS` (those the reports have)."""
    images: tuple[ImageChange, ...]
    """New, grown, shrunk and updated first (largest change first), then gone."""
    new_findings: tuple[FindingChange, ...]
    resolved_findings: tuple[FindingChange, ...]
    unchanged_images: int

    def count(self, kind: ImageChangeKind) -> int:
        return sum(1 for change in self.images if change.kind is kind)

    @property
    def is_empty(self) -> bool:
        """Nothing to list (no image or finding changed, or nothing could be compared)."""
        return not (self.images or self.new_findings or self.resolved_findings)


def changes_to_dict(changes: Changes) -> dict[str, Any]:
    """The ``changes`` object of the JSON report (camelCase, sizes compressed bytes)."""
    return {
        "status": changes.status.value,
        "previous": {
            "file": changes.previous_file,
            "started": changes.previous_started,
            "schemaVersion": changes.previous_schema_version,
        },
        "notes": list(changes.notes),
        "counts": {
            **{kind.value: changes.count(kind) for kind in ImageChangeKind},
            "unchanged": changes.unchanged_images,
            "newFindings": len(changes.new_findings),
            "resolvedFindings": len(changes.resolved_findings),
        },
        "summary": {
            key: {"previous": delta.previous, "current": delta.current, "delta": delta.delta}
            for key, delta in changes.summary.items()
        },
        "images": [_image_to_dict(change) for change in changes.images],
        "findings": {
            "new": [_finding_to_dict(f) for f in changes.new_findings],
            "resolved": [_finding_to_dict(f) for f in changes.resolved_findings],
        },
    }


def _image_to_dict(change: ImageChange) -> dict[str, Any]:
    return {
        "change": change.kind.value,
        "name": change.name,
        "repository": change.repository,
        "key": change.key,
        "previousKey": change.previous_key,
        "compressedSize": change.compressed_bytes,
        "previousCompressedSize": change.previous_compressed_bytes,
        "compressedSizeDelta": change.delta_bytes,
        "pullFootprint": change.pull_footprint_bytes,
        "previousPullFootprint": change.previous_pull_footprint_bytes,
    }


def _finding_to_dict(change: FindingChange) -> dict[str, Any]:
    return {
        "image": change.image,
        "imageName": change.image_name,
        "rule": change.rule,
        "detail": change.detail or None,
        "message": change.message,
        "advice": change.advice or None,
        "category": change.category,
        "severity": change.severity,
        "savingsBytes": change.savings_bytes,
        "workloads": list(change.workloads),
        "imageGone": change.image_gone,
    }


def changes_from_dict(document: Mapping[str, Any]) -> Changes:
    """Read back :func:`changes_to_dict` output (already validated by the report schema)."""
    previous = document["previous"]
    return Changes(
        status=ChangesStatus(document["status"]),
        previous_file=previous["file"],
        previous_started=previous["started"],
        previous_schema_version=previous["schemaVersion"],
        notes=tuple(document["notes"]),
        summary={
            key: SummaryDelta(previous=value["previous"], current=value["current"])
            for key, value in document["summary"].items()
        },
        images=tuple(
            ImageChange(
                kind=ImageChangeKind(item["change"]),
                name=item["name"],
                repository=item["repository"],
                key=item["key"],
                previous_key=item["previousKey"],
                compressed_bytes=item["compressedSize"],
                previous_compressed_bytes=item["previousCompressedSize"],
                pull_footprint_bytes=item["pullFootprint"],
                previous_pull_footprint_bytes=item["previousPullFootprint"],
            )
            for item in document["images"]
        ),
        new_findings=tuple(_finding_from_dict(f) for f in document["findings"]["new"]),
        resolved_findings=tuple(_finding_from_dict(f) for f in document["findings"]["resolved"]),
        unchanged_images=document["counts"]["unchanged"],
    )


def _finding_from_dict(item: Mapping[str, Any]) -> FindingChange:
    return FindingChange(
        image=item["image"],
        image_name=item["imageName"],
        rule=item["rule"],
        detail=item["detail"] or "",
        message=item["message"],
        advice=item["advice"] or "",
        category=item["category"],
        severity=item["severity"],
        savings_bytes=item["savingsBytes"],
        workloads=tuple(item["workloads"]),
        image_gone=item["imageGone"],
    )
