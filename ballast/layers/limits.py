"""Limits that keep layer reading bounded in time and memory.

Owns :class:`LayerLimits` and its default constants. Layers and image archives
are untrusted input (a registry or a file can hand us anything), so every
quantity that grows with the input has a cap here, and crossing a cap ends the
read with a :class:`ballast.LayerError` that names the cap and the setting to
raise. Imports nothing from the rest of ballast.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_ENTRIES = 1_000_000
"""Tar entries per layer. Big real layers hold a few hundred thousand files."""

DEFAULT_MAX_UNCOMPRESSED_BYTES = 32 * 1024**3
"""Uncompressed bytes per layer (32 GiB): far above real layers, bounds a bomb's time."""

DEFAULT_MAX_RATIO = 1000
"""Uncompressed ÷ compressed bytes. gzip cannot exceed ~1032:1, zstd can go far beyond."""

DEFAULT_RATIO_GRACE_BYTES = 128 * 1024**2
"""The ratio cap applies only past this many uncompressed bytes (small layers of zeros are fine)."""

DEFAULT_MAX_NAME_BYTES = 4096
"""Longest entry name or link target (Linux PATH_MAX; GNU long names and PAX paths included)."""

DEFAULT_MAX_PATH_DEPTH = 256
"""Most path components in one name (deep node_modules trees stay far below)."""

DEFAULT_MAX_PATH_BYTES = 256 * 1024**2
"""All entry names of one layer together: bounds the entry table's memory."""

DEFAULT_MAX_IMPLIED_DIR_BYTES = 64 * 1024**2
"""Names of parent directories a layer implies without listing them (real tars list them)."""

DEFAULT_MAX_PAX_BYTES = 1024 * 1024
"""Largest PAX extended header record block."""

DEFAULT_MAX_CAPTURE_BYTES = 16 * 1024**2
"""Largest package database file kept while streaming (a big dpkg status is ~3 MB)."""

DEFAULT_MAX_PEEK_BYTES = 64 * 1024
"""How much of a small secret candidate (key, .npmrc) is looked at, then dropped."""

DEFAULT_MAX_ZSTD_WINDOW_BYTES = 1 << 27
"""zstd window (128 MiB), the zstd CLI's own default limit; bounds decoder memory."""

DEFAULT_MAX_MEMBERS = 100_000
"""Members of an outer image archive (docker save / OCI layout tar)."""

DEFAULT_MAX_DOCUMENT_BYTES = 4 * 1024**2
"""manifest.json, index.json and OCI manifests (same cap as the registry client)."""

DEFAULT_MAX_CONFIG_BYTES = 16 * 1024**2
"""Image config JSON (history can be long, but not this long)."""


@dataclass(frozen=True, slots=True)
class LayerLimits:
    """Caps applied while reading one layer or one image archive."""

    max_entries: int = DEFAULT_MAX_ENTRIES
    """Tar entries per layer; more is refused as an absurd entry count."""
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES
    """Uncompressed bytes per layer, in bytes."""
    max_ratio: int = DEFAULT_MAX_RATIO
    """Largest uncompressed ÷ compressed ratio once past ``ratio_grace_bytes``."""
    ratio_grace_bytes: int = DEFAULT_RATIO_GRACE_BYTES
    """Uncompressed bytes before the ratio cap applies."""
    max_name_bytes: int = DEFAULT_MAX_NAME_BYTES
    """Longest entry name or link target, in bytes."""
    max_path_depth: int = DEFAULT_MAX_PATH_DEPTH
    """Most ``/``-separated components in one entry name."""
    max_path_bytes: int = DEFAULT_MAX_PATH_BYTES
    """All entry names of a layer together, in bytes."""
    max_implied_dir_bytes: int = DEFAULT_MAX_IMPLIED_DIR_BYTES
    """Names of implied (unlisted) parent directories of a layer together, in bytes."""
    max_pax_bytes: int = DEFAULT_MAX_PAX_BYTES
    """Largest PAX extended header, in bytes."""
    max_capture_bytes: int = DEFAULT_MAX_CAPTURE_BYTES
    """Largest package database kept in memory while streaming, in bytes."""
    max_peek_bytes: int = DEFAULT_MAX_PEEK_BYTES
    """Bytes of a secret candidate that are inspected (never stored)."""
    max_zstd_window_bytes: int = DEFAULT_MAX_ZSTD_WINDOW_BYTES
    """Largest zstd window accepted, in bytes (decoder memory)."""
    max_members: int = DEFAULT_MAX_MEMBERS
    """Members of an outer image archive."""
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    """manifest.json / index.json / OCI manifest size cap, in bytes."""
    max_config_bytes: int = DEFAULT_MAX_CONFIG_BYTES
    """Image config size cap, in bytes."""
    verify_diff_id: bool = True
    """Hash the uncompressed stream too and compare it with the config's diff_id when given."""


DEFAULT_LIMITS = LayerLimits()
"""The limits used when a caller passes none."""
