"""Each rule at its boundary, modes per rule, layer-fact rules skipped until layers are read."""

from __future__ import annotations

import math

import pytest

from ballast.policy import (
    Action,
    Category,
    Finding,
    Rule,
    Status,
    Unit,
    Verdict,
    evaluate,
)
from tests.policy.conftest import (
    CI,
    FakeHidden,
    FakeLayer,
    FakeLayerFinding,
    FakeReport,
    FakeWasted,
    cluster,
    only,
    sized_image,
)
from tests.policy.histories import make_facts

IMAGE = "ghcr.io/acme/api:1.4"


def judge(rule: Rule, facts=None, report=None, **policy_kwargs: object) -> Finding:  # type: ignore[no-untyped-def]
    verdict = evaluate(
        facts if facts is not None else sized_image(100),
        report,
        image=IMAGE,
        context=CI,
        policy=only(rule, **policy_kwargs),
    )
    assert len(verdict.findings) == 1
    return verdict.findings[0]


# (rule, limit, measured-at-limit facts/report builder) — equal passes, one more fails.
@pytest.mark.parametrize(
    ("rule_id", "limit", "at_limit", "over_limit"),
    [
        # compressed size counts the config blob too: 399,999,000 + 1,000
        ("maxCompressedSize", 400_000_000, sized_image(399_999_000), sized_image(399_999_001)),
        ("maxLayerSize", 1_000, sized_image(10, 1_000), sized_image(10, 1_001)),
        ("maxLayerCount", 3, sized_image(1, 1, 1), sized_image(1, 1, 1, 1)),
    ],
)
def test_manifest_rules_pass_at_the_limit_and_fail_above(
    rule_id: str,
    limit: int,
    at_limit,
    over_limit,  # type: ignore[no-untyped-def]
) -> None:
    passing = judge(Rule(rule_id, limit=limit), at_limit)
    failing = judge(Rule(rule_id, limit=limit), over_limit)
    assert passing.status is Status.PASS
    assert failing.status is Status.FAIL
    assert failing.measured is not None and failing.measured.value == limit + 1
    assert failing.limit is not None and failing.limit.value == limit
    assert failing.advice


@pytest.mark.parametrize(
    ("rule_id", "limit", "field", "at_limit", "bad"),
    [
        ("maxUncompressedSize", 1_000_000, "uncompressed_bytes", 1_000_000, 1_000_001),
        ("maxWastedBytes", 20_000_000, "wasted_bytes", 20_000_000, 20_000_001),
        ("maxHiddenBytes", 5_000, "hidden_bytes", 5_000, 5_001),
        ("minEfficiency", 0.9, "efficiency", 0.9, 0.8999),
        ("maxUserWastedPercent", 0.1, "user_wasted_percent", 0.1, 0.1001),
    ],
)
def test_layer_rules_pass_at_the_limit_and_fail_beyond(
    rule_id: str, limit: float, field: str, at_limit: float, bad: float
) -> None:
    passing = judge(Rule(rule_id, limit=limit), report=FakeReport(**{field: at_limit}))
    failing = judge(Rule(rule_id, limit=limit), report=FakeReport(**{field: bad}))
    assert passing.status is Status.PASS
    assert failing.status is Status.FAIL
    assert failing.measured is not None and failing.measured.value == bad


@pytest.mark.parametrize(
    "rule_id",
    [
        "maxUncompressedSize",
        "minEfficiency",
        "maxWastedBytes",
        "maxUserWastedPercent",
        "maxHiddenBytes",
    ],
)
def test_layer_rules_are_skipped_not_errors_until_layer_facts_are_cached(rule_id: str) -> None:
    finding = judge(Rule(rule_id, limit=0.5, action=Action.ENFORCE))
    assert finding.status is Status.SKIP
    assert "needs layer facts" in finding.message


def test_user_wasted_percent_nan_passes_like_dive_and_infinity_fails() -> None:
    rule = Rule("maxUserWastedPercent", limit=0.1)
    assert judge(rule, report=FakeReport(user_wasted_percent=math.nan)).status is Status.PASS
    assert judge(rule, report=FakeReport(user_wasted_percent=math.inf)).status is Status.FAIL


