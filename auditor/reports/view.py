"""What every report shows, read once from the JSON report: :func:`report_view`.

Owns the boundary between the JSON report document (from
:func:`auditor.reports.document.report_document`, or a saved report the schema
has validated) and the renderers: it turns the document into frozen rows
(images, workloads, namespaces, findings, exceptions) with the few derived
values all formats share (display names, per-image savings, findings grouped by
category, exceptions expiring soon), plus the formatters for sizes, deltas and
quantities. Renderers never read the raw document. All text in the rows is
untrusted (pod specs, annotations) and is escaped by each renderer. Pure; must
not import Flask, the Kubernetes client or :mod:`webhook`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from auditor.reports.changes import Changes, changes_from_dict
from auditor.reports.names import image_name
from ballast.policy.message import EXPIRY_NOTICE_DAYS, short_instruction
from ballast.units import format_bytes

__all__ = [
    "EXPIRY_NOTICE_DAYS",
    "ExceptionRow",
    "FindingRow",
    "IgnoredRow",
    "ImageRow",
    "Meta",
    "NamespaceRow",
    "ReportView",
    "Summary",
    "WorkloadRow",
    "delta_text",
    "quantity_text",
    "report_view",
    "size_text",
    "time_text",
]

_NO_VALUE: Final = "–"


@dataclass(frozen=True, slots=True)
class Meta:
    """Which pass the report describes."""

    schema_version: int
    started: str
    """RFC 3339 UTC."""
    duration_s: float
    source: str
    policy_name: str | None
    policy_source: str | None
    policy_mode: str
    failure_mode: str
    platforms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Summary:
    """The audit's totals (compressed bytes; savings are uncompressed bytes)."""

    pods: int
    containers: int
    workloads: int
    namespaces: int
    nodes: int
    unique_images: int
    unknown_images: int
    registry_errors: int
    failed_findings: int
    exceptions_honoured: int
    exceptions_ignored: int
    skipped_items: int
    compressed_bytes: int
    pull_footprint_bytes: int
    savings_bytes: int
    images_by_verdict: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class ImageRow:
    """One unique image."""

    key: str
    name: str
    digest: str | None
    references: tuple[str, ...]
    spec_images: tuple[str, ...]
    repository: str
    registry: str
    platform: str | None
    compressed_bytes: int | None
    layer_count: int | None
    uncompressed_bytes: int | None
    wasted_bytes: int | None
    hidden_bytes: int | None
    efficiency: float | None
    pods: int
    containers: int
    node_count: int
    pull_footprint_bytes: int | None
    namespaces: tuple[str, ...]
    workloads: tuple[str, ...]
    verdict: str
    failed_rules: tuple[str, ...]
    savings_bytes: int
    """Σ uncompressed bytes its failing findings could save (each rule and check once)."""
    unknown: bool
    unknown_reason: str | None
    error_type: str | None


@dataclass(frozen=True, slots=True)
class WorkloadRow:
    """One top-level workload."""

    key: str
    namespace: str
    kind: str
    name: str
    attributed_by: str
    images: tuple[str, ...]
    """Keys of its images."""
    image_names: tuple[str, ...]
    pods: int
    containers: int
    node_count: int
    compressed_bytes: int
    pull_footprint_bytes: int
    unknown_images: int
    verdict: str
    failed_findings: int


@dataclass(frozen=True, slots=True)
class NamespaceRow:
    """Totals of one namespace."""

    name: str
    pods: int
    containers: int
    workloads: int
    images: int
    unknown_images: int
    compressed_bytes: int
    pull_footprint_bytes: int
    failed_findings: int
    savings_bytes: int


@dataclass(frozen=True, slots=True)
class FindingRow:
    """One finding on one image, with the workloads it was reported for."""

    image: str
    image_name: str
    rule: str
    status: str
    action: str
    message: str
    measured: str
    limit: str
    category: str | None
    severity: str | None
    detail: str
    advice: str
    savings_bytes: int | None
    """Uncompressed bytes the fix saves per image copy."""
    node_savings_bytes: int | None
    """The same over every node holding the image."""
    node_count: int
    where: str
    """``layer 2 (301.7 MB): RUN apt-get install …; /var/cache/apt``, or empty."""
    workloads: tuple[str, ...]
    namespaces: tuple[str, ...]
    exception: int | None

    @property
    def is_failure(self) -> bool:
        return self.status == "fail"

    @property
    def group(self) -> str:
        """The category (``build-tools`` …) or, for size and count rules, the rule."""
        return self.category or self.rule


