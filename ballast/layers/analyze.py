"""Analyse a local image archive end to end: :func:`analyze_archive`.

Owns the glue between :mod:`ballast.layers.archive` (where the blobs are),
:func:`~ballast.layers.reader.read_layer` (one pass per blob) and
:func:`~ballast.layers.combine.combine` (the image view). A layer shared by
two positions of the manifest is read once; ``cached`` lets the caller skip
layers whose facts it already has (keyed by digest), and ``on_layer`` hands
each fresh :class:`LayerFacts` back for storing and progress. The registry
path does the same with blobs streamed from a registry.
"""

from __future__ import annotations

from collections.abc import Callable

from ballast.layers.archive import ArchiveImage, open_archive
from ballast.layers.combine import combine
from ballast.layers.facts import LayerFacts
from ballast.layers.limits import DEFAULT_LIMITS, LayerLimits
from ballast.layers.reader import read_layer
from ballast.layers.report import ImageLayerReport


def read_archive_layers(
    image: ArchiveImage,
    *,
    limits: LayerLimits = DEFAULT_LIMITS,
    cached: Callable[[str], LayerFacts | None] | None = None,
    on_layer: Callable[[int, LayerFacts], None] | None = None,
) -> list[LayerFacts]:
    """Facts of every layer of ``image``, in manifest order (each blob read at most once)."""
    seen: dict[str, LayerFacts] = {}
    result: list[LayerFacts] = []
    for index, layer in enumerate(image.layers):
        key = layer.digest or layer.member
        facts = seen.get(key)
        if facts is None and layer.digest and cached is not None:
            facts = cached(layer.digest)
        if facts is None:
            with image.open_layer(layer) as stream:
                facts = read_layer(
                    stream,
                    digest=layer.digest,
                    media_type=layer.media_type,
                    diff_id=layer.diff_id,
                    expected_size=layer.size,
                    limits=limits,
                )
            if on_layer is not None:
                on_layer(index, facts)
        seen[key] = facts
        result.append(facts)
    return result


def analyze_archive(
    spec: str,
    *,
    platform: str | None = None,
    limits: LayerLimits = DEFAULT_LIMITS,
    cached: Callable[[str], LayerFacts | None] | None = None,
    on_layer: Callable[[int, LayerFacts], None] | None = None,
) -> ImageLayerReport:
    """Open ``spec`` (see :func:`open_archive`), read its layers and combine them."""
    image = open_archive(spec, platform=platform, limits=limits)
    facts = read_archive_layers(image, limits=limits, cached=cached, on_layer=on_layer)
    return combine(facts, image.history)
