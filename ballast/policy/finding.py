"""One rule's result on one image: :class:`Finding`, with what it measured and where.

Owns :class:`Finding` and its parts: the closed :class:`Category` and
:class:`Severity` vocabularies (the identifiers of issue 3, shared with
:mod:`ballast.layers`), :class:`Quantity` (a number with its unit, so a size
always says whether it is compressed or unpacked) and :class:`Location` (the
layer, paths and instruction responsible). Imports only the outcome enums and
:mod:`ballast.units`. Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from ballast.policy.outcome import Action, Status
from ballast.units import format_bytes


class Category(StrEnum):
    """What kind of dead weight a category finding is about."""

    BUILD_TOOLS = "build-tools"
    """Compilers and build systems shipped at runtime (gcc, make, a JDK, -dev packages)."""
    PACKAGE_CACHE = "package-cache"
    """Package-manager caches and indexes (apt lists, pip/npm caches)."""
    DEV_LEFTOVERS = "dev-leftovers"
    """Development leftovers: VCS metadata, tests, dev dependencies, a whole build context."""
    SECRETS = "secrets"
    """Private keys, tokens and credential files."""
    RUNTIME_TOOLS = "runtime-tools"
    """Shells, package managers and debug tools (for teams aiming at distroless)."""
    HEAVY_BASE = "heavy-base"
    """A full distribution or language base where a slim/distroless variant exists."""


class Severity(StrEnum):
    """How much a category finding matters, whatever the policy's action."""

    INFO = "info"
    """Worth knowing (a shell in a runtime image)."""
    LOW = "low"
    """A few bytes to save."""
    MEDIUM = "medium"
    """Many bytes to save."""
    HIGH = "high"
    """A risk (secrets), whatever the size."""

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Read a severity from another module's vocabulary; unknown words are ``medium``."""
        try:
            return cls(text.lower())
        except ValueError:
            return cls.MEDIUM


class Unit(StrEnum):
    """The unit of a measured value or a limit."""

    COMPRESSED_BYTES = "compressed-bytes"
    """Bytes as pulled (manifest sizes)."""
    UNCOMPRESSED_BYTES = "uncompressed-bytes"
    """Bytes as unpacked on a node's disk (needs the layers)."""
    COUNT = "count"
    """A number of things (layers)."""
    RATIO = "ratio"
    """A fraction, 1.0 = 100% (dive's efficiency and userWastedPercent)."""

    @property
    def is_bytes(self) -> bool:
        return self in (Unit.COMPRESSED_BYTES, Unit.UNCOMPRESSED_BYTES)

    @property
    def size_kind(self) -> str | None:
        """``compressed``/``uncompressed`` for sizes, else ``None`` (the JSON ``sizeKind``)."""
        if self is Unit.COMPRESSED_BYTES:
            return "compressed"
        if self is Unit.UNCOMPRESSED_BYTES:
            return "uncompressed"
        return None


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number and its unit: ``Quantity(412_300_000, Unit.COMPRESSED_BYTES)``."""

    value: float
    """Bytes and counts are whole numbers; ratios may be NaN (dive's 0/0)."""
    unit: Unit

    def __str__(self) -> str:
        """Human form: ``412.3 MB compressed``, ``14``, ``0.93``."""
        if self.unit.is_bytes:
            return f"{format_bytes(self.value)} {self.unit.size_kind}"
        if self.unit is Unit.COUNT:
            return f"{self.value:.0f}"
        if math.isnan(self.value):
            return "n/a"
        return f"{self.value:.4g}"

    @property
    def short(self) -> str:
        """Like ``str()`` without the size kind (``412.3 MB``), for tight messages."""
        return format_bytes(self.value) if self.unit.is_bytes else str(self)


@dataclass(frozen=True, slots=True)
class Location:
    """Where the cause of a finding is: a layer, some paths, the instruction that made them."""

    layer_index: int | None = None
    """Position of the layer in the manifest (0 is the base), when one layer is to blame."""
    layer_digest: str = ""
    """That layer's blob digest."""
    paths: tuple[str, ...] = ()
    """The biggest paths involved (a few, with a leading ``/``)."""
    created_by: str = ""
    """The history instruction that made the layer (``RUN apt-get install ...``)."""
    layer_bytes: int | None = None
    """That layer's compressed size, when known."""

    @property
    def is_empty(self) -> bool:
        return self.layer_index is None and not self.paths and not self.created_by


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule's result on one image: what was measured against what, where, and the fix."""

    rule: str
    """Rule id: ``maxCompressedSize`` ... or a category (``build-tools``); ``facts`` for the
    failure mode."""
    action: Action
    """What the policy wants when this fails (the rule's action or the policy's mode)."""
    status: Status
    """What evaluating found."""
    image: str
    """The image reference as the workload names it."""
    message: str
    """What was found, in one line without the image (``compressed size 512 MB > 400 MB``)."""
    measured: Quantity | None = None
    """The measured value; ``None`` when skipped or not evaluable."""
    limit: Quantity | None = None
    """The limit it was compared with (after any exception raised it); ``None`` for categories."""
    where: Location | None = None
    """The layer/path responsible, when one can be named."""
    advice: str = ""
    """The fix, in one line."""
    savings_bytes: int | None = None
    """Bytes the fix would save, when that can be computed."""
    category: Category | None = None
    """For category findings: the category."""
    severity: Severity | None = None
    """For category findings: how much it matters."""
    detail: str = ""
    """Which check within the rule fired (``apt-lists``, ``pip-cache``, ``history:apt-get``)."""
    exception: int | None = None
    """Index of the honoured exception that waived or relaxed this finding, if any."""

    @property
    def is_failure(self) -> bool:
        """True when this finding counts against the image (status ``fail``)."""
        return self.status is Status.FAIL
