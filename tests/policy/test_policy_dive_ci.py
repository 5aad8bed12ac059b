"""dive's CI rule files read as policies, judged on dive's own numbers for its test image."""

from __future__ import annotations

from pathlib import Path

import pytest

from ballast import PolicyError
from ballast.policy import Action, Status, Verdict, evaluate, load_dive_ci
from tests.policy.conftest import CI, FakeReport, sized_image

FIXTURES = Path("/work/shared/fixtures/dive")
MULTI = FIXTURES / "image-multi-layer-dockerfile"

# dive 0.13.1 on test-docker-image.tar (fixtures README)
DIVE_TEST_IMAGE = FakeReport(
    uncompressed_bytes=1_220_598,
    efficiency=0.9844212134184309,
    wasted_bytes=32_025,
    user_wasted_percent=0.4834911001404049,
)

needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(), reason="dive fixtures not present")


def limits(text: str) -> dict[str, float]:
    return {r.id: r.limit for r in load_dive_ci(text).rules}  # type: ignore[misc]


@needs_fixtures
def test_dive_pass_yaml() -> None:
    policy = load_dive_ci((MULTI / "dive-pass.yaml").read_text(), source="dive-pass.yaml")
    assert {r.id: r.limit for r in policy.rules} == {
        "minEfficiency": 0.10,
        "maxWastedBytes": 20_000_000,
        "maxUserWastedPercent": 0.90,
    }
    assert {r.action for r in policy.rules} == {Action.ENFORCE}
    verdict = evaluate(sized_image(1), DIVE_TEST_IMAGE, image="test", context=CI, policy=policy)
    assert verdict.verdict is Verdict.ALLOW
    assert [f.status for f in verdict.findings] == [Status.PASS] * 3


@needs_fixtures
def test_dive_fail_yaml_fails_on_dives_default_user_wasted_percent() -> None:
    policy = load_dive_ci((MULTI / "dive-fail.yaml").read_text(), source="dive-fail.yaml")
    assert {r.id: r.limit for r in policy.rules} == {
        "minEfficiency": 0.9,
        "maxUserWastedPercent": 0.1,  # dive's default; highestWastedBytes defaults to disabled
    }
    verdict = evaluate(sized_image(1), DIVE_TEST_IMAGE, image="test", context=CI, policy=policy)
    assert verdict.verdict is Verdict.DENY
    assert [(f.rule, f.status) for f in verdict.findings] == [
        ("minEfficiency", Status.PASS),
        ("maxUserWastedPercent", Status.FAIL),
    ]


@needs_fixtures
def test_dives_own_dive_ci_file() -> None:
    policy = load_dive_ci((FIXTURES / ".dive-ci").read_text())
    assert {r.id: r.limit for r in policy.rules} == {
        "minEfficiency": 0.95,
        "maxWastedBytes": 20_000_000,  # "20Mb", as go-humanize reads it
        "maxUserWastedPercent": 0.5,
    }
    assert policy.notes == (
        "dive plugins are not supported; their rules are ignored",
        "ignored unknown rule 'plugin1/rule1'",
        "dive's rules need layer facts: they are skipped unless the layers are read",
    )


def test_without_layer_facts_a_check_says_the_rules_were_not_evaluated() -> None:
    from ballast.policy import decide, format_markdown, format_text

    policy = load_dive_ci("rules: {lowestEfficiency: 0.95}")
    verdict = evaluate(sized_image(1), None, image="a/b:1", context=CI, policy=policy)
    assert verdict.verdict is Verdict.ALLOW
    assert {f.status for f in verdict.findings} == {Status.SKIP}
    text = format_text(decide([verdict]))
    assert "skip   2 rule(s) need layer facts: minEfficiency, maxUserWastedPercent" in text
    markdown = format_markdown(decide([verdict]))
    assert "not evaluated (need layer facts): minEfficiency, maxUserWastedPercent" in markdown


def test_missing_rules_get_dives_defaults() -> None:
    assert limits("") == {"minEfficiency": 0.9, "maxUserWastedPercent": 0.1}
    assert limits("rules: {}") == {"minEfficiency": 0.9, "maxUserWastedPercent": 0.1}


@pytest.mark.parametrize("off", ["disabled", "off", "false", "''", "Disabled", "", "no-such"])
def test_disabled_values_switch_a_rule_off(off: str) -> None:
    text = f"rules:\n  lowestEfficiency: {off}\n  highestUserWastedPercent: disabled\n"
    if off == "no-such":
        with pytest.raises(PolicyError, match="rules.lowestEfficiency: 'no-such' is not a number"):
            load_dive_ci(text)
    else:
        assert limits(text) == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("20MB", 20_000_000), ("20MiB", 20_971_520), ("20Mb", 20_000_000), ("1000", 1000), (512, 512)],
)
def test_wasted_bytes_sizes(value: object, expected: int) -> None:
    assert limits(f"rules: {{highestWastedBytes: {value}}}")["maxWastedBytes"] == expected


def test_every_bad_value_is_reported_at_once() -> None:
    with pytest.raises(PolicyError) as caught:
        load_dive_ci("rules:\n  lowestEfficiency: high\n  highestWastedBytes: lots\n")
    assert caught.value.problems == [
        "rules.lowestEfficiency: 'high' is not a number, nor disabled",
        "rules.highestWastedBytes: 'lots' is not a size (20MB, 20MiB or bytes), nor disabled",
    ]


def test_not_a_mapping() -> None:
    with pytest.raises(PolicyError):
        load_dive_ci("- a\n")
    with pytest.raises(PolicyError):
        load_dive_ci("rules: [1]\n")
    with pytest.raises(PolicyError):
        load_dive_ci("rules: {a: [\n")