@dataclass(frozen=True, slots=True)
class ExceptionRow:
    """An honoured exception."""

    workload: str
    index: int
    rules: tuple[str, ...]
    justification: str
    expires: str | None
    days_left: int | None
    limit: str
    images: tuple[str, ...]
    applied_to: tuple[str, ...]
    applied_images: tuple[str, ...]
    """Display names of the images it changed something for."""
    source: str

    @property
    def is_expiring_soon(self) -> bool:
        """Expires within :data:`EXPIRY_NOTICE_DAYS` days (the webhook warns from then on)."""
        return self.days_left is not None and self.days_left <= EXPIRY_NOTICE_DAYS

    @property
    def expiry(self) -> str:
        """``never``, ``last day``, ``1 day left``, ``12 days left``."""
        if self.days_left is None:
            return "never expires"
        if self.days_left <= 0:
            return "last day"
        return f"{self.days_left} day{'s' if self.days_left != 1 else ''} left"


@dataclass(frozen=True, slots=True)
class IgnoredRow:
    """An exception that was not honoured, and why."""

    workload: str
    index: int | None
    reason: str
    rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReportView:
    """Everything the Markdown, CSV and HTML reports show, in the audit's order."""

    meta: Meta
    summary: Summary
    images: tuple[ImageRow, ...]
    workloads: tuple[WorkloadRow, ...]
    namespaces: tuple[NamespaceRow, ...]
    findings: tuple[FindingRow, ...]
    exceptions: tuple[ExceptionRow, ...]
    ignored_exceptions: tuple[IgnoredRow, ...]
    notes: tuple[str, ...]
    changes: Changes | None

    @property
    def known_images(self) -> tuple[ImageRow, ...]:
        """Images with a size, largest first."""
        return tuple(i for i in self.images if not i.unknown)

    @property
    def unknown_images(self) -> tuple[ImageRow, ...]:
        return tuple(i for i in self.images if i.unknown)

    @property
    def failing_findings(self) -> tuple[FindingRow, ...]:
        return tuple(f for f in self.findings if f.is_failure)

    @property
    def expiring_soon(self) -> tuple[ExceptionRow, ...]:
        return tuple(e for e in self.exceptions if e.is_expiring_soon)

    def findings_by_group(self) -> list[tuple[str, int, int]]:
        """Failing findings per category (or rule): ``(group, count, savings bytes)``,
        most findings first."""
        counts: Counter[str] = Counter()
        savings: Counter[str] = Counter()
        for finding in self.failing_findings:
            counts[finding.group] += 1
            savings[finding.group] += finding.savings_bytes or 0
        return sorted(
            ((g, n, savings[g]) for g, n in counts.items()), key=lambda x: (-x[1], -x[2], x[0])
        )


# -- formatting shared by the renderers --------------------------------------------------------


def size_text(size: int | None) -> str:
    """``412.3 MB``; a dash when unknown."""
    return format_bytes(size) if size is not None else _NO_VALUE


def delta_text(delta: int | None) -> str:
    """``+1.2 MB``, ``-300.0 kB``, ``±0 B``; a dash when unknown."""
    if delta is None:
        return _NO_VALUE
    if delta == 0:
        return "±0 B"
    return ("+" if delta > 0 else "") + format_bytes(delta)


def count_delta_text(delta: int | None) -> str:
    """``+3``, ``-1``, ``±0``; a dash when unknown."""
    if delta is None:
        return _NO_VALUE
    return f"{delta:+d}" if delta else "±0"


