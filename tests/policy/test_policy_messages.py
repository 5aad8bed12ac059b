"""What users read: admission warnings (short, bounded) and the deny message (complete)."""

from __future__ import annotations

import datetime as dt

from ballast.policy import (
    EXCEPTION_ANNOTATION,
    Action,
    Rule,
    Verdict,
    decide,
    deny_message,
    evaluate,
    load_policy,
    unavailable,
    warnings_for,
)
from ballast.policy.message import MAX_WARNING_CHARS, short_image, short_instruction
from tests.policy import histories as h
from tests.policy.conftest import TODAY, FakeLayerFinding, FakeReport, cluster, only
from tests.policy.histories import make_facts

BLOATED = make_facts(
    [
        (h.DEBIAN_ROOTFS, 49_550_000),
        (
            "RUN /bin/sh -c apt-get update && apt-get install -y build-essential "
            "python3-dev libpq-dev # buildkit",
            301_700_000,
        ),
        ("COPY . /app # buildkit", 61_000_000),
        ("RUN /bin/sh -c pip install -r /app/requirements.txt # buildkit", 90_000_000),
    ]
)
REPORT = FakeReport(
    findings=(
        FakeLayerFinding(
            "secrets",
            "private-key",
            "high",
            1_675,
            ("/app/deploy/id_rsa",),
            2,
            created_by="COPY . /app # buildkit",
            advice="remove the key, rotate it, and add it to .dockerignore",
        ),
    )
)
IMAGE = "registry.example.com/team/api:1.4"


def bloated_verdict(report=REPORT, **context_kwargs: object):  # type: ignore[no-untyped-def]
    policy = load_policy(
        """
        apiVersion: ballast.dev/v1
        kind: Policy
        spec:
          mode: warn
          rules:
            maxCompressedSize: {limit: 400MB, action: enforce}
            maxLayerCount: {limit: 2}
            findings:
              build-tools: warn
              package-cache: warn
              dev-leftovers: warn
              secrets: enforce
        """
    )
    return evaluate(BLOATED, report, image=IMAGE, context=cluster(**context_kwargs), policy=policy)  # type: ignore[arg-type]


def test_short_forms() -> None:
    assert short_image("docker.io/library/nginx:1.27") == "nginx:1.27"
    assert short_image("nginx@sha256:" + "a" * 64) == "nginx@sha256:aaaaaaaaaaaa"
    assert short_instruction(h.PYTHON_SLIM_RUNTIME_DEPS, 60) == (
        "RUN set -eux; apt-get update; apt-get install -y --no-insta…"
    )


def test_deny_message_names_image_rule_measured_limit_layer_and_fix() -> None:
    verdict = bloated_verdict()
    assert verdict.verdict is Verdict.DENY
    message = deny_message(decide([verdict], workload="Deployment team-a/api"))
    lines = message.splitlines()
    assert lines[0] == "ballast denied Deployment team-a/api: 1 of 1 image breaks the image policy"
    assert lines[1] == f"- registry.example.com/team/api:1.4 ({BLOATED.digest[:19]})"
    assert lines[2] == (
        "  - maxCompressedSize 502.3 MB > 400.0 MB (compressed); layer 1 (301.7 MB): "
        "RUN apt-get update && apt-get install -y build-essential python3-dev libpq-dev"
    )
    assert lines[3].startswith("    fix: slim the biggest layer")
    assert lines[4] == (
        "  - secrets: private-key in /app/deploy/id_rsa; layer 2 (61.0 MB): COPY . /app"
    )
    assert lines[5] == "    fix: remove the key, rotate it, and add it to .dockerignore"
    assert lines[6].startswith(
        f"To request an exception, annotate the workload: {EXCEPTION_ANNOTATION}: "
    )
    assert '"rules": ["maxCompressedSize", "secrets"]' in lines[6]
    # warned rules are warnings, not part of the denial
    assert "build-tools" not in message


def test_deny_message_is_empty_when_nothing_is_denied_and_bounded_otherwise() -> None:
    small = evaluate(
        make_facts([("RUN /bin/sh -c true", 1)]),
        image="a/b:1",
        context=cluster(),
        policy=only(Rule("maxLayerCount", limit=5, action=Action.ENFORCE)),
    )
    assert deny_message(decide([small])) == ""
    many = [
        evaluate(
            make_facts([("RUN /bin/sh -c true", 1)] * 3),
            image=f"ghcr.io/acme/app{n}:1",
            context=cluster(),
            policy=only(Rule("maxLayerCount", limit=1, action=Action.ENFORCE)),
        )
        for n in range(15)
    ]
    message = deny_message(decide(many))
    assert "15 of 15 images" in message
    assert "- … and 5 more images" in message
    assert len(message) < 4000


