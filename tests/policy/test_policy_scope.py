"""Scope: namespaces by name and labels, pod labels, image globs, built-in exemptions."""

from __future__ import annotations

import textwrap

import pytest

from ballast.policy import (
    LabelOperator,
    LabelRequirement,
    LabelSelector,
    Rule,
    Status,
    Verdict,
    evaluate,
    load_policy,
)
from ballast.policy.scope import (
    glob_matches,
    image_candidates,
    image_matches,
    normalize_image_pattern,
    selector_matches,
)
from tests.policy.conftest import CI, cluster, sized_image

BIG = sized_image(500_000_000)


def policy(scope_yaml: str, rules: str = "maxCompressedSize: {limit: 400MB}"):  # type: ignore[no-untyped-def]
    text = textwrap.dedent(
        """
        apiVersion: ballast.dev/v1
        kind: Policy
        spec:
          mode: enforce
          scope:
        {scope}
          rules:
            {rules}
        """
    ).format(scope=textwrap.indent(textwrap.dedent(scope_yaml), "    "), rules=rules)
    return load_policy(text)


def verdict_for(pol, *, image: str = "ghcr.io/acme/api:1.4", context=None):  # type: ignore[no-untyped-def]
    return evaluate(BIG, image=image, context=context or cluster(), policy=pol)


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("docker.io/library/*", "docker.io/library/nginx:1.27", True),
        ("docker.io/library/*", "docker.io/bitnami/nginx:1.27", False),
        ("docker.io/*", "docker.io/library/nginx:1.27", False),
        ("docker.io/**", "docker.io/library/nginx:1.27", True),
        ("ghcr.io/acme/api:1.?", "ghcr.io/acme/api:1.4", True),
        ("ghcr.io/acme/api:1.?", "ghcr.io/acme/api:1.40", False),
        ("team-*", "team-a", True),
        ("team-*", "platform", False),
        ("a.b", "aXb", False),
    ],
)
def test_globs(pattern: str, text: str, matches: bool) -> None:
    assert glob_matches(pattern, text) is matches


@pytest.mark.parametrize(
    ("pattern", "normalized"),
    [
        ("nginx", "docker.io/library/nginx"),
        ("nginx:*", "docker.io/library/nginx:*"),
        ("bitnami/*", "docker.io/bitnami/*"),
        ("ghcr.io/acme/*", "ghcr.io/acme/*"),
        ("localhost/app", "localhost/app"),
        ("registry:5000/app", "registry:5000/app"),
        ("*/acme/*", "*/acme/*"),
        ("*", "**"),
    ],
)
def test_image_patterns_are_read_like_docker_references(pattern: str, normalized: str) -> None:
    assert normalize_image_pattern(pattern) == normalized


def test_a_pattern_without_a_tag_matches_every_tag_and_digest() -> None:
    digest = "sha256:" + "a" * 64
    assert image_candidates(f"nginx:1.27@{digest}") == (
        f"docker.io/library/nginx:1.27@{digest}",
        "docker.io/library/nginx",
        "docker.io/library/nginx:1.27",
        f"docker.io/library/nginx@{digest}",
    )
    assert image_matches(["nginx"], "nginx:1.27") == "nginx"
    assert image_matches(["docker.io/library/nginx:1.*"], "nginx:1.27") is not None
    assert image_matches(["docker.io/library/nginx:1.*"], f"nginx@{digest}") is None
    assert image_matches(["nginx"], "not a reference!") is None


@pytest.mark.parametrize(
    ("requirement", "labels", "matches"),
    [
        (LabelRequirement("env", LabelOperator.IN, ("prod", "stage")), {"env": "prod"}, True),
        (LabelRequirement("env", LabelOperator.IN, ("prod",)), {"env": "dev"}, False),
        (LabelRequirement("env", LabelOperator.IN, ("prod",)), {}, False),
        (LabelRequirement("env", LabelOperator.NOT_IN, ("dev",)), {}, True),
        (LabelRequirement("env", LabelOperator.NOT_IN, ("dev",)), {"env": "dev"}, False),
        (LabelRequirement("env", LabelOperator.EXISTS), {"env": ""}, True),
        (LabelRequirement("env", LabelOperator.EXISTS), {}, False),
        (LabelRequirement("env", LabelOperator.DOES_NOT_EXIST), {}, True),
        (LabelRequirement("env", LabelOperator.DOES_NOT_EXIST), {"env": "x"}, False),
    ],
)
def test_label_selectors_follow_kubernetes(
    requirement: LabelRequirement, labels: dict[str, str], matches: bool
) -> None:
    assert selector_matches(LabelSelector(match_expressions=(requirement,)), labels) is matches


def test_empty_selector_selects_everything_and_match_labels_must_all_hold() -> None:
    assert selector_matches(LabelSelector(), {})
    selector = LabelSelector(match_labels=(("a", "1"), ("b", "2")))
    assert selector_matches(selector, {"a": "1", "b": "2", "c": "3"})
    assert not selector_matches(selector, {"a": "1"})


