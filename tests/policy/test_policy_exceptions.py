"""Exceptions: the ballast.dev/exception annotation, honoured, ignored with a reason, recorded."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ballast.policy import (
    EXCEPTION_ANNOTATION,
    Action,
    Rule,
    Status,
    Unit,
    Verdict,
    evaluate,
    parse_exceptions,
)
from tests.policy.conftest import TODAY, FakeLayerFinding, FakeReport, cluster, only, sized_image

BIG = sized_image(600_000_000)
ENFORCED = only(
    Rule("maxCompressedSize", limit=400_000_000, action=Action.ENFORCE),
    Rule("maxLayerCount", limit=10, action=Action.ENFORCE),
)


def judged(annotation: str, *, image: str = "ghcr.io/acme/model:2", policy=ENFORCED, report=None):  # type: ignore[no-untyped-def]
    context = cluster(annotations={EXCEPTION_ANNOTATION: annotation})
    return evaluate(BIG, report, image=image, context=context, policy=policy)


def test_a_justified_waiver_allows_and_is_recorded() -> None:
    verdict = judged(
        "rules: [maxCompressedSize]\n"
        "justification: model weights are baked in until PLAT-142\n"
        "expires: 2026-12-31\n"
    )
    assert verdict.verdict is Verdict.ALLOW
    size = verdict.findings[0]
    assert size.status is Status.WARN  # waived: reported, not counted
    assert size.exception == 0
    (honoured,) = verdict.exceptions
    assert honoured.rules == ("maxCompressedSize",)
    assert honoured.justification == "model weights are baked in until PLAT-142"
    assert honoured.expires == dt.date(2026, 12, 31)
    assert honoured.applied_to == ("maxCompressedSize",)
    assert honoured.days_left == (dt.date(2026, 12, 31) - TODAY).days
    assert verdict.ignored_exceptions == ()


def test_json_and_a_list_are_accepted() -> None:
    annotation = json.dumps(
        [
            {"rule": "maxLayerCount", "justification": "vendor image"},
            {"rules": ["maxCompressedSize"], "justification": "ML", "expires": "2026-07-01"},
        ]
    )
    verdict = judged(annotation)
    assert [e.index for e in verdict.exceptions] == [0, 1]
    assert verdict.exceptions[1].applied_to == ("maxCompressedSize",)
    assert verdict.exceptions[0].applied_to == ()  # the layer count passed anyway


def test_an_expired_exception_is_ignored_with_the_date() -> None:
    verdict = judged("rule: maxCompressedSize\njustification: temporary\nexpires: 2026-06-14\n")
    assert verdict.verdict is Verdict.DENY
    (ignored,) = verdict.ignored_exceptions
    assert ignored.reason == "exception #1 expired on 2026-06-14"
    assert ignored.rules == ("maxCompressedSize",)


def test_an_exception_is_valid_through_its_expiry_day() -> None:
    verdict = judged("rule: maxCompressedSize\njustification: temporary\nexpires: 2026-06-15\n")
    assert verdict.verdict is Verdict.ALLOW
    assert verdict.exceptions[0].days_left == 0


@pytest.mark.parametrize(
    ("annotation", "reason"),
    [
        ("rule: maxCompressedSize\n", "exception #1 has no justification; say why it is needed"),
        ("rule: maxCompressedSize\njustification: '   '\n", "exception #1 has no justification"),
        ("justification: because\n", "exception #1 names no rule (rules: [maxCompressedSize])"),
        ("rules: [maxSize]\njustification: x\n", "exception #1 names unknown rule(s) maxSize"),
        (
            "rule: maxCompressedSize\njustfication: x\n",
            "exception #1 has unknown field(s): justfication",
        ),
        (
            "rule: maxCompressedSize\nrules: [x]\njustification: x\n",
            "exception #1 gives both rule and rules",
        ),
        (
            "rule: maxCompressedSize\njustification: x\nexpires: soon\n",
            "exception #1 expiry 'soon' is not a date",
        ),
        (
            "rule: maxCompressedSize\njustification: x\nlimit: 4OOMB\n",
            "exception #1 '4OOMB' is not a size",
        ),
        (
            "rule: build-tools\njustification: x\nlimit: 1GB\n",
            "exception #1 gives a limit, but build-tools has none",
        ),
        (
            "rules: [maxCompressedSize, maxLayerCount]\njustification: x\nlimit: 1GB\n",
            "exception #1 gives a limit for more than one rule",
        ),
        (
            "rule: maxLayerCount\njustification: x\nlimit: 2.5\n",
            "exception #1 limit 2.5 is not a whole number of layers",
        ),
        (
            "rule: maxCompressedSize\njustification: x\nimages: {a: 1}\n",
            "exception #1 images must be a glob or a list",
        ),
        ("- 42\n", "exception #1 is not an object with rules and a justification"),
        ("{rules: [maxCompressedSize", "not valid YAML or JSON at line 1"),
        ("just a sentence", "expected an object or a list of objects"),
        ("", "the annotation is empty"),
        (
            "rule: maxCompressedSize\njustification: x\nexpires: 2026-02-30\n",
            "not valid YAML or JSON",
        ),
    ],
)
def test_malformed_exceptions_are_ignored_with_a_reason_never_a_crash(
    annotation: str, reason: str
) -> None:
    verdict = judged(annotation)
    assert verdict.verdict is Verdict.DENY
    assert verdict.exceptions == ()
    assert len(verdict.ignored_exceptions) == 1
    assert verdict.ignored_exceptions[0].reason.startswith(reason)


def test_one_bad_exception_does_not_spoil_the_others() -> None:
    verdict = judged(
        "- {rule: maxCompressedSize}\n"
        "- {rule: maxCompressedSize, justification: 'ML team, PLAT-9'}\n"
    )
    assert verdict.verdict is Verdict.ALLOW
    assert [i.index for i in verdict.ignored_exceptions] == [0]
    assert [e.index for e in verdict.exceptions] == [1]


def test_a_raised_limit_relaxes_the_rule_instead_of_waiving_it() -> None:
    within = judged("rule: maxCompressedSize\njustification: ML\nlimit: 700MB\n")
    assert within.verdict is Verdict.ALLOW
    size = within.findings[0]
    assert size.status is Status.PASS
    assert size.limit is not None and size.limit.value == 700_000_000
    assert size.exception == 0
    assert within.exceptions[0].limit is not None
    assert within.exceptions[0].limit.unit is Unit.COMPRESSED_BYTES
    assert within.exceptions[0].applied_to == ("maxCompressedSize",)

    still_too_big = judged("rule: maxCompressedSize\njustification: ML\nlimit: 500MiB\n")
    assert still_too_big.verdict is Verdict.DENY
    assert still_too_big.findings[0].limit is not None
    assert still_too_big.findings[0].limit.value == 524_288_000
    assert still_too_big.exceptions[0].applied_to == ()


def test_a_lower_limit_in_an_exception_never_tightens_the_policy() -> None:
    verdict = judged("rule: maxLayerCount\njustification: x\nlimit: 0\n")
    count = verdict.findings[1]
    assert count.status is Status.PASS and count.limit is not None and count.limit.value == 10


def test_min_efficiency_exception_lowers_the_threshold() -> None:
    policy = only(Rule("minEfficiency", limit=0.9, action=Action.ENFORCE))
    verdict = judged(
        "rule: minEfficiency\njustification: legacy\nlimit: 0.5\n",
        policy=policy,
        report=FakeReport(efficiency=0.7),
    )
    assert verdict.verdict is Verdict.ALLOW
    assert verdict.findings[0].exception == 0


def test_an_image_glob_limits_the_exception_to_some_images() -> None:
    annotation = "rule: maxCompressedSize\njustification: ML\nimages: ghcr.io/acme/model:*\n"
    assert judged(annotation, image="ghcr.io/acme/model:2").verdict is Verdict.ALLOW
    other = judged(annotation, image="ghcr.io/acme/api:1")
    assert other.verdict is Verdict.DENY
    assert other.exceptions == () and other.ignored_exceptions == ()


def test_category_waivers_and_heavy_base_alias() -> None:
    policy = only(Rule("secrets", action=Action.ENFORCE), Rule("heavy-base", action=Action.ENFORCE))
    report = FakeReport(
        findings=(FakeLayerFinding("secrets", "dotenv", "high", 90, ("/app/.env",), 0),)
    )
    verdict = judged(
        "- rules: [secrets]\n  justification: test fixture key, not a real secret\n"
        "- rules: [heavyBase]\n  justification: vendor base\n",
        image="python:3.12",
        policy=policy,
        report=report,
    )
    assert verdict.verdict is Verdict.ALLOW
    assert [f.status for f in verdict.findings] == [Status.WARN, Status.WARN]
    assert verdict.exceptions[1].rules == ("heavy-base",)


def test_parse_exceptions_is_pure_and_ignores_absent_annotations() -> None:
    assert parse_exceptions({}, today=TODAY) == ((), ())
    valid, ignored = parse_exceptions(
        {
            EXCEPTION_ANNOTATION: (
                "rule: maxCompressedSize\njustification: x\nexpires: 2026-06-01T00:00:00Z\n"
            )
        },
        today=dt.date(2026, 5, 1),
    )
    assert valid[0].expires == dt.date(2026, 6, 1) and ignored == ()


def test_huge_or_very_long_annotations_are_ignored_unread() -> None:
    valid, ignored = parse_exceptions({EXCEPTION_ANNOTATION: "a" * 100_000}, today=TODAY)
    assert valid == () and "the limit is" in ignored[0].reason
    many = json.dumps([{"rule": "maxLayerCount", "justification": "x"}] * 60)
    valid, ignored = parse_exceptions({EXCEPTION_ANNOTATION: many}, today=TODAY)
    assert len(valid) == 50 and ignored[-1].reason == "only the first 50 exceptions are read"