def time_text(rfc3339: str | None) -> str:
    """``2026-06-15 09:30 UTC`` from ``2026-06-15T09:30:00Z`` (the text itself if it does
    not parse)."""
    if not rfc3339:
        return _NO_VALUE
    try:
        moment = dt.datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    except ValueError:
        return rfc3339
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def quantity_text(quantity: Mapping[str, Any] | None) -> str:
    """``412.3 MB compressed``, ``14``, ``0.93`` from a JSON quantity; empty for none."""
    if quantity is None:
        return ""
    value = quantity.get("value")
    if not isinstance(value, int | float):
        return "n/a"
    if quantity.get("unit") == "bytes":
        kind = quantity.get("sizeKind")
        return format_bytes(value) + (f" {kind}" if kind else "")
    if quantity.get("unit") == "count":
        return f"{value:.0f}"
    return f"{value:.4g}"


# -- the document → rows -----------------------------------------------------------------------


def report_view(document: Mapping[str, Any]) -> ReportView:
    """Read a report document (current schema; see :mod:`auditor.reports.schema`)."""
    savings = _savings_by_image(document["findings"])
    images = tuple(_image(item, savings.get(item["key"], 0)) for item in document["images"])
    names = {image.key: image.name for image in images}
    changes = document.get("changes")
    return ReportView(
        meta=_meta(document),
        summary=_summary(document["summary"]),
        images=images,
        workloads=tuple(_workload(item, names) for item in document["workloads"]),
        namespaces=tuple(_namespace(item) for item in document["namespaces"]),
        findings=tuple(_finding(item, names) for item in document["findings"]),
        exceptions=tuple(_exception(item, names) for item in document["exceptions"]["honoured"]),
        ignored_exceptions=tuple(_ignored(item) for item in document["exceptions"]["ignored"]),
        notes=tuple(document["notes"]),
        changes=changes_from_dict(changes) if changes is not None else None,
    )


def _meta(document: Mapping[str, Any]) -> Meta:
    policy = document["policy"]
    timing = document["timing"]
    return Meta(
        schema_version=document["schemaVersion"],
        started=timing["started"],
        duration_s=float(timing["durationSeconds"]),
        source=document["source"],
        policy_name=policy["name"],
        policy_source=policy["source"],
        policy_mode=policy["mode"],
        failure_mode=policy["failureMode"],
        platforms=tuple(document["platforms"]),
    )


def _summary(summary: Mapping[str, Any]) -> Summary:
    return Summary(
        pods=summary["pods"],
        containers=summary["containers"],
        workloads=summary["workloads"],
        namespaces=summary["namespaces"],
        nodes=summary["nodes"],
        unique_images=summary["uniqueImages"],
        unknown_images=summary["unknownImages"],
        registry_errors=summary["registryErrors"],
        failed_findings=summary["failedFindings"],
        exceptions_honoured=summary["exceptionsHonoured"],
        exceptions_ignored=summary["exceptionsIgnored"],
        skipped_items=summary["skippedItems"],
        compressed_bytes=summary["compressedSize"],
        pull_footprint_bytes=summary["pullFootprint"],
        savings_bytes=summary["savingsBytes"],
        images_by_verdict=dict(summary["imagesByVerdict"]),
    )


