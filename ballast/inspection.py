"""What ``ballast inspect`` shows: one image's facts, layer report and findings.

Findings come from the policy engine run with an "inspect" policy that
reports every category (build tools, package caches, dev leftovers, secrets,
runtime tools, heavy base) without judging: config-history findings need
only the config, so plain ``inspect`` has them; ``--deep`` adds what the
layers show. Pure: takes facts and reports, returns documents and text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ballast.facts import ImageFacts, LayerInfo, ResolvedImage, facts_to_json
from ballast.layers import ArchiveImage, ImageLayerReport, report_to_json
from ballast.policy import Context, Finding, Status, evaluate, load_policy
from ballast.units import format_bytes

INSPECT_POLICY = load_policy(
    """
apiVersion: ballast.dev/v1
kind: Policy
metadata: {name: inspect}
spec:
  mode: audit
  scope: {exemptNamespaces: []}
  rules:
    findings:
      build-tools: audit
      package-cache: audit
      dev-leftovers: audit
      secrets: audit
      runtime-tools: audit
    heavyBase: {action: audit}
""",
    source="<inspect>",
)
_CONTEXT = Context(today=dt.date(2000, 1, 1))
_TOP = 10


def inspection_findings(
    image: str, facts: ImageFacts, report: ImageLayerReport | None
) -> list[Finding]:
    """Every category finding for the image, biggest first."""
    verdict = evaluate(facts, report, image=image, context=_CONTEXT, policy=INSPECT_POLICY)
    found = [f for f in verdict.findings if f.status is Status.FAIL and f.category is not None]
    return sorted(found, key=lambda f: -_finding_bytes(f))


def _finding_bytes(finding: Finding) -> int:
    if finding.measured is not None and finding.measured.unit.is_bytes:
        return int(finding.measured.value)
    return int(finding.savings_bytes or 0)


def finding_to_json(finding: Finding) -> dict[str, Any]:
    """``{category, severity, bytes, paths, layer, createdBy, advice, rule, savingsBytes}``."""
    where = finding.where
    return {
        "category": finding.category.value if finding.category else None,
        "severity": finding.severity.value if finding.severity else None,
        "bytes": _finding_bytes(finding),
        "paths": list(where.paths) if where else [],
        "layer": where.layer_index if where else None,
        "createdBy": (where.created_by or None) if where else None,
        "advice": finding.advice,
        "rule": finding.detail or finding.rule,
        "message": finding.message,
        "savingsBytes": finding.savings_bytes,
    }


def inspect_document(
    image: ResolvedImage,
    facts: ImageFacts,
    report: ImageLayerReport | None,
    findings: Sequence[Finding],
) -> dict[str, Any]:
    """The ``--json`` document: facts, findings, and with ``--deep`` the layer report."""
    document = facts_to_json(image, facts)
    document["findings"] = [finding_to_json(f) for f in findings]
    if report is not None:
        layer_report = report_to_json(report)
        for key in (
            "uncompressedSize",
            "efficiency",
            "wastedBytes",
            "userWastedPercent",
            "hiddenBytes",
        ):
            document[key] = layer_report[key]
        for layer, deep in zip(document["layers"], layer_report["layers"], strict=False):
            layer["uncompressedSize"] = deep["uncompressedSize"]
        document["layerReport"] = layer_report
    return document


def facts_from_archive(archive: ArchiveImage) -> tuple[ResolvedImage, ImageFacts]:
    """Image facts for a local archive, shaped like a registry image's."""
    history = archive.history
    layers = tuple(
        LayerInfo(
            digest=layer.digest,
            media_type=layer.media_type,
            compressed_bytes=layer.size,
            created_by=history[i] if i < len(history) else None,
        )
        for i, layer in enumerate(archive.layers)
    )
    facts = ImageFacts(
        digest=archive.manifest_digest,
        media_type="",
        platform=archive.config.platform,
        config_digest="",
        config_bytes=0,
        layers=layers,
        history=archive.config.history,
        created=archive.config.created,
    )
    return ResolvedImage(archive.spec, archive.manifest_digest, "", (facts,)), facts


