"""The image-level result of layer analysis and its ``--json`` form.

Owns :class:`ImageLayerReport` and the small records it is made of
(:class:`LayerReport`, :class:`WastedPath`, :class:`HiddenPath`,
:class:`LargeFile`), plus :func:`report_to_json`, which gives camelCase keys
with sizes named for what they are (``compressedSize`` is pulled bytes,
``uncompressedSize`` unpacked bytes). dive's own numbers keep dive's names
(``efficiency``, ``wastedBytes``, ``userWastedPercent``). Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ballast.layers.finding import Finding
from ballast.layers.package import PackageInfo


@dataclass(frozen=True, slots=True)
class LayerReport:
    """One layer, in manifest order."""

    index: int
    """Position in the manifest (0 is the base)."""
    digest: str
    """Blob digest."""
    media_type: str
    """Descriptor media type."""
    compression: str
    """gzip, zstd or none (from magic bytes)."""
    compressed_bytes: int
    """Blob size: what is pulled."""
    uncompressed_bytes: int
    """Σ tar header sizes: what is unpacked (dive's layer size)."""
    entries: int
    """Tar entries kept (whiteouts included)."""
    added_bytes: int
    """Bytes at paths that did not exist below."""
    modified_bytes: int
    """Bytes that replaced paths that existed below."""
    removed_bytes: int
    """Lower bytes deleted by this layer's whiteouts and opaque markers."""
    hidden_bytes: int
    """Bytes this layer shipped that are not visible in the final filesystem."""
    created_by: str | None
    """History instruction that made the layer, when known."""


@dataclass(frozen=True, slots=True)
class WastedPath:
    """A path dive calls inefficient: scored in two or more layers."""

    path: str
    """Path with leading ``/``."""
    count: int
    """How many layer records the path has."""
    bytes: int
    """Σ of its records (every copy, the surviving one included)."""


@dataclass(frozen=True, slots=True)
class HiddenPath:
    """Bytes a layer shipped and a later (or the same) layer hid."""

    path: str
    """What the hiding operation named: the deleted file or directory, the opaque
    directory, or the overwritten file (leading ``/``)."""
    bytes: int
    """Hidden bytes."""
    files: int
    """Files with bytes behind it."""
    shipped_by_layer: int
    """Layer that shipped the bytes (they are still pulled and stored)."""
    removed_by_layer: int
    """Layer that deleted, hid or overwrote them."""
    reason: str
    """``deleted`` (whiteout), ``opaque`` (opaque directory) or ``overwritten``."""


@dataclass(frozen=True, slots=True)
class LargeFile:
    """A big file of the final filesystem."""

    path: str
    """Path with leading ``/``."""
    bytes: int
    """Size in bytes."""
    layer: int
    """Layer that shipped the visible version."""


@dataclass(frozen=True, slots=True)
class ImageLayerReport:
    """What the layers of one image hold, combined from per-layer facts."""

    layers: tuple[LayerReport, ...]
    """Per-layer numbers, in manifest order."""
    uncompressed_bytes: int
    """Σ layer sizes: what sits on a node's disk once unpacked (dive's sizeBytes)."""
    compressed_bytes: int
    """Σ blob sizes: what is pulled."""
    visible_bytes: int
    """Bytes of the final filesystem."""
    hidden_bytes: int
    """Bytes shipped but not visible in the final filesystem (uncompressed − visible)."""
    file_count: int
    """Non-directory entries of the final filesystem."""
    efficiency: float
    """dive's efficiency score."""
    wasted_bytes: int
    """dive's wastedBytes."""
    user_size_bytes: int
    """dive's userSizeBytes (all layers but the first)."""
    user_wasted_percent: float
    """dive's userWastedPercent (NaN when there is a single layer)."""
    inefficient_files: tuple[WastedPath, ...]
    """dive's inefficient files, biggest first."""
    hidden: tuple[HiddenPath, ...]
    """Where the hidden bytes are, biggest first."""
    largest_files: tuple[LargeFile, ...]
    """Biggest files of the final filesystem."""
    packages: tuple[PackageInfo, ...]
    """Installed packages, biggest first."""
    findings: tuple[Finding, ...]
    """Deep findings, most severe and biggest first."""


def _number(value: float) -> float | None:
    """JSON has no NaN/Infinity: dive's 0/0 becomes null."""
    return value if math.isfinite(value) else None


def finding_to_json(finding: Finding) -> dict[str, Any]:
    """One finding as the ``findings`` items of ``--json``."""
    return {
        "category": finding.category,
        "rule": finding.rule,
        "severity": finding.severity,
        "bytes": finding.bytes,
        "paths": list(finding.paths),
        "layer": finding.layer,
        "layerDigest": finding.layer_digest,
        "createdBy": finding.created_by,
        "advice": finding.advice,
        "removedByLayer": finding.removed_by_layer,
        "packages": [{"name": n, "installedSize": s} for n, s in finding.packages],
    }


def report_to_json(report: ImageLayerReport, *, max_items: int | None = 100) -> dict[str, Any]:
    """The camelCase document ``ballast inspect --deep --json`` prints.

    Long lists (inefficient and hidden files, packages) are cut to
    ``max_items`` with their full length given next to them; findings and
    layers are never cut.
    """

    def cut(items: tuple[Any, ...]) -> tuple[Any, ...]:
        return items if max_items is None else items[:max_items]

    return {
        "uncompressedSize": report.uncompressed_bytes,
        "compressedSize": report.compressed_bytes,
        "visibleSize": report.visible_bytes,
        "hiddenBytes": report.hidden_bytes,
        "fileCount": report.file_count,
        "efficiency": report.efficiency,
        "wastedBytes": report.wasted_bytes,
        "userSizeBytes": report.user_size_bytes,
        "userWastedPercent": _number(report.user_wasted_percent),
        "layers": [
            {
                "index": layer.index,
                "digest": layer.digest,
                "mediaType": layer.media_type,
                "compression": layer.compression,
                "compressedSize": layer.compressed_bytes,
                "uncompressedSize": layer.uncompressed_bytes,
                "entries": layer.entries,
                "addedBytes": layer.added_bytes,
                "modifiedBytes": layer.modified_bytes,
                "removedBytes": layer.removed_bytes,
                "hiddenBytes": layer.hidden_bytes,
                "createdBy": layer.created_by,
            }
            for layer in report.layers
        ],
        "inefficientFiles": [
            {"path": w.path, "count": w.count, "wastedBytes": w.bytes}
            for w in cut(report.inefficient_files)
        ],
        "inefficientFileCount": len(report.inefficient_files),
        "hiddenFiles": [
            {
                "path": h.path,
                "bytes": h.bytes,
                "files": h.files,
                "shippedByLayer": h.shipped_by_layer,
                "removedByLayer": h.removed_by_layer,
                "reason": h.reason,
            }
            for h in cut(report.hidden)
        ],
        "hiddenFileCount": len(report.hidden),
        "largestFiles": [
            {"path": f.path, "size": f.bytes, "layer": f.layer} for f in report.largest_files
        ],
        "packages": [
            {
                "name": p.name,
                "version": p.version,
                "installedSize": p.installed_bytes,
                "manager": p.manager,
                "layer": p.layer,
            }
            for p in cut(report.packages)
        ],
        "packageCount": len(report.packages),
        "findings": [finding_to_json(f) for f in report.findings],
    }
