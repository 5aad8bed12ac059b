"""Turn raw manifest, index and config bytes into facts, once, at the boundary.

Validates the shape of what a registry sent (it is untrusted input) and raises
UnsupportedMedia for what ballast does not read (schema1, unknown kinds).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from ballast._errors import RegistryError, UnsupportedMedia
from ballast.facts import (
    HistoryEntry,
    ImageFacts,
    IndexEntry,
    IndexFacts,
    LayerInfo,
    Platform,
)
from ballast.registry import media
from ballast.registry.media import ImageConfigJSON, ManifestJSON

ALL_PLATFORMS = "all"


def decode_json(body: bytes, *, what: str, host: str, image: str) -> dict[str, Any]:
    """Parse a JSON object a registry sent, or raise a RegistryError saying which one."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise RegistryError(
            f"registry {host} sent a {what} for {image} that is not valid JSON",
            host=host,
            image=image,
        ) from exc
    if not isinstance(data, dict):
        raise RegistryError(
            f"registry {host} sent a {what} for {image} that is not a JSON object",
            host=host,
            image=image,
        )
    return data


def manifest_kind(data: dict[str, Any], header_type: str, *, host: str, image: str) -> str:
    """The media type of a manifest document: its own ``mediaType``, else the header's.

    Schema1 is refused here: it has no sizes, so no facts can be trusted from it.
    """
    kind = str(data.get("mediaType") or "") or header_type.split(";")[0].strip()
    if not kind:
        # OCI allows omitting mediaType; tell manifests from indexes by shape.
        kind = media.OCI_INDEX if "manifests" in data else media.OCI_MANIFEST
    if kind in media.SCHEMA1 or data.get("schemaVersion") == 1:
        raise UnsupportedMedia(
            f"{image} on {host} only has a Docker schema1 manifest, which ballast cannot size; "
            "push it again with a current client (docker, buildah or skopeo --format v2s2)",
            host=host,
            image=image,
        )
    if kind not in media.IMAGE_MANIFESTS and kind not in media.INDEXES:
        raise UnsupportedMedia(
            f"{image} on {host} has media type {kind!r}, which is not a container image "
            "manifest or index",
            host=host,
            image=image,
        )
    return kind


def _descriptor(raw: Any, *, where: str, host: str, image: str) -> tuple[str, str, int]:
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("digest"), str)
        or not isinstance(raw.get("size"), int)
        or raw["size"] < 0
    ):
        raise RegistryError(
            f"registry {host} sent a malformed {where} descriptor for {image}",
            host=host,
            image=image,
        )
    return raw["digest"], str(raw.get("mediaType", "")), raw["size"]


def index_facts(
    data: dict[str, Any], *, digest: str, kind: str, host: str, image: str
) -> IndexFacts:
    """Facts of a multi-arch index; entries without a platform are kept as unknown/unknown."""
    raw = cast(ManifestJSON, data)
    manifests = raw.get("manifests")
    if not isinstance(manifests, list):
        raise RegistryError(
            f"registry {host} sent an index for {image} without a manifests list",
            host=host,
            image=image,
        )
    entries = []
    for item in manifests:
        entry_digest, entry_type, size = _descriptor(item, where="index", host=host, image=image)
        plat = item.get("platform") or {}
        entries.append(
            IndexEntry(
                digest=entry_digest,
                media_type=entry_type,
                size=size,
                platform=Platform(
                    str(plat.get("os", "unknown")),
                    str(plat.get("architecture", "unknown")),
                    str(plat.get("variant", "")),
                ),
            )
        )
    return IndexFacts(digest=digest, media_type=kind, manifests=tuple(entries))


def select_platforms(
    index: IndexFacts, wanted: Sequence[str], *, host: str, image: str
) -> list[IndexEntry]:
    """The index entries for the platforms asked for, in the order asked.

    ``all`` selects every real platform (attestation manifests, listed as
    ``unknown/unknown``, are skipped). Raises UnsupportedMedia listing what the
    index offers when nothing matches.
    """
    real = [e for e in index.manifests if e.platform.os != "unknown"]
    if ALL_PLATFORMS in wanted:
        return real
    chosen: list[IndexEntry] = []
    for text in wanted:
        want = Platform.parse(text)
        match = next((e for e in real if e.platform.matches(want)), None)
        if match is not None and match not in chosen:
            chosen.append(match)
    if not chosen:
        offered = ", ".join(str(e.platform) for e in real) or "nothing"
        raise UnsupportedMedia(
            f"{image} has no manifest for {', '.join(wanted)}; it offers {offered} "
            "(choose one with --platform)",
            host=host,
            image=image,
        )
    return chosen


def layer_descriptors(
    data: dict[str, Any], *, host: str, image: str
) -> tuple[tuple[str, str, int], tuple[tuple[str, str, int], ...]]:
    """The (digest, mediaType, size) of the config and of each layer of a manifest."""
    raw = cast(ManifestJSON, data)
    config = _descriptor(raw.get("config"), where="config", host=host, image=image)
    layers = raw.get("layers")
    if not isinstance(layers, list):
        raise RegistryError(
            f"registry {host} sent a manifest for {image} without a layers list",
            host=host,
            image=image,
        )
    return config, tuple(_descriptor(x, where="layer", host=host, image=image) for x in layers)


def image_facts(
    manifest: dict[str, Any],
    config: dict[str, Any],
    *,
    digest: str,
    kind: str,
    host: str,
    image: str,
) -> ImageFacts:
    """Facts for one platform manifest, with history mapped onto layers.

    History entries marked ``empty_layer`` made no layer (ENV, CMD …); the
    rest pair up with the manifest's layers in order. If the counts disagree
    (squashed or hand-made images) layers without a history entry get None.
    """
    (config_digest, _, config_size), layer_rows = layer_descriptors(
        manifest, host=host, image=image
    )
    raw_config = cast(ImageConfigJSON, config)
    history = tuple(
        HistoryEntry(
            created_by=str(h.get("created_by") or ""),
            created=str(h.get("created") or ""),
            comment=str(h.get("comment") or ""),
            empty_layer=bool(h.get("empty_layer", False)),
        )
        for h in (raw_config.get("history") or [])
        if isinstance(h, dict)
    )
    layer_history = [h.created_by or None for h in history if not h.empty_layer]
    if len(layer_history) != len(layer_rows):
        layer_history = (layer_history + [None] * len(layer_rows))[: len(layer_rows)]
    layers = tuple(
        LayerInfo(digest=d, media_type=t, compressed_bytes=s, created_by=layer_history[i])
        for i, (d, t, s) in enumerate(layer_rows)
    )
    container = raw_config.get("config") or {}
    annotations = cast(ManifestJSON, manifest).get("annotations") or {}
    labels = container.get("Labels") or {}
    entrypoint = container.get("Entrypoint")
    cmd = container.get("Cmd")
    return ImageFacts(
        digest=digest,
        media_type=kind,
        platform=Platform(
            str(raw_config.get("os", "")),
            str(raw_config.get("architecture", "")),
            str(raw_config.get("variant", "")),
        ),
        config_digest=config_digest,
        config_bytes=config_size,
        layers=layers,
        history=history,
        created=str(raw_config.get("created") or ""),
        user=str(container.get("User") or ""),
        entrypoint=tuple(map(str, entrypoint)) if isinstance(entrypoint, list) else None,
        cmd=tuple(map(str, cmd)) if isinstance(cmd, list) else None,
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        base_name=str(annotations.get(media.BASE_NAME_ANNOTATION, "")),
        base_digest=str(annotations.get(media.BASE_DIGEST_ANNOTATION, "")),
    )
