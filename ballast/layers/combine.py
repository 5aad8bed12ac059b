"""Combine per-layer facts into the image view: :func:`combine`.

Owns the one pass over an image's layers: apply each layer to the overlay
(final filesystem and hidden bytes), score dive's numbers, pick the package
databases the final filesystem shows, attribute each package to the layer
that installed it, and run the deep findings. It reads nothing: everything
comes from :class:`~ballast.layers.facts.LayerFacts`, which are cached by
layer digest, so an image whose layers were all seen before is recombined
without touching a blob. Deterministic for the same inputs. Pure.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from ballast.layers.facts import LayerFacts
from ballast.layers.findings import Hidden, find_dead_weight
from ballast.layers.package import PackageDb, PackageInfo
from ballast.layers.report import HiddenPath, ImageLayerReport, LargeFile, LayerReport, WastedPath
from ballast.layers.tree import K_DIR, K_IMPLIED, Overlay, unpack
from ballast.layers.waste import dive_waste

LARGEST_FILES: Final = 20
"""Files listed in ``largestFiles``."""


def combine(
    layers: Sequence[LayerFacts],
    history: Sequence[str | None] = (),
    *,
    largest_files: int = LARGEST_FILES,
) -> ImageLayerReport:
    """Build the image view from its layers' facts, in manifest order.

    ``history`` gives the instruction that created each layer (the config's
    non-empty history entries, see :func:`~ballast.layers.image_config.layer_history`);
    missing entries are ``None``.
    """
    created_by = [*history[: len(layers)], *([None] * (len(layers) - len(history)))]
    # dive's numbers first: its stacked tree is gone before the overlay is built,
    # so the two never hold every path at the same time.
    dive = dive_waste(layers)
    overlay = Overlay()
    hidden_groups: dict[tuple[str, int, int, str], list[int]] = {}
    hidden_files: list[Hidden] = []
    deltas = []
    for index, facts in enumerate(layers):
        delta = overlay.apply(index, facts)
        deltas.append(delta)
        for path, size, shipped, root, reason in delta.removed:
            key = (root, shipped, index, reason)
            group = hidden_groups.get(key)
            if group is None:
                hidden_groups[key] = [size, 1]
            else:
                group[0] += size
                group[1] += 1
            hidden_files.append((path, size, shipped, root, reason, index))
        delta.removed = []

    visible_by_layer = [0] * len(layers)
    file_count = 0
    sized: list[tuple[int, str, int]] = []
    for path, size, layer, code in overlay.files():
        visible_by_layer[layer] += size
        if code not in (K_DIR, K_IMPLIED):
            file_count += 1
            if size:
                sized.append((size, path, layer))
    biggest = heapq.nsmallest(largest_files, sized, key=lambda item: (-item[0], item[1]))

    packages = _installed_packages(layers, overlay)
    findings = find_dead_weight(
        visible=overlay.files(),
        hidden=hidden_files,
        layers=layers,
        created_by=created_by,
        packages=packages,
    )
    layer_reports = tuple(
        LayerReport(
            index=index,
            digest=facts.digest,
            media_type=facts.media_type,
            compression=facts.compression,
            compressed_bytes=facts.compressed_bytes,
            uncompressed_bytes=facts.size_bytes,
            entries=facts.entry_count,
            added_bytes=deltas[index].added_bytes,
            modified_bytes=deltas[index].modified_bytes,
            removed_bytes=deltas[index].removed_bytes,
            hidden_bytes=facts.size_bytes - visible_by_layer[index],
            created_by=created_by[index],
        )
        for index, facts in enumerate(layers)
    )
    hidden = sorted(
        (
            HiddenPath(
                path="/" + root,
                bytes=size,
                files=count,
                shipped_by_layer=shipped,
                removed_by_layer=removed,
                reason=reason,
            )
            for (root, shipped, removed, reason), (size, count) in hidden_groups.items()
        ),
        key=lambda h: (-h.bytes, h.path, h.shipped_by_layer, h.removed_by_layer),
    )
    visible_bytes = sum(visible_by_layer)
    return ImageLayerReport(
        layers=layer_reports,
        uncompressed_bytes=dive.size_bytes,
        compressed_bytes=sum(facts.compressed_bytes for facts in layers),
        visible_bytes=visible_bytes,
        hidden_bytes=dive.size_bytes - visible_bytes,
        file_count=file_count,
        efficiency=dive.efficiency,
        wasted_bytes=dive.wasted_bytes,
        user_size_bytes=dive.user_size_bytes,
        user_wasted_percent=dive.user_wasted_percent,
        inefficient_files=tuple(
            WastedPath(path=path, count=count, bytes=size) for path, count, size in dive.inefficient
        ),
        hidden=tuple(hidden),
        largest_files=tuple(
            LargeFile(path="/" + path, bytes=size, layer=layer) for size, path, layer in biggest
        ),
        packages=packages,
        findings=findings,
    )


def _installed_packages(layers: Sequence[LayerFacts], overlay: Overlay) -> tuple[PackageInfo, ...]:
    """Packages of the databases visible in the final filesystem, each with the
    layer that installed it (the first of the unbroken run of database versions
    that list it)."""
    since: dict[str, dict[str, int]] = {}
    final: dict[str, tuple[int, PackageDb]] = {}
    for index, facts in enumerate(layers):
        latest: dict[str, PackageDb] = {}
        for db in facts.package_dbs:
            latest[db.path] = db  # a later copy in the same tar wins
        for path, db in latest.items():
            before = since.get(path, {})
            since[path] = {p.name: before.get(p.name, index) for p in db.packages}
            final[path] = (index, db)
    packages: list[PackageInfo] = []
    for path, (index, db) in sorted(final.items()):
        node = overlay.nodes.get(path)
        if node is None or unpack(node)[1] != index:
            continue  # deleted or replaced by a file that is not a database we read
        first = since[path]
        packages.extend(replace(p, layer=first.get(p.name, index)) for p in db.packages)
    packages.sort(key=lambda p: (-p.installed_bytes, p.name, p.version))
    return tuple(packages)