def test_sizes_say_whether_they_are_compressed_or_uncompressed() -> None:
    compressed = judge(Rule("maxCompressedSize", limit=10), sized_image(100))
    unpacked = judge(Rule("maxUncompressedSize", limit=10), report=FakeReport())
    assert compressed.measured is not None and compressed.measured.unit is Unit.COMPRESSED_BYTES
    assert unpacked.measured is not None and unpacked.measured.unit is Unit.UNCOMPRESSED_BYTES
    assert str(compressed.measured) == "1.1 kB compressed"  # 100 B layer + 1 kB config


def test_compressed_size_failure_names_the_biggest_layer_and_its_instruction() -> None:
    facts = make_facts(
        [
            ("# debian.sh --arch 'amd64' out/ 'bookworm' '@1719792000'", 49_000_000),
            (
                "RUN /bin/sh -c apt-get update && apt-get install -y build-essential "
                "&& rm -rf /var/lib/apt/lists/* # buildkit",
                301_700_000,
            ),
            ("COPY . /app # buildkit", 61_000_000),
        ]
    )
    finding = judge(Rule("maxCompressedSize", limit=400_000_000), facts)
    assert finding.status is Status.FAIL
    assert finding.where is not None
    assert finding.where.layer_index == 1
    assert finding.where.layer_bytes == 301_700_000
    assert "build-essential" in finding.where.created_by
    assert finding.message == "compressed size 411.7 MB > limit 400.0 MB"


def test_layer_size_reports_how_many_layers_are_over() -> None:
    finding = judge(Rule("maxLayerSize", limit=100), sized_image(150, 50, 300))
    assert finding.status is Status.FAIL
    assert finding.where is not None and finding.where.layer_index == 2
    assert "2 layers over the limit" in finding.message


def test_hidden_bytes_name_the_layer_that_shipped_and_the_one_that_removed() -> None:
    report = FakeReport(
        hidden_bytes=45_000_000,
        hidden=(
            FakeHidden("/var/lib/apt/lists", 45_000_000, shipped_by_layer=1, removed_by_layer=2),
        ),
    )
    finding = judge(Rule("maxHiddenBytes", limit=1_000), sized_image(1, 2, 3), report)
    assert finding.status is Status.FAIL
    assert finding.where is not None
    assert finding.where.layer_index == 1
    assert finding.where.paths == ("/var/lib/apt/lists",)
    assert "removed in layer 2" in finding.message
    assert finding.savings_bytes == 45_000_000


def test_wasted_bytes_point_at_the_inefficient_files() -> None:
    report = FakeReport(
        wasted_bytes=32_025,
        inefficient_files=(FakeWasted("/root/saved.txt", 2, 12_810),),
    )
    finding = judge(Rule("maxWastedBytes", limit=100), report=report)
    assert finding.where is not None and finding.where.paths == ("/root/saved.txt",)


def test_uncompressed_size_names_the_biggest_unpacked_layer() -> None:
    report = FakeReport(
        uncompressed_bytes=900,
        layers=(FakeLayer(0, "sha256:a", 100), FakeLayer(1, "sha256:b", 800)),
    )
    finding = judge(Rule("maxUncompressedSize", limit=500), sized_image(10, 20), report)
    assert finding.where is not None and finding.where.layer_index == 1


@pytest.mark.parametrize(
    ("mode", "rule_action", "expected"),
    [
        (Action.WARN, None, Verdict.WARN),
        (Action.ENFORCE, None, Verdict.DENY),
        (Action.AUDIT, None, Verdict.ALLOW),
        (Action.AUDIT, Action.ENFORCE, Verdict.DENY),
        (Action.ENFORCE, Action.WARN, Verdict.WARN),
        (Action.ENFORCE, Action.AUDIT, Verdict.ALLOW),
    ],
)
def test_the_rule_action_overrides_the_mode(
    mode: Action, rule_action: Action | None, expected: Verdict
) -> None:
    verdict = evaluate(
        sized_image(500),
        image=IMAGE,
        context=cluster(),
        policy=only(Rule("maxCompressedSize", limit=100, action=rule_action), mode=mode),
    )
    assert verdict.verdict is expected
    assert verdict.findings[0].status is Status.FAIL  # audit still records the failure


