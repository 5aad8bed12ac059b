"""The layer report ballast.layers builds satisfies what the policy reads from it."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest

from ballast.policy import Action, Rule, Status, Verdict, evaluate
from ballast.policy.layer_report import (
    HiddenPathView,
    LayerFindingView,
    LayerReportView,
    LayerSizeView,
    WastedPathView,
)
from tests.policy.conftest import CI, only, sized_image

layers_report = pytest.importorskip("ballast.layers.report")
layers_finding = pytest.importorskip("ballast.layers.finding")

if TYPE_CHECKING:  # mypy checks the structural match when this file is type-checked
    from ballast.layers.finding import Finding as _Finding
    from ballast.layers.report import ImageLayerReport as _Report

    def _static(report: _Report, finding: _Finding) -> None:
        _view: LayerReportView = report
        _item: LayerFindingView = finding


def _members(protocol: type) -> list[str]:
    return [name for name in vars(protocol) if not name.startswith("_")]


def real_report() -> object:
    finding = layers_finding.Finding(
        category="package-cache",
        rule="apt-lists",
        severity="medium",
        bytes=45_000_000,
        paths=("/var/lib/apt/lists",),
        layer=1,
        layer_digest="sha256:" + "01" * 32,
        created_by="RUN /bin/sh -c apt-get update # buildkit",
        advice="run `rm -rf /var/lib/apt/lists/*` in the same RUN as `apt-get install`",
    )
    layer = layers_report.LayerReport(
        index=1,
        digest="sha256:" + "01" * 32,
        media_type="",
        compression="gzip",
        compressed_bytes=10,
        uncompressed_bytes=60_000_000,
        entries=1,
        added_bytes=0,
        modified_bytes=0,
        removed_bytes=0,
        hidden_bytes=0,
        created_by=None,
    )
    return layers_report.ImageLayerReport(
        layers=(layer,),
        uncompressed_bytes=60_000_000,
        compressed_bytes=10,
        visible_bytes=60_000_000,
        hidden_bytes=5_000_000,
        file_count=1,
        efficiency=0.95,
        wasted_bytes=32_025,
        user_size_bytes=66_237,
        user_wasted_percent=math.nan,
        inefficient_files=(layers_report.WastedPath("/root/saved.txt", 2, 12_810),),
        hidden=(layers_report.HiddenPath("/var/lib/apt/lists", 5_000_000, 3, 1, 2, "deleted"),),
        largest_files=(),
        packages=(),
        findings=(finding,),
    )


def test_every_attribute_the_policy_reads_exists_on_the_real_report() -> None:
    report = real_report()
    for name in _members(LayerReportView):
        assert hasattr(report, name), name
    for protocol, items in (
        (LayerFindingView, report.findings),  # type: ignore[attr-defined]
        (LayerSizeView, report.layers),  # type: ignore[attr-defined]
        (HiddenPathView, report.hidden),  # type: ignore[attr-defined]
        (WastedPathView, report.inefficient_files),  # type: ignore[attr-defined]
    ):
        for name in _members(protocol):
            assert hasattr(items[0], name), (protocol.__name__, name)


def test_a_real_report_is_judged() -> None:
    policy = only(
        Rule("maxUncompressedSize", limit=50_000_000, action=Action.ENFORCE),
        Rule("maxHiddenBytes", limit=1_000_000),
        Rule("maxUserWastedPercent", limit=0.1),
        Rule("package-cache"),
    )
    verdict = evaluate(sized_image(1, 2), real_report(), image="a/b:1", context=CI, policy=policy)  # type: ignore[arg-type]
    assert verdict.verdict is Verdict.DENY
    assert [f.status for f in verdict.findings] == [
        Status.FAIL,
        Status.FAIL,
        Status.PASS,  # NaN, as dive
        Status.FAIL,
    ]
    cache = verdict.findings[3]
    assert cache.savings_bytes == 45_000_000
    assert cache.where is not None and cache.where.layer_index == 1
