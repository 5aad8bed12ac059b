"""The catalogue of policy rules: ids, units, which way a limit points, what they need.

Owns :data:`RULE_SPECS`, the one table the loader, the evaluator, exceptions
and reports agree on. A rule id is the key a policy uses under
``spec.rules`` (``maxCompressedSize``) or, for category rules, the category
itself (``build-tools``), as set under ``spec.rules.findings``. Imports the
finding vocabularies only. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from ballast.policy.finding import Category, Unit


class Bound(StrEnum):
    """Which side of the limit fails."""

    MAX = "max"
    """Fails when the measured value is above the limit (equal passes)."""
    MIN = "min"
    """Fails when the measured value is below the limit (equal passes)."""


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What a rule measures."""

    id: str
    title: str
    """What is measured, in a few words (``compressed size``)."""
    unit: Unit | None
    """Unit of the measured value and the limit; ``None`` for category rules."""
    bound: Bound | None
    """Which side of the limit fails; ``None`` for category rules."""
    needs_layers: bool
    """True when only layer facts can answer (skipped until they are cached)."""
    category: Category | None = None
    advice: str = ""
    """The generic fix when no finer advice can be given."""

    @property
    def has_limit(self) -> bool:
        return self.unit is not None


_SPECS: Final = (
    RuleSpec(
        "maxCompressedSize",
        "compressed size",
        Unit.COMPRESSED_BYTES,
        Bound.MAX,
        needs_layers=False,
        advice="slim the biggest layer: slim/distroless base, multi-stage build, clean caches",
    ),
    RuleSpec(
        "maxUncompressedSize",
        "uncompressed size",
        Unit.UNCOMPRESSED_BYTES,
        Bound.MAX,
        needs_layers=True,
        advice="slim the biggest layer: slim/distroless base, multi-stage build, clean caches",
    ),
    RuleSpec(
        "maxLayerSize",
        "largest layer (compressed)",
        Unit.COMPRESSED_BYTES,
        Bound.MAX,
        needs_layers=False,
        advice="split or slim this layer; download big data at runtime or use a volume",
    ),
    RuleSpec(
        "maxLayerCount",
        "layer count",
        Unit.COUNT,
        Bound.MAX,
        needs_layers=False,
        advice="merge RUN steps with && and copy build outputs in one COPY",
    ),
    RuleSpec(
        "minEfficiency",
        "efficiency",
        Unit.RATIO,
        Bound.MIN,
        needs_layers=True,
        advice="do not rewrite or delete in a later layer what an earlier layer added",
    ),
    RuleSpec(
        "maxWastedBytes",
        "wasted bytes",
        Unit.UNCOMPRESSED_BYTES,
        Bound.MAX,
        needs_layers=True,
        advice="do not rewrite or delete in a later layer what an earlier layer added",
    ),
    RuleSpec(
        "maxUserWastedPercent",
        "wasted share of user layers",
        Unit.RATIO,
        Bound.MAX,
        needs_layers=True,
        advice="do not rewrite or delete in a later layer what an earlier layer added",
    ),
    RuleSpec(
        "maxHiddenBytes",
        "hidden bytes (shipped, then deleted)",
        Unit.UNCOMPRESSED_BYTES,
        Bound.MAX,
        needs_layers=True,
        advice="delete files in the same RUN that created them, or use a multi-stage build",
    ),
)

_CATEGORY_ADVICE: Final = {
    Category.BUILD_TOOLS: "use a multi-stage build so that build tools stay in the builder stage",
    Category.PACKAGE_CACHE: "clean package caches in the same RUN that fills them",
    Category.DEV_LEFTOVERS: "add a .dockerignore and install production dependencies only",
    Category.SECRETS: "remove the secret from the image, rotate it, and mount it at runtime",
    Category.RUNTIME_TOOLS: "use a distroless or scratch runtime image",
    Category.HEAVY_BASE: "use a slim, alpine or distroless variant of the base image",
}

_CATEGORY_NEEDS_LAYERS: Final = frozenset({Category.SECRETS, Category.RUNTIME_TOOLS})
"""Categories the image config's history cannot tell anything about."""

RULE_SPECS: Final[dict[str, RuleSpec]] = {spec.id: spec for spec in _SPECS} | {
    category.value: RuleSpec(
        category.value,
        category.value,
        None,
        None,
        needs_layers=category in _CATEGORY_NEEDS_LAYERS,
        category=category,
        advice=_CATEGORY_ADVICE[category],
    )
    for category in Category
}
"""Every rule id a policy or an exception may name."""

LIMIT_RULES: Final = tuple(spec.id for spec in _SPECS)
"""Rules with a limit, in report order."""

RULE_ALIASES: Final = {"heavyBase": Category.HEAVY_BASE.value}
"""Other names accepted for a rule id (the policy's ``heavyBase`` block)."""


def rule_spec(rule_id: str) -> RuleSpec | None:
    """The spec of a rule id or alias, or ``None`` for an unknown id."""
    return RULE_SPECS.get(RULE_ALIASES.get(rule_id, rule_id))