@pytest.mark.parametrize("namespace", ["kube-system", "ballast"])
def test_kube_system_and_ballasts_own_namespace_are_exempt_by_default(namespace: str) -> None:
    verdict = verdict_for(policy("{}"), context=cluster(namespace))
    assert verdict.verdict is Verdict.ALLOW
    assert verdict.findings == ()
    assert verdict.exempt is not None and namespace in verdict.exempt


def test_the_webhook_namespace_is_configurable_and_always_exempt() -> None:
    pol = policy("webhookNamespace: platform-ballast\nexemptNamespaces: []")
    assert verdict_for(pol, context=cluster("platform-ballast")).exempt is not None
    assert verdict_for(pol, context=cluster("ballast")).verdict is Verdict.DENY
    assert verdict_for(pol, context=cluster("kube-system")).verdict is Verdict.DENY


def test_namespace_include_exclude_globs() -> None:
    pol = policy("namespaces: {include: [team-*], exclude: [team-sandbox]}")
    assert verdict_for(pol, context=cluster("team-a")).verdict is Verdict.DENY
    sandbox = verdict_for(pol, context=cluster("team-sandbox"))
    assert sandbox.verdict is Verdict.ALLOW
    assert (
        sandbox.exempt
        == "namespace team-sandbox matches spec.scope.namespaces.exclude 'team-sandbox'"
    )
    other = verdict_for(pol, context=cluster("payments"))
    assert other.exempt == "namespace payments matches no spec.scope.namespaces.include pattern"


def test_namespace_label_selector() -> None:
    pol = policy("namespaces: {selector: {matchLabels: {ballast.dev/enforce: 'true'}}}")
    labelled = cluster("team-a", namespace_labels={"ballast.dev/enforce": "true"})
    assert verdict_for(pol, context=labelled).verdict is Verdict.DENY
    assert verdict_for(pol, context=cluster("team-a")).verdict is Verdict.ALLOW


def test_pod_selector() -> None:
    pol = policy(
        "podSelector: {matchExpressions: [{key: ballast.dev/skip, operator: DoesNotExist}]}"
    )
    assert verdict_for(pol).verdict is Verdict.DENY
    skipped = verdict_for(pol, context=cluster(pod_labels={"ballast.dev/skip": "yes"}))
    assert skipped.verdict is Verdict.ALLOW
    assert skipped.exempt == "pod labels do not match spec.scope.podSelector"


def test_image_globs_on_fully_qualified_references() -> None:
    pol = policy("images: {include: ['ghcr.io/acme/**'], exclude: ['ghcr.io/acme/legacy/*']}")
    assert verdict_for(pol, image="ghcr.io/acme/api:1.4").verdict is Verdict.DENY
    assert verdict_for(pol, image="ghcr.io/acme/legacy/app:7").verdict is Verdict.ALLOW
    assert verdict_for(pol, image="nginx:1.27").verdict is Verdict.ALLOW
    library = policy("images: {exclude: ['docker.io/library/*']}")
    assert verdict_for(library, image="nginx:1.27").verdict is Verdict.ALLOW
    assert verdict_for(library, image="bitnami/nginx:1.27").verdict is Verdict.DENY


def test_outside_a_cluster_only_image_patterns_apply() -> None:
    pol = policy(
        "namespaces: {include: [team-*]}\npodSelector: {matchLabels: {app: x}}\n"
        "images: {exclude: ['nginx']}"
    )
    assert verdict_for(pol, context=CI).verdict is Verdict.DENY
    assert verdict_for(pol, image="nginx:1.27", context=CI).verdict is Verdict.ALLOW


def test_a_rule_scope_narrows_one_rule_only() -> None:
    pol = policy(
        "{}",
        rules=textwrap.dedent(
            """\
            maxCompressedSize: {limit: 400MB, scope: {namespaces: {include: [prod-*]}}}
                maxLayerCount: {limit: 0}
            """
        ),
    )
    verdict = verdict_for(pol, context=cluster("team-a"))
    size, count = verdict.findings
    assert size.status is Status.SKIP
    assert "spec.rules.maxCompressedSize.scope.namespaces.include" in size.message
    assert count.status is Status.FAIL
    assert verdict_for(pol, context=cluster("prod-eu")).findings[0].status is Status.FAIL


def test_exempt_images_skip_exceptions_and_rules_entirely() -> None:
    pol = policy("{}", rules="maxCompressedSize: {limit: 1}")
    verdict = verdict_for(
        pol, context=cluster("kube-system", annotations={"ballast.dev/exception": "[["})
    )
    assert verdict.exempt is not None
    assert verdict.ignored_exceptions == ()
    assert Rule  # the import is used by other tests
