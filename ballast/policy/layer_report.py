"""What the policy reads from layer analysis: :class:`LayerReportView` and friends.

Owns the structural types (``typing.Protocol``) the evaluator needs from a
layer report, so the policy package does not depend on how
:mod:`ballast.layers` builds it. :class:`ballast.layers.report.ImageLayerReport`
satisfies :class:`LayerReportView` as it stands (a test checks it); any object
with these read-only attributes does. Sizes are uncompressed (unpacked) bytes.
Imports nothing from ballast. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class LayerFindingView(Protocol):
    """One deep finding (``ballast.layers.finding.Finding``)."""

    @property
    def category(self) -> str:
        """``build-tools``, ``package-cache``, ``dev-leftovers``, ``secrets``, ``runtime-tools``,
        ``heavy-base``; other values are ignored."""
        ...

    @property
    def rule(self) -> str:
        """Which check fired (``apt-lists``)."""
        ...

    @property
    def severity(self) -> str:
        """``info``, ``low``, ``medium`` or ``high``."""
        ...

    @property
    def bytes(self) -> int:
        """Uncompressed bytes involved: what fixing it saves."""
        ...

    @property
    def paths(self) -> Sequence[str]:
        """The biggest paths involved."""
        ...

    @property
    def layer(self) -> int:
        """Index of the layer that shipped the bytes; -1 when not one layer."""
        ...

    @property
    def layer_digest(self) -> str:
        """That layer's digest (may be empty)."""
        ...

    @property
    def created_by(self) -> str | None:
        """The instruction that made the layer."""
        ...

    @property
    def advice(self) -> str:
        """The fix in one line."""
        ...


class LayerSizeView(Protocol):
    """One layer of the report (``ballast.layers.report.LayerReport``)."""

    @property
    def index(self) -> int: ...

    @property
    def digest(self) -> str: ...

    @property
    def uncompressed_bytes(self) -> int: ...

    @property
    def created_by(self) -> str | None: ...


class HiddenPathView(Protocol):
    """Bytes shipped by one layer and hidden by another (``ballast.layers.report.HiddenPath``)."""

    @property
    def path(self) -> str: ...

    @property
    def bytes(self) -> int: ...

    @property
    def shipped_by_layer(self) -> int: ...

    @property
    def removed_by_layer(self) -> int: ...


class WastedPathView(Protocol):
    """A path dive scores in several layers (``ballast.layers.report.WastedPath``)."""

    @property
    def path(self) -> str: ...

    @property
    def count(self) -> int: ...

    @property
    def bytes(self) -> int: ...


class LayerReportView(Protocol):
    """The image-level layer report (``ballast.layers.report.ImageLayerReport``)."""

    @property
    def uncompressed_bytes(self) -> int:
        """Σ layer sizes (dive's sizeBytes)."""
        ...

    @property
    def efficiency(self) -> float:
        """dive's efficiency, 0 to 1."""
        ...

    @property
    def wasted_bytes(self) -> int:
        """dive's wastedBytes."""
        ...

    @property
    def user_wasted_percent(self) -> float:
        """dive's userWastedPercent as a fraction (NaN for a single layer)."""
        ...

    @property
    def hidden_bytes(self) -> int:
        """Bytes shipped but not visible in the final filesystem."""
        ...

    @property
    def layers(self) -> Sequence[LayerSizeView]: ...

    @property
    def hidden(self) -> Sequence[HiddenPathView]:
        """Where the hidden bytes are, biggest first."""
        ...

    @property
    def inefficient_files(self) -> Sequence[WastedPathView]:
        """dive's inefficient files, biggest first."""
        ...

    @property
    def findings(self) -> Sequence[LayerFindingView]: ...