def test_the_worst_failing_rule_decides() -> None:
    policy = only(
        Rule("maxCompressedSize", limit=100, action=Action.WARN),
        Rule("maxLayerCount", limit=1, action=Action.ENFORCE),
        Rule("maxLayerSize", limit=1, action=Action.AUDIT),
    )
    verdict = evaluate(sized_image(500, 500), image=IMAGE, context=CI, policy=policy)
    assert verdict.verdict is Verdict.DENY
    assert [f.action for f in verdict.failures] == [Action.WARN, Action.ENFORCE, Action.AUDIT]
    assert verdict.failures_with(Action.ENFORCE)[0].rule == "maxLayerCount"


def test_a_passing_image_is_allowed_with_every_rule_recorded() -> None:
    policy = only(Rule("maxCompressedSize", limit=1_000_000), Rule("maxLayerCount", limit=10))
    verdict = evaluate(sized_image(100), image=IMAGE, context=CI, policy=policy)
    assert verdict.verdict is Verdict.ALLOW
    assert [(f.rule, f.status) for f in verdict.findings] == [
        ("maxCompressedSize", Status.PASS),
        ("maxLayerCount", Status.PASS),
    ]


def test_layer_findings_become_category_findings_with_savings() -> None:
    report = FakeReport(
        findings=(
            FakeLayerFinding(
                "package-cache",
                "apt-lists",
                "medium",
                45_000_000,
                ("/var/lib/apt/lists",),
                1,
                "sha256:b",
                "RUN apt-get update",
                "rm -rf /var/lib/apt/lists/* in the same RUN",
            ),
            FakeLayerFinding("secrets", "private-key", "high", 1_700, ("/app/id_rsa",), 2),
            FakeLayerFinding("weird", "x", "low", 1, (), 0),
        )
    )
    policy = only(Rule("package-cache"), Rule("secrets", action=Action.ENFORCE))
    verdict = evaluate(sized_image(1, 2, 3), report, image=IMAGE, context=CI, policy=policy)
    cache, secret = verdict.findings
    assert cache.category is Category.PACKAGE_CACHE
    assert cache.savings_bytes == 45_000_000
    assert cache.where is not None and cache.where.paths == ("/var/lib/apt/lists",)
    assert cache.message == "apt-lists: 45.0 MB in /var/lib/apt/lists"
    assert secret.status is Status.FAIL and secret.severity is not None
    assert secret.severity.value == "high"
    assert secret.savings_bytes is None and "1.7" not in secret.message
    assert verdict.verdict is Verdict.DENY


def test_categories_with_nothing_found_pass_and_secrets_wait_for_layers() -> None:
    policy = only(Rule("build-tools"), Rule("secrets"), Rule("runtime-tools"))
    without = evaluate(sized_image(1), image=IMAGE, context=CI, policy=policy)
    assert [f.status for f in without.findings] == [Status.PASS, Status.SKIP, Status.SKIP]
    with_layers = evaluate(sized_image(1), FakeReport(), image=IMAGE, context=CI, policy=policy)
    assert [f.status for f in with_layers.findings] == [Status.PASS] * 3


def test_a_hand_built_policy_with_an_unknown_rule_gives_an_error_finding_not_a_crash() -> None:
    verdict = evaluate(
        sized_image(1), image=IMAGE, context=CI, policy=only(Rule("maxSize", limit=1))
    )
    assert verdict.findings[0].status is Status.ERROR
    assert verdict.verdict is Verdict.ALLOW


def test_a_report_with_nonsense_values_gives_an_error_finding() -> None:
    report = FakeReport(efficiency="high")  # type: ignore[arg-type]
    finding = judge(Rule("minEfficiency", limit=0.9), report=report)
    assert finding.status is Status.ERROR
    assert "could not be evaluated" in finding.message
