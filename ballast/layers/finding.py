"""A finding about layer contents: what should not ship, where, and how to fix it.

Owns :class:`Finding` with its closed :data:`Category` and :data:`Severity`
vocabularies. Findings are produced by :mod:`ballast.layers.findings`; the
policy engine turns them into verdicts. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Category = Literal[
    "build-tools",
    "package-cache",
    "dev-leftovers",
    "secrets",
    "runtime-tools",
    "heavy-base",
]
"""What kind of dead weight (the identifiers of issue 3)."""

Severity = Literal["info", "low", "medium", "high"]
"""info: worth knowing (a shell in a runtime image); low/medium: bytes to save;
high: a risk (secrets), whatever the size."""

SEVERITY_ORDER: dict[str, int] = {"high": 0, "medium": 1, "low": 2, "info": 3}


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding, tied to the layer that shipped the bytes."""

    category: Category
    """One of :data:`Category`."""
    rule: str
    """Which check fired (``apt-lists``, ``compiler``, ``private-key`` ...)."""
    severity: Severity
    """How much it matters."""
    bytes: int
    """Bytes involved (uncompressed); what fixing it saves."""
    paths: tuple[str, ...]
    """The biggest paths involved (a few, with leading ``/``)."""
    layer: int
    """Index of the layer that shipped the bytes (-1 when it is not one layer)."""
    layer_digest: str
    """Digest of that layer."""
    created_by: str | None
    """The history instruction that made that layer, when known."""
    advice: str
    """The fix in one line, with the saving where it can be computed."""
    removed_by_layer: int | None = None
    """For bytes deleted by a later layer: that layer (the bytes are still pulled)."""
    packages: tuple[tuple[str, int], ...] = ()
    """(package name, installed bytes) of the packages behind the finding, biggest first."""