def _savings_by_image(findings: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Σ savings of each image's failing findings, each (rule, check) once: the same finding
    reported for several workload contexts saves the bytes once."""
    saved: dict[str, dict[tuple[str, str], int]] = {}
    for finding in findings:
        if finding["status"] == "fail" and finding["savingsBytes"]:
            per_image = saved.setdefault(finding["image"], {})
            per_image[(finding["rule"], finding["detail"] or "")] = finding["savingsBytes"]
    return {image: sum(values.values()) for image, values in saved.items()}


def _image(item: Mapping[str, Any], savings_bytes: int) -> ImageRow:
    key = item["key"]
    facts = item["layerFacts"] or {}
    repositories = item["repositories"]
    return ImageRow(
        key=key,
        name=image_name(item["specImages"], item["references"], key),
        digest=item["digest"],
        references=tuple(item["references"]),
        spec_images=tuple(item["specImages"]),
        repository=repositories[0] if repositories else "",
        registry=item["registry"] or "",
        platform=item["platform"],
        compressed_bytes=item["compressedSize"],
        layer_count=item["layerCount"],
        uncompressed_bytes=facts.get("uncompressedSize"),
        wasted_bytes=facts.get("wastedBytes"),
        hidden_bytes=facts.get("hiddenBytes"),
        efficiency=facts.get("efficiency"),
        pods=item["pods"],
        containers=item["containers"],
        node_count=item["nodeCount"],
        pull_footprint_bytes=item["pullFootprint"],
        namespaces=tuple(item["namespaces"]),
        workloads=tuple(item["workloads"]),
        verdict=item["verdict"],
        failed_rules=tuple(item["failedRules"]),
        savings_bytes=savings_bytes,
        unknown=item["unknown"],
        unknown_reason=item["unknownReason"],
        error_type=item["errorType"],
    )


def _workload(item: Mapping[str, Any], names: Mapping[str, str]) -> WorkloadRow:
    return WorkloadRow(
        key=item["key"],
        namespace=item["namespace"],
        kind=item["kind"],
        name=item["name"],
        attributed_by=item["attributedBy"],
        images=tuple(item["images"]),
        image_names=tuple(names.get(k, k) for k in item["images"]),
        pods=item["pods"],
        containers=item["containers"],
        node_count=len(item["nodes"]),
        compressed_bytes=item["compressedSize"],
        pull_footprint_bytes=item["pullFootprint"],
        unknown_images=item["unknownImages"],
        verdict=item["verdict"],
        failed_findings=item["failedFindings"],
    )


def _namespace(item: Mapping[str, Any]) -> NamespaceRow:
    return NamespaceRow(
        name=item["name"],
        pods=item["pods"],
        containers=item["containers"],
        workloads=item["workloads"],
        images=item["uniqueImages"],
        unknown_images=item["unknownImages"],
        compressed_bytes=item["compressedSize"],
        pull_footprint_bytes=item["pullFootprint"],
        failed_findings=item["failedFindings"],
        savings_bytes=item["savingsBytes"],
    )


def _where(where: Mapping[str, Any] | None) -> str:
    if not where:
        return ""
    parts: list[str] = []
    index = where.get("layerIndex")
    if index is not None:
        layer = f"layer {index}"
        size = where.get("layerCompressedSize")
        if size is not None:
            layer += f" ({format_bytes(size)})"
        created_by = where.get("createdBy")
        if created_by:
            layer += f": {short_instruction(created_by, 80)}"
        parts.append(layer)
    paths = where.get("paths") or []
    if paths:
        parts.append(
            ", ".join(paths[:3]) + (f" (+{len(paths) - 3} more)" if len(paths) > 3 else "")
        )
    return "; ".join(parts)


def _finding(item: Mapping[str, Any], names: Mapping[str, str]) -> FindingRow:
    image = item["image"]
    return FindingRow(
        image=image,
        image_name=names.get(image) or image_name((item["specImage"],), (), image),
        rule=item["rule"],
        status=item["status"],
        action=item["action"],
        message=item["message"],
        measured=quantity_text(item["measured"]),
        limit=quantity_text(item["limit"]),
        category=item["category"],
        severity=item["severity"],
        detail=item["detail"] or "",
        advice=item["advice"] or "",
        savings_bytes=item["savingsBytes"],
        node_savings_bytes=item["nodeSavingsBytes"],
        node_count=item["nodeCount"],
        where=_where(item["where"]),
        workloads=tuple(item["workloads"]),
        namespaces=tuple(item["namespaces"]),
        exception=item["exception"],
    )


def _exception(item: Mapping[str, Any], names: Mapping[str, str]) -> ExceptionRow:
    return ExceptionRow(
        workload=item["workload"],
        index=item["index"],
        rules=tuple(item["rules"]),
        justification=item["justification"],
        expires=item["expires"],
        days_left=item["daysLeft"],
        limit=quantity_text(item["limit"]),
        images=tuple(item["images"]),
        applied_to=tuple(item["appliedTo"]),
        applied_images=tuple(names.get(k, k) for k in item["appliedImages"]),
        source=item["source"],
    )


def _ignored(item: Mapping[str, Any]) -> IgnoredRow:
    return IgnoredRow(
        workload=item["workload"],
        index=item["index"],
        reason=item["reason"],
        rules=tuple(item["rules"]),
    )
