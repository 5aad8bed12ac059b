"""Layer analysis: what is really inside an image, dive-exact and streaming.

The public names of :mod:`ballast.layers`, and nothing else. The flow is::

    open_archive(spec) / registry blobs
        └─ read_layer(stream, digest=…) → LayerFacts    (one pass per blob; cache by digest)
              └─ combine([LayerFacts…], history) → ImageLayerReport
                    └─ report_to_json(report) → dict    (camelCase, for --json)

Everything here is pure except :mod:`~ballast.layers.archive`, which reads
local archive files. Nothing imports Flask, kubernetes or the registry client.
"""

from __future__ import annotations

from ballast.layers.analyze import analyze_archive, read_archive_layers
from ballast.layers.archive import ArchiveImage, LayerDescriptor, open_archive
from ballast.layers.combine import combine
from ballast.layers.compression import ByteSource, ChunkSource, Compression
from ballast.layers.entry import Entry, Kind
from ballast.layers.facts import (
    LayerFacts,
    NodeProject,
    dump_facts,
    facts_from_json,
    facts_to_json,
    load_facts,
)
from ballast.layers.finding import Category, Finding, Severity
from ballast.layers.image_config import ImageConfig, layer_history, parse_config
from ballast.layers.limits import DEFAULT_LIMITS, LayerLimits
from ballast.layers.package import PackageDb, PackageInfo
from ballast.layers.reader import read_layer
from ballast.layers.report import (
    HiddenPath,
    ImageLayerReport,
    LargeFile,
    LayerReport,
    WastedPath,
    finding_to_json,
    report_to_json,
)
from ballast.layers.secret import SecretHit

__all__ = [
    "DEFAULT_LIMITS",
    "ArchiveImage",
    "ByteSource",
    "Category",
    "ChunkSource",
    "Compression",
    "Entry",
    "Finding",
    "HiddenPath",
    "ImageConfig",
    "ImageLayerReport",
    "Kind",
    "LargeFile",
    "LayerDescriptor",
    "LayerFacts",
    "LayerLimits",
    "LayerReport",
    "NodeProject",
    "PackageDb",
    "PackageInfo",
    "SecretHit",
    "Severity",
    "WastedPath",
    "analyze_archive",
    "combine",
    "dump_facts",
    "facts_from_json",
    "facts_to_json",
    "finding_to_json",
    "layer_history",
    "load_facts",
    "open_archive",
    "parse_config",
    "read_archive_layers",
    "read_layer",
    "report_to_json",
]
