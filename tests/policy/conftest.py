"""Shared pieces for the policy tests: a fixed 'today', contexts, layer reports, images."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from ballast.facts import ImageFacts
from ballast.policy import Context, Policy, Rule
from tests.policy.histories import make_facts

TODAY = dt.date(2026, 6, 15)


def cluster(
    namespace: str = "team-a",
    *,
    annotations: Mapping[str, str] | None = None,
    namespace_labels: Mapping[str, str] | None = None,
    pod_labels: Mapping[str, str] | None = None,
    today: dt.date = TODAY,
) -> Context:
    """A Deployment in a namespace, as the webhook would describe it."""
    return Context(
        today=today,
        namespace=namespace,
        namespace_labels=namespace_labels or {"kubernetes.io/metadata.name": namespace},
        pod_labels=pod_labels or {"app": "api"},
        annotations=annotations or {},
        kind="Deployment",
        name="api",
        operation="CREATE",
    )


CI = Context(today=TODAY)
"""``ballast check``: no namespace."""


@dataclass(frozen=True)
class FakeLayerFinding:
    category: str
    rule: str
    severity: str
    bytes: int
    paths: tuple[str, ...]
    layer: int
    layer_digest: str = ""
    created_by: str | None = None
    advice: str = "fix it"


@dataclass(frozen=True)
class FakeLayer:
    index: int
    digest: str
    uncompressed_bytes: int
    created_by: str | None = None


@dataclass(frozen=True)
class FakeHidden:
    path: str
    bytes: int
    shipped_by_layer: int
    removed_by_layer: int


@dataclass(frozen=True)
class FakeWasted:
    path: str
    count: int
    bytes: int


@dataclass(frozen=True)
class FakeReport:
    """A layer report with the attributes the policy reads (see layer_report.py)."""

    uncompressed_bytes: int = 100_000_000
    efficiency: float = 1.0
    wasted_bytes: int = 0
    user_wasted_percent: float = 0.0
    hidden_bytes: int = 0
    layers: tuple[FakeLayer, ...] = ()
    hidden: tuple[FakeHidden, ...] = ()
    inefficient_files: tuple[FakeWasted, ...] = ()
    findings: tuple[FakeLayerFinding, ...] = field(default_factory=tuple)


def sized_image(*layer_bytes: int, config_bytes: int = 1_000) -> ImageFacts:
    """An image whose layers have these compressed sizes (RUN steps, no history mistakes)."""
    steps: list[tuple[str, int | None]] = [
        (f"RUN /bin/sh -c echo step {n} # buildkit", size) for n, size in enumerate(layer_bytes)
    ]
    return make_facts(steps, config_bytes=config_bytes)


def only(*rules: Rule, **kwargs: object) -> Policy:
    """A policy with exactly these rules."""
    return Policy(rules=rules, name="test", **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def today() -> dt.date:
    return TODAY
