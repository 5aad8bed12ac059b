"""The image config as layer analysis needs it: platform, history, diff_ids.

Owns :class:`ImageConfig`, :func:`parse_config` (raw JSON converted once, at
the boundary) and :func:`layer_history`, which maps ``history[].created_by``
onto layers the way docker and dive do: entries marked ``empty_layer`` made no
layer, the others pair up with the layers in order. Reuses the
:class:`~ballast.facts.Platform` and :class:`~ballast.facts.HistoryEntry`
models of image facts. Pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ballast._errors import LayerError
from ballast.facts import HistoryEntry, Platform


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """What layer analysis reads from an image config."""

    platform: Platform
    """os/architecture[/variant] the image was built for."""
    history: tuple[HistoryEntry, ...]
    """Every history step, empty layers included."""
    diff_ids: tuple[str, ...]
    """Digest of each layer's uncompressed tar stream, in layer order."""
    created: str = ""
    """Creation time as the config states it."""


def parse_config(data: bytes, *, source: str) -> ImageConfig:
    """Parse config JSON; raises :class:`LayerError` naming ``source`` when it is not one."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LayerError(f"{source}: the image config is not JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise LayerError(f"{source}: the image config is not a JSON object")
    history_raw = raw.get("history")
    history = tuple(
        HistoryEntry(
            created_by=str(item.get("created_by") or ""),
            created=str(item.get("created") or ""),
            comment=str(item.get("comment") or ""),
            empty_layer=bool(item.get("empty_layer", False)),
        )
        for item in (history_raw if isinstance(history_raw, list) else [])
        if isinstance(item, dict)
    )
    rootfs: Any = raw.get("rootfs")
    diff_ids_raw = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    diff_ids = tuple(str(d) for d in diff_ids_raw) if isinstance(diff_ids_raw, list) else ()
    return ImageConfig(
        platform=Platform(
            str(raw.get("os") or ""),
            str(raw.get("architecture") or ""),
            str(raw.get("variant") or ""),
        ),
        history=history,
        diff_ids=diff_ids,
        created=str(raw.get("created") or ""),
    )


def layer_history(config: ImageConfig, layer_count: int) -> list[str | None]:
    """The ``created_by`` of each layer; ``None`` where history has no entry for it."""
    made = [h.created_by or None for h in config.history if not h.empty_layer]
    return [*made[:layer_count], *([None] * (layer_count - len(made)))]
