"""One tar entry of a layer, as ballast keeps it: path, size and kind.

Owns :class:`Kind` (one character per entry, so a layer's kinds pack into a
string), :class:`Entry` and :func:`clean_path`, the single place where entry
names are normalised or refused. Layer contents are never kept; this is all
that survives of a file. Imports only ``ballast._errors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ballast._errors import LayerError


class Kind(StrEnum):
    """What an entry is; the value is the one character stored per entry."""

    FILE = "f"
    """Regular file (also contiguous and sparse files); its size counts."""
    DIR = "d"
    """Directory; size 0."""
    SYMLINK = "l"
    """Symbolic link; size 0, never followed."""
    HARDLINK = "h"
    """Hard link to an earlier entry; size 0 (the bytes belong to the target)."""
    OTHER = "x"
    """Device, FIFO or unknown type."""
    WHITEOUT = "w"
    """``.wh.NAME``: deletes NAME (the stored path) from lower layers."""
    OPAQUE = "o"
    """``.wh..wh..opq``: hides everything lower layers put in this directory (the stored path)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a layer, as seen through :meth:`LayerFacts.entries`."""

    path: str
    """Normalised path without leading ``/`` (``usr/bin/gcc``); for whiteouts, the deleted path."""
    size: int
    """Tar header size in bytes (what dive counts); 0 for directories and links."""
    kind: Kind
    """What the entry is."""


def clean_path(name: str, *, layer_digest: str = "") -> str:
    """Return ``name`` as a relative path without ``.``/``..`` segments or extra slashes.

    Absolute names (``/etc/passwd``) and ``./`` prefixes are normalised, as every
    container runtime does. A name that climbs above the root (``../x``,
    ``a/../../x``) is hostile and raises :class:`LayerError`. ``""`` means the
    root itself (a ``./`` entry), which callers skip.
    """
    path = name.strip("/")
    if (
        "//" in path
        or "/./" in path
        or "/../" in path
        or path.startswith(("./", "../"))
        or path.endswith(("/.", "/.."))
        or path in (".", "..")
    ):
        parts: list[str] = []
        for part in path.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise LayerError(
                        f"layer entry {name!r} climbs above the image root: the layer is "
                        "malformed or hostile; rebuild it with a standard tool",
                        layer_digest=layer_digest,
                    )
                parts.pop()
                continue
            parts.append(part)
        path = "/".join(parts)
    return path


def parent_of(path: str) -> str:
    """Return the parent directory of a clean path (``""`` for top-level entries)."""
    return path.rpartition("/")[0]