def human_report(
    image: ResolvedImage,
    facts: ImageFacts,
    report: ImageLayerReport | None,
    findings: Sequence[Finding],
    *,
    sort: str,
) -> str:
    """The terminal view: summary, layer table, and with --deep files, packages, findings."""
    lines = [image.reference]
    rows = [
        ("digest", facts.digest or "(archive without manifest digest)"),
        ("platform", str(facts.platform)),
        (
            "size",
            f"{format_bytes(facts.compressed_bytes)} compressed (pulled), "
            f"{facts.layer_count} layer{'s' if facts.layer_count != 1 else ''}",
        ),
    ]
    if image.index is not None:
        rows.insert(1, ("index", f"{image.digest} ({len(image.index.manifests)} manifests)"))
    if report is not None:
        rows.append(
            (
                "on disk",
                f"{format_bytes(report.uncompressed_bytes)} uncompressed; efficiency "
                f"{report.efficiency:.1%}, wasted {format_bytes(report.wasted_bytes)}, "
                f"hidden {format_bytes(report.hidden_bytes)}",
            )
        )
    if facts.created:
        rows.append(("created", facts.created))
    rows.append(("user", facts.user or "root (not set)"))
    if facts.base_name or facts.base_digest:
        rows.append(("base", f"{facts.base_name} {facts.base_digest}".strip()))
    lines += [f"  {key:<9} {value}" for key, value in rows]
    lines += _layer_table(facts, report, sort=sort)
    if report is not None:
        lines += _deep_sections(report)
    lines += _findings_section(findings)
    return "\n".join(lines) + "\n"


def _layer_table(facts: ImageFacts, report: ImageLayerReport | None, *, sort: str) -> list[str]:
    numbered = list(enumerate(facts.layers))
    if sort == "size":
        numbered.sort(key=lambda item: item[1].compressed_bytes, reverse=True)
    deep = report is not None
    header = f"  {'#':>3}  {'COMPRESSED':>10}" + (f"  {'ON DISK':>10}" if deep else "")
    lines = ["", header + "  CREATED BY"]
    for index, layer in numbered:
        created_by = " ".join((layer.created_by or "(no history)").split())
        if len(created_by) > 90:
            created_by = created_by[:89] + "…"
        size = f"  {index + 1:>3}  {format_bytes(layer.compressed_bytes):>10}"
        if report is not None and index < len(report.layers):
            size += f"  {format_bytes(report.layers[index].uncompressed_bytes):>10}"
        lines.append(f"{size}  {created_by}")
    return lines


def _deep_sections(report: ImageLayerReport) -> list[str]:
    lines: list[str] = []
    if report.largest_files:
        lines += ["", "  Largest files"]
        lines += [
            f"    {format_bytes(f.bytes):>10}  {f.path}  (layer {f.layer + 1})"
            for f in report.largest_files[:_TOP]
        ]
    if report.inefficient_files:
        lines += ["", "  Wasted: the same path in several layers (dive's inefficient files)"]
        lines += [
            f"    {format_bytes(w.bytes):>10}  {w.path}  ({w.count} copies)"
            for w in report.inefficient_files[:_TOP]
        ]
    if report.hidden:
        lines += ["", "  Hidden: shipped in a layer, not visible in the final filesystem"]
        lines += [
            f"    {format_bytes(h.bytes):>10}  {h.path}  (layer {h.shipped_by_layer + 1}, "
            f"{h.reason} by layer {h.removed_by_layer + 1})"
            for h in report.hidden[:_TOP]
        ]
    if report.packages:
        by_size = sorted(report.packages, key=lambda p: -p.installed_bytes)
        lines += ["", f"  Packages ({len(report.packages)}, biggest first)"]
        lines += [
            f"    {format_bytes(p.installed_bytes):>10}  {p.name} {p.version}  ({p.manager})"
            for p in by_size[:_TOP]
        ]
    return lines


def _findings_section(findings: Sequence[Finding]) -> list[str]:
    if not findings:
        return ["", "  Findings: none"]
    lines = ["", "  Findings"]
    by_category: dict[str, list[Finding]] = {}
    for finding in findings:
        by_category.setdefault(finding.category.value if finding.category else "other", []).append(
            finding
        )
    for category, items in by_category.items():
        lines.append(f"    [{category}]")
        for finding in items:
            where = finding.where
            layer = (
                f" layer {where.layer_index + 1}" if where and where.layer_index is not None else ""
            )
            severity = finding.severity.value if finding.severity else ""
            size = _finding_bytes(finding)
            lines.append(
                f"      {severity:<6} {format_bytes(size) if size else '':>9}{layer}: "
                f"{finding.message}"
            )
            if where and where.paths:
                lines.append(f"             paths: {', '.join(where.paths[:3])}")
            if finding.advice:
                lines.append(f"             fix: {finding.advice}")
    return lines