def test_failure_mode_deny_explains_itself() -> None:
    policy = load_policy("apiVersion: ballast.dev/v1\nkind: Policy\nspec: {failureMode: deny}\n")
    verdict = unavailable(IMAGE, context=cluster(), policy=policy, reason="registry timed out")
    assert verdict.verdict is Verdict.DENY
    message = deny_message(decide([verdict]))
    assert "facts not available in time (registry timed out); failureMode deny" in message


def test_warnings_are_short_and_bounded() -> None:
    verdict = bloated_verdict(report=None)  # history findings only
    warnings = warnings_for(verdict)
    assert warnings
    assert all(len(w) <= MAX_WARNING_CHARS for w in warnings)
    assert all("\n" not in w for w in warnings)
    assert warnings[0] == (
        "maxLayerCount 4 > 2; merge RUN steps with && and copy build outputs in one COPY"
    )
    assert any(
        w.startswith("build-tools: build-essential, python3-dev, libpq-dev installed and kept")
        for w in warnings
    )
    # enforced failures belong to the deny message
    assert not any(w.startswith(("maxCompressedSize", "secrets")) for w in warnings)

    bounded = warnings_for(verdict, max_items=2)
    assert len(bounded) == 2
    assert bounded[1].startswith("… and ")
    assert warnings_for(verdict, max_items=0) == []


def test_warnings_for_several_images_name_the_image() -> None:
    one = bloated_verdict()
    two = evaluate(
        make_facts([("RUN /bin/sh -c true", 1)] * 5),
        image="ghcr.io/acme/very/long/path/to/a/worker-image-name:2024.11.05-build.1234",
        context=cluster(),
        policy=only(Rule("maxLayerCount", limit=2)),
    )
    warnings = warnings_for(decide([one, two]), max_items=50)
    assert all(len(w) <= MAX_WARNING_CHARS for w in warnings)
    assert any(w.startswith("ghcr.io/acme/very/long/path") for w in warnings)
    assert any(w.startswith("registry.example.com/team/api:1.4: maxLayerCount") for w in warnings)


def test_ignored_and_expiring_exceptions_are_warned_once() -> None:
    annotation = (
        "- {rules: [maxCompressedSize], justification: ML weights, expires: 2026-06-20}\n"
        "- {rules: [secrets]}\n"
    )
    verdict = bloated_verdict(annotations={EXCEPTION_ANNOTATION: annotation})
    warnings = warnings_for(decide([verdict, verdict]), max_items=50)
    assert (
        warnings.count(
            f"{EXCEPTION_ANNOTATION} ignored: "
            "exception #2 has no justification; say why it is needed"
        )
        == 1
    )
    assert "exception #1 for maxCompressedSize expires in 5 days (2026-06-20)" in warnings


def test_failure_mode_warn_says_the_image_was_not_checked() -> None:
    policy = load_policy("apiVersion: ballast.dev/v1\nkind: Policy\n")
    verdict = unavailable(IMAGE, context=cluster(), policy=policy, reason="registry timed out")
    assert verdict.verdict is Verdict.WARN
    assert warnings_for(verdict) == [
        "registry.example.com/team/api:1.4: not checked (registry timed out); failureMode warn"
    ]
    quiet = load_policy("apiVersion: ballast.dev/v1\nkind: Policy\nspec: {failureMode: allow}\n")
    allowed = unavailable(IMAGE, context=cluster(), policy=quiet, reason="registry timed out")
    assert allowed.verdict is Verdict.ALLOW
    assert allowed.failure == "registry timed out"  # recorded for metrics and reports
    assert warnings_for(allowed) == []


def test_a_very_long_everything_is_cut_at_120() -> None:
    long_image = "registry.example.com/" + "/".join(["segment"] * 20) + ":tag"
    verdict = evaluate(
        make_facts([("RUN /bin/sh -c " + "x" * 500, 10)] * 3),
        image=long_image,
        context=cluster(),
        policy=only(Rule("maxLayerCount", limit=1)),
    )
    other = evaluate(
        make_facts([("RUN /bin/sh -c true", 1)] * 3),
        image="b/c:1",
        context=cluster(today=TODAY + dt.timedelta(days=1)),
        policy=only(Rule("maxLayerCount", limit=1)),
    )
    for warning in warnings_for(decide([verdict, other])):
        assert len(warning) <= MAX_WARNING_CHARS
