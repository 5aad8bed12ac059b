"""ballast check output: human text, the --json document (camelCase), Markdown for PRs."""

from __future__ import annotations

import json
import math
import re

from ballast.policy import (
    EXCEPTION_ANNOTATION,
    Action,
    Rule,
    decide,
    decision_to_json,
    evaluate,
    format_markdown,
    format_text,
)
from tests.policy import histories as h
from tests.policy.conftest import CI, FakeLayerFinding, FakeReport, cluster, only
from tests.policy.histories import make_facts

FACTS = make_facts(
    [
        (h.DEBIAN_ROOTFS, 49_550_000),
        (
            "RUN /bin/sh -c apt-get update && apt-get install -y gcc | tee log # buildkit",
            301_700_000,
        ),
        ("COPY . /app # buildkit", 61_000_000),
    ]
)
POLICY = only(
    Rule("maxCompressedSize", limit=400_000_000, action=Action.ENFORCE),
    Rule("maxUserWastedPercent", limit=0.1),
    Rule("build-tools", action=Action.WARN),
    Rule("secrets"),
)


def decision():  # type: ignore[no-untyped-def]
    bloated = evaluate(
        FACTS,
        FakeReport(
            user_wasted_percent=math.nan,
            findings=(
                FakeLayerFinding(
                    "build-tools", "compiler", "medium", 68_000_000, ("/usr/lib/gcc",), 1
                ),
            ),
        ),
        image="ghcr.io/acme/api:1.4",
        context=cluster(
            annotations={EXCEPTION_ANNOTATION: "rule: secrets\njustification: fixture key"}
        ),
        policy=POLICY,
    )
    exempt = evaluate(FACTS, image="nginx:1.27", context=cluster("kube-system"), policy=POLICY)
    return decide([bloated, exempt], workload="Deployment team-a/api")


def test_json_document_is_camel_case_with_units_and_no_nan() -> None:
    document = decision_to_json(decision())
    text = json.dumps(document, allow_nan=False)  # NaN would raise
    assert "NaN" not in text
    assert document["verdict"] == "deny"
    assert document["summary"] == {"images": 2, "denied": 1, "warned": 0, "allowed": 1}
    first = document["images"][0]
    assert first["digest"] == FACTS.digest
    assert first["layersRead"] is True
    size = first["findings"][0]
    assert size == {
        "rule": "maxCompressedSize",
        "status": "fail",
        "action": "enforce",
        "message": "compressed size 412.3 MB > limit 400.0 MB",
        "measured": {"value": 412_257_000, "unit": "bytes", "sizeKind": "compressed"},
        "limit": {"value": 400_000_000, "unit": "bytes", "sizeKind": "compressed"},
        "where": {
            "layerIndex": 1,
            "layerDigest": FACTS.layers[1].digest,
            "layerCompressedSize": 301_700_000,
            "paths": [],
            "createdBy": FACTS.layers[1].created_by,
        },
        "advice": "slim the biggest layer: slim/distroless base, multi-stage build, clean caches",
        "savingsBytes": None,
        "category": None,
        "severity": None,
        "detail": None,
        "exception": None,
    }
    assert first["findings"][2]["savingsBytes"] == 68_000_000
    assert first["findings"][2]["measured"]["sizeKind"] == "uncompressed"
    wasted = first["findings"][1]
    assert wasted["measured"] == {"value": None, "unit": "ratio"}
    assert first["exceptions"][0]["rules"] == ["secrets"]
    assert first["exceptions"][0]["appliedTo"] == []
    assert document["images"][1]["exempt"].startswith("namespace kube-system is exempt")


def test_text_shows_failures_with_where_and_fix() -> None:
    text = format_text(decision())
    lines = text.splitlines()
    assert lines[0] == f"DENY  ghcr.io/acme/api:1.4  {FACTS.digest[:19]}"
    assert lines[1] == "  fail   enforce maxCompressedSize 412.3 MB > 400.0 MB"
    assert lines[2].startswith("                 layer 1 (301.7 MB): RUN apt-get update")
    assert "fix: slim the biggest layer" in lines[3]
    assert "  fail   warn    build-tools: compiler: 68.0 MB in /usr/lib/gcc" in text
    assert "fix: fix it (saves 68.0 MB)" in text
    assert "exception #1 (secrets): nothing to waive; fixture key" in text
    assert "ALLOW nginx:1.27" in text and "not judged: namespace kube-system" in text
    assert lines[-1] == "2 images: 1 denied, 0 warned, 1 allowed"
    assert "pass" not in text.split("\n", 1)[1].split("ALLOW")[0].split()  # passes hidden
    assert "  pass   warn    maxUserWastedPercent n/a ≤ 0.1" in format_text(
        decision(), verbose=True
    )


def test_markdown_has_a_summary_table_and_escapes_pipes() -> None:
    markdown = format_markdown(decision())
    assert markdown.startswith("### ballast image policy: ❌ deny\n")
    assert "| `ghcr.io/acme/api:1.4` | ❌ deny | build-tools, maxCompressedSize |" in markdown
    assert "| `nginx:1.27` | ✅ allow | namespace kube-system is exempt" in markdown
    assert "<details><summary>ghcr.io/acme/api:1.4: 2 findings</summary>" in markdown
    table_rows = [line for line in markdown.splitlines() if line.startswith("| fail")]
    assert len(table_rows) == 2
    assert "\\| tee log" in markdown  # the pipe inside the instruction is escaped
    for row in table_rows:
        assert len(re.findall(r"(?<!\\)\|", row)) == 8  # 7 columns


def test_a_passing_check_is_short() -> None:
    passing = decide(
        [
            evaluate(
                make_facts([("RUN /bin/sh -c true", 10)]),
                image="a/b:1",
                context=CI,
                policy=only(Rule("maxLayerCount", limit=5)),
            )
        ]
    )
    assert (
        format_text(passing)
        == f"ALLOW a/b:1  {make_facts([]).digest[:19]}\n1 image: 0 denied, 0 warned, 1 allowed"
    )
    assert format_markdown(passing).startswith("### ballast image policy: ✅ allow")
    assert decision_to_json(passing)["verdict"] == "allow"
