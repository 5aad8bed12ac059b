"""Whiteout names: how a layer deletes what lower layers shipped.

Owns the naming rules of the OCI image spec ("Whiteouts", image-spec
layer.md): ``DIR/.wh.NAME`` deletes ``DIR/NAME`` from lower layers,
``DIR/.wh..wh..opq`` hides every lower entry under ``DIR``, and any other
``.wh..wh.*`` name is AUFS bookkeeping that means nothing to the image.
Pure; imports only :mod:`ballast.layers.entry`.
"""

from __future__ import annotations

from typing import Final

from ballast.layers.entry import Kind

WHITEOUT_PREFIX: Final = ".wh."
OPAQUE_MARKER: Final = ".wh..wh..opq"
META_PREFIX: Final = ".wh..wh."

IGNORED: Final = (Kind.OTHER, "")
"""Returned for AUFS metadata names, which are dropped (dive drops them too)."""


def classify_whiteout(path: str) -> tuple[Kind, str] | None:
    """Tell whether a clean path is a whiteout marker.

    Returns ``None`` for an ordinary entry, ``(Kind.WHITEOUT, target)`` for a
    whiteout, ``(Kind.OPAQUE, directory)`` for an opaque marker (``""`` is the
    root), and :data:`IGNORED` for other ``.wh..wh.`` names and empty targets.
    """
    if WHITEOUT_PREFIX not in path:
        return None
    parent, _, base = path.rpartition("/")
    if not base.startswith(WHITEOUT_PREFIX):
        return None
    if base == OPAQUE_MARKER:
        return Kind.OPAQUE, parent
    if base.startswith(META_PREFIX):
        return IGNORED
    target = base[len(WHITEOUT_PREFIX) :]
    if not target or target in (".", ".."):
        return IGNORED
    return Kind.WHITEOUT, f"{parent}/{target}" if parent else target


def is_whiteout_name(base: str) -> bool:
    """Tell whether a single path component is a whiteout marker of any kind."""
    return base.startswith(WHITEOUT_PREFIX)
