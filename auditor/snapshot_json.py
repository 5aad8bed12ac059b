"""The JSON form of an :class:`~auditor.model.AuditSnapshot`: :func:`snapshot_to_dict`.

Owns the versioned document (``schemaVersion``) that JSON reports, the diff
with the previous report and other tools read. Keys are camelCase like
Kubernetes; sizes are bytes and each size key says its kind
(``compressedSize``, ``pullFootprint`` are compressed; ``savingsBytes`` is
unpacked, with ``savingsSizeKind``); times are RFC 3339 UTC; lists keep the
snapshot's order (largest first). Images are keyed by ``key`` (the digest, or
the reference of an unknown image) and workloads by ``key``
(``namespace/Kind/name``), so two documents can be compared without the
snapshot objects. Findings use the same shape as ``ballast check --json``
(:func:`ballast.policy.report.finding_to_json`). Pure; must not import
Flask, the Kubernetes client or :mod:`webhook`.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Final

from auditor.model import (
    SCHEMA_VERSION,
    AuditSnapshot,
    ExceptionRecord,
    FindingRecord,
    IgnoredExceptionRecord,
    ImageRecord,
    ImageUse,
    NamespaceTotals,
    NodeTotals,
    WorkloadRecord,
)
from ballast.facts import ImageFacts
from ballast.policy import LayerReportView
from ballast.policy.report import finding_to_json, quantity_to_json

__all__ = ["DOCUMENT_KIND", "snapshot_to_dict"]

DOCUMENT_KIND: Final = "BallastAudit"


def snapshot_to_dict(snapshot: AuditSnapshot) -> dict[str, Any]:
    """The whole snapshot as plain JSON values (``json.dumps`` needs no encoder)."""
    counts = snapshot.counts
    return {
        "schemaVersion": SCHEMA_VERSION,
        "kind": DOCUMENT_KIND,
        "source": snapshot.source,
        "policy": {
            "name": snapshot.policy.name or None,
            "source": snapshot.policy.source or None,
            "mode": snapshot.policy.mode,
            "failureMode": snapshot.policy.failure_mode,
        },
        "platforms": list(snapshot.platforms),
        "timing": {
            "started": _time(snapshot.timing.started),
            "finished": _time(snapshot.timing.finished),
            "durationSeconds": round(snapshot.timing.duration_s, 6),
            "listSeconds": round(snapshot.timing.list_s, 6),
            "resolveSeconds": round(snapshot.timing.resolve_s, 6),
            "evaluateSeconds": round(snapshot.timing.evaluate_s, 6),
        },
        "summary": {
            "pods": counts.pods,
            "containers": counts.containers,
            "workloads": counts.workloads,
            "namespaces": counts.namespaces,
            "nodes": counts.nodes,
            "uniqueImages": counts.unique_images,
            "unknownImages": counts.unknown_images,
            "registryErrors": counts.registry_errors,
            "failedFindings": counts.failed_findings,
            "exceptionsHonoured": counts.exceptions_honoured,
            "exceptionsIgnored": counts.exceptions_ignored,
            "skippedItems": counts.skipped_items,
            "compressedSize": snapshot.compressed_bytes,
            "pullFootprint": snapshot.pull_footprint_bytes,
            "sizeKind": "compressed",
            "savingsBytes": snapshot.savings_bytes,
            "savingsSizeKind": "uncompressed",
            "imagesByVerdict": dict(counts.images_by_verdict),
            "phases": dict(counts.phases),
            "containerTypes": dict(counts.container_types),
        },
        "images": [_image(i) for i in snapshot.images],
        "workloads": [_workload(w) for w in snapshot.workloads],
        "namespaces": [_namespace(n) for n in snapshot.namespaces],
        "nodes": [_node(n) for n in snapshot.nodes],
        "findings": [_finding(f) for f in snapshot.findings],
        "exceptions": {
            "honoured": [_exception(e) for e in snapshot.exceptions],
            "ignored": [_ignored(e) for e in snapshot.ignored_exceptions],
        },
        "notes": list(snapshot.notes),
    }


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _image(image: ImageRecord) -> dict[str, Any]:
    primary = image.primary
    resolved = image.resolved
    return {
        "key": image.key,
        "digest": image.digest,
        "indexDigest": resolved.digest if resolved and resolved.index is not None else None,
        "mediaType": resolved.media_type if resolved else None,
        "registry": image.registry or None,
        "references": list(image.references),
        "repositories": list(image.repositories),
        "specImages": list(image.spec_images),
        "unknown": image.is_unknown,
        "unknownReason": image.unknown_reason,
        "errorType": image.error_type,
        "registryError": image.is_registry_error,
        "platform": image.platform,
        "manifestDigest": primary.digest if primary else None,
        "compressedSize": image.compressed_bytes,
        "sizeKind": "compressed",
        "configSize": primary.config_bytes if primary else None,
        "layerCount": image.layer_count,
        "largestLayer": _largest_layer(primary),
        "layers": _layers(primary),
        "created": (primary.created or None) if primary else None,
        "baseImage": _base(primary),
        "platforms": [
            {
                "platform": str(facts.platform),
                "digest": facts.digest,
                "compressedSize": facts.compressed_bytes,
                "layerCount": facts.layer_count,
            }
            for facts in (resolved.platforms if resolved else ())
        ],
        "layerFacts": _layer_facts(image.layer_report),
        "pods": image.pods,
        "containers": image.containers,
        "nodes": list(image.nodes),
        "nodeCount": len(image.nodes),
        "pullFootprint": image.pull_footprint_bytes,
        "namespaces": list(image.namespaces),
        "workloads": [w.key for w in image.workloads],
        "verdict": image.verdict.value,
        "failedRules": sorted({f.rule for f in image.failures}),
        "uses": [_use(u) for u in image.uses],
    }


def _largest_layer(facts: ImageFacts | None) -> dict[str, Any] | None:
    largest = facts.largest_layer if facts is not None else None
    if largest is None:
        return None
    return {"digest": largest.digest, "size": largest.compressed_bytes}


def _layers(facts: ImageFacts | None) -> list[dict[str, Any]]:
    if facts is None:
        return []
    return [
        {"digest": layer.digest, "size": layer.compressed_bytes, "createdBy": layer.created_by}
        for layer in facts.layers
    ]


def _base(facts: ImageFacts | None) -> dict[str, Any] | None:
    if facts is None or not (facts.base_name or facts.base_digest):
        return None
    return {"name": facts.base_name or None, "digest": facts.base_digest or None}


def _layer_facts(report: LayerReportView | None) -> dict[str, Any] | None:
    """What layer analysis measured (unpacked bytes); ``None`` while not read."""
    if report is None:
        return None
    efficiency = report.efficiency
    return {
        "uncompressedSize": report.uncompressed_bytes,
        "wastedBytes": report.wasted_bytes,
        "hiddenBytes": report.hidden_bytes,
        "efficiency": efficiency if math.isfinite(efficiency) else None,
        "sizeKind": "uncompressed",
    }


def _use(use: ImageUse) -> dict[str, Any]:
    verdict = use.verdict
    return {
        "workload": use.workload.key,
        "specImages": list(use.spec_images),
        "containers": [{"name": c.name, "type": c.type.value} for c in use.containers],
        "pods": use.pods,
        "nodes": list(use.nodes),
        "verdict": verdict.verdict.value,
        "exempt": verdict.exempt,
        "failure": verdict.failure,
        "layersRead": verdict.layers_read,
        "failedRules": sorted({f.rule for f in verdict.failures}),
    }


def _workload(workload: WorkloadRecord) -> dict[str, Any]:
    return {
        "key": workload.id.key,
        "namespace": workload.id.namespace,
        "kind": workload.id.kind,
        "name": workload.id.name,
        "attributedBy": workload.rule.value,
        "images": list(workload.images),
        "specImages": list(workload.spec_images),
        "pods": workload.pods,
        "containers": workload.containers,
        "nodes": list(workload.nodes),
        "compressedSize": workload.compressed_bytes,
        "pullFootprint": workload.pull_footprint_bytes,
        "unknownImages": workload.unknown_images,
        "verdict": workload.verdict.value,
        "failedFindings": workload.failed_findings,
    }


def _namespace(totals: NamespaceTotals) -> dict[str, Any]:
    return {
        "name": totals.name,
        "pods": totals.pods,
        "containers": totals.containers,
        "workloads": totals.workloads,
        "uniqueImages": totals.images,
        "unknownImages": totals.unknown_images,
        "compressedSize": totals.compressed_bytes,
        "pullFootprint": totals.pull_footprint_bytes,
        "failedFindings": totals.failed_findings,
        "savingsBytes": totals.savings_bytes,
    }


def _node(totals: NodeTotals) -> dict[str, Any]:
    return {
        "name": totals.name,
        "pods": totals.pods,
        "uniqueImages": totals.images,
        "compressedSize": totals.compressed_bytes,
    }


def _finding(record: FindingRecord) -> dict[str, Any]:
    document = finding_to_json(record.finding)
    document.update(
        {
            "image": record.image,
            "specImage": record.finding.image,
            "workloads": [w.key for w in record.workloads],
            "namespaces": list(record.namespaces),
            "nodeCount": record.nodes,
            "savingsSizeKind": "uncompressed" if record.savings_bytes is not None else None,
            "nodeSavingsBytes": record.node_savings_bytes,
        }
    )
    return document


def _exception(record: ExceptionRecord) -> dict[str, Any]:
    return {
        "workload": record.workload.key,
        "index": record.index,
        "rules": list(record.rules),
        "justification": record.justification,
        "expires": record.expires.isoformat() if record.expires is not None else None,
        "daysLeft": record.days_left,
        "limit": quantity_to_json(record.limit),
        "images": list(record.images),
        "appliedTo": list(record.applied_to),
        "appliedImages": list(record.applied_images),
        "source": record.source,
    }


def _ignored(record: IgnoredExceptionRecord) -> dict[str, Any]:
    return {
        "workload": record.workload.key,
        "index": record.index,
        "reason": record.reason,
        "rules": list(record.rules),
    }
