"""Policy documents: the schema, every problem at once with its path, defaults, conversion."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ballast import PolicyError
from ballast.policy import (
    Action,
    LabelOperator,
    Verdict,
    default_policy,
    load_policy,
    load_policy_file,
    policy_from_document,
    policy_schema,
)
from ballast.policy.load import DEFAULT_MAX_COMPRESSED_BYTES
from ballast.policy.size import SIZE_PATTERN


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy(textwrap.dedent(text), source="policy.yaml")
    assert "policy.yaml" in str(caught.value)
    return caught.value.problems


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    problems = problems_of(
        """
        apiVersion: ballast.dev/v2
        kind: Policy
        spec:
          mode: enforc
          failureMode: maybe
          scope:
            namespaces:
              include: [team-*, 3]
              selector:
                matchExpressions:
                  - {key: tier, operator: In}
                  - {key: env, operator: Exists, values: [x]}
            podSelector: {matchLabels: {app: 1}}
          rules:
            maxCompressedSize: {limit: 40OMB}
            maxLayerSize: {limit: -3}
            maxLayrCount: {limit: 3}
            minEfficiency: {limit: 1.5}
            maxUncompressedSize: {action: warn}
            findings:
              build-tools: deny
              secrets: {action: x}
              package-cache: 3
            heavyBase: {allow: nope}
        """
    )
    assert problems == sorted(problems)
    assert set(problems) == {
        "apiVersion: must be 'ballast.dev/v1', not 'ballast.dev/v2'",
        "spec.failureMode: 'maybe' is not one of allow, warn, deny",
        "spec.mode: 'enforc' is not one of enforce, warn, audit (did you mean enforce?)",
        "spec.rules.maxLayrCount: unknown field (did you mean maxLayerCount?)",
        "spec.rules.findings.build-tools: 'deny' is not one of enforce, warn, audit "
        "(use enforce to deny)",
        "spec.rules.findings.package-cache: expected an action (enforce, warn, audit) or a "
        "mapping with action and scope, got an integer",
        "spec.rules.findings.secrets.action: 'x' is not one of enforce, warn, audit",
        "spec.rules.heavyBase.allow: expected a list, got a string 'nope'",
        "spec.rules.maxCompressedSize.limit: '40OMB' is not a size (use 400MB, 1.5GiB or bytes)",
        "spec.rules.maxLayerSize.limit: -3 is negative; a size is 0 or more bytes",
        "spec.rules.maxUncompressedSize.limit: required field is missing",
        "spec.rules.minEfficiency.limit: 1.5 is above the maximum 1",
        "spec.scope.namespaces.include[1]: expected a string, got an integer 3",
        "spec.scope.namespaces.selector.matchExpressions[0].values: required field is missing",
        "spec.scope.namespaces.selector.matchExpressions[1].values: must be empty for this "
        "operator (Exists/DoesNotExist take no values)",
        "spec.scope.podSelector.matchLabels.app: expected a string, got an integer 1",
    }


def test_the_error_message_lists_the_problems_for_a_human() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy("apiVersion: ballast.dev/v1\nkind: Polcy\n", source="cm/ballast-policy")
    message = str(caught.value)
    assert message.startswith("policy cm/ballast-policy is invalid (1 problem):")
    assert "  - kind: must be 'Policy', not 'Polcy'" in message


def test_missing_required_fields_and_unknown_top_level_keys() -> None:
    assert problems_of("spek: {}\n") == [
        "apiVersion: required field is missing",
        "kind: required field is missing",
        "spek: unknown field (did you mean spec?)",
    ]


def test_label_keys_with_dots_are_quoted_in_paths() -> None:
    problems = problems_of(
        """
        apiVersion: ballast.dev/v1
        kind: Policy
        spec:
          scope:
            podSelector: {matchLabels: {app.kubernetes.io/name: [x]}}
        """
    )
    assert problems == [
        'spec.scope.podSelector.matchLabels["app.kubernetes.io/name"]: expected a string, '
        "got a list ['x']"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the document is empty; write a Policy (apiVersion: ballast.dev/v1)"),
        ("# nothing\n", "the document is empty; write a Policy (apiVersion: ballast.dev/v1)"),
        ("a: [1\n", "line 2, column 1: YAML syntax:"),
        ("- 1\n- 2\n", "(document): expected a mapping, got a list [1, 2]"),
        ("a: 1\n---\nb: 2\n", "found 2 YAML documents; a policy file holds exactly one"),
    ],
)
def test_documents_that_are_not_a_policy(text: str, expected: str) -> None:
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].startswith(expected)


def test_duplicate_keys_are_problems_not_silently_dropped() -> None:
    problems = problems_of(
        """
        apiVersion: ballast.dev/v1
        kind: Policy
        spec:
          rules:
            maxCompressedSize: {limit: 400MB}
            maxCompressedSize: {limit: 4GB}
        """
    )
    assert problems == ["line 7: duplicate key 'maxCompressedSize' (only one is kept)"]


def test_size_overflow_is_reported_after_the_schema_passes() -> None:
    problems = problems_of(
        """
        apiVersion: ballast.dev/v1
        kind: Policy
        spec:
          rules:
            maxCompressedSize: {limit: 99999999999999999999TB}
            maxWastedBytes: {limit: 99999999999999999999}
        """
    )
    assert problems == [
        "spec.rules.maxCompressedSize.limit: '99999999999999999999TB' is larger than any image "
        "can be",
        "spec.rules.maxWastedBytes.limit: 99999999999999999999 is larger than any image can be",
    ]


def test_defaults_warn_above_400mb_on_build_tools_and_caches_and_deny_secrets() -> None:
    policy = default_policy()
    assert policy.mode is Action.WARN
    assert policy.failure_mode is Verdict.WARN
    assert [(r.id, policy.action_of(r), r.limit) for r in policy.rules] == [
        ("maxCompressedSize", Action.WARN, 400_000_000),
        ("build-tools", Action.WARN, None),
        ("package-cache", Action.WARN, None),
        ("secrets", Action.ENFORCE, None),
    ]
    assert policy.scope.webhook_namespace == "ballast"
    assert policy.scope.exempt_namespaces == ("kube-system",)


def test_a_policy_without_rules_gets_the_defaults_under_its_mode() -> None:
    policy = load_policy("apiVersion: ballast.dev/v1\nkind: Policy\nspec: {mode: enforce}\n")
    assert [(r.id, policy.action_of(r)) for r in policy.rules] == [
        ("maxCompressedSize", Action.ENFORCE),
        ("build-tools", Action.ENFORCE),
        ("package-cache", Action.ENFORCE),
        ("secrets", Action.ENFORCE),
    ]
    assert policy.rules[0].limit == DEFAULT_MAX_COMPRESSED_BYTES


def test_an_audit_dry_run_never_denies_even_secrets() -> None:
    policy = load_policy("apiVersion: ballast.dev/v1\nkind: Policy\nspec: {mode: audit}\n")
    assert {policy.action_of(r) for r in policy.rules} == {Action.AUDIT}


def test_empty_rules_mean_no_rules() -> None:
    policy = load_policy("apiVersion: ballast.dev/v1\nkind: Policy\nspec: {rules: {}}\n")
    assert policy.rules == ()


FULL = """
apiVersion: ballast.dev/v1
kind: Policy
metadata: {name: platform}
spec:
  mode: warn
  failureMode: deny
  scope:
    webhookNamespace: ballast-system
    exemptNamespaces: [kube-*, monitoring]
    namespaces:
      include: [team-*]
      exclude: [team-sandbox]
      selector:
        matchLabels: {ballast.dev/enforce: "true"}
        matchExpressions: [{key: env, operator: NotIn, values: [dev]}]
    podSelector: {matchExpressions: [{key: ballast.dev/skip, operator: DoesNotExist}]}
    images: {include: ["**"], exclude: ["registry.k8s.io/**"]}
  rules:
    maxCompressedSize: {limit: 400MB, action: enforce}
    maxUncompressedSize: {limit: 1.5GiB}
    maxLayerSize: {limit: 200MiB}
    maxLayerCount: {limit: 40}
    minEfficiency: {limit: 0.9}
    maxWastedBytes: {limit: 20MB}
    maxUserWastedPercent: {limit: 0.1}
    maxHiddenBytes: {limit: 52428800}
    findings:
      build-tools: warn
      package-cache: {action: audit, scope: {images: {exclude: ["docker.io/library/*"]}}}
      secrets: enforce
      dev-leftovers: audit
      runtime-tools: audit
    heavyBase: {allow: ["docker.io/library/ubuntu:*"]}
"""


def test_a_full_policy_converts_to_typed_rules() -> None:
    policy = load_policy(FULL)
    assert policy.name == "platform"
    assert policy.failure_mode is Verdict.DENY
    assert policy.scope.webhook_namespace == "ballast-system"
    assert policy.scope.exempt_namespaces == ("kube-*", "monitoring")
    selection = policy.scope.selection
    assert selection.namespaces.include == ("team-*",)
    assert selection.namespace_selector is not None
    assert selection.namespace_selector.match_labels == (("ballast.dev/enforce", "true"),)
    assert selection.namespace_selector.match_expressions[0].operator is LabelOperator.NOT_IN
    limits = {r.id: r.limit for r in policy.rules}
    assert limits == {
        "maxCompressedSize": 400_000_000,
        "maxUncompressedSize": 1_610_612_736,
        "maxLayerSize": 209_715_200,
        "maxLayerCount": 40,
        "minEfficiency": 0.9,
        "maxWastedBytes": 20_000_000,
        "maxUserWastedPercent": 0.1,
        "maxHiddenBytes": 52_428_800,
        "build-tools": None,
        "package-cache": None,
        "dev-leftovers": None,
        "secrets": None,
        "runtime-tools": None,
        "heavy-base": None,
    }
    actions = {r.id: policy.action_of(r) for r in policy.rules}
    assert actions["maxCompressedSize"] is Action.ENFORCE
    assert actions["maxUncompressedSize"] is Action.WARN
    assert actions["package-cache"] is Action.AUDIT
    assert actions["secrets"] is Action.ENFORCE
    assert actions["heavy-base"] is Action.WARN
    package_cache = policy.rule("package-cache")
    assert package_cache is not None and package_cache.scope is not None
    assert package_cache.scope.images.exclude == ("docker.io/library/*",)
    heavy = policy.rule("heavy-base")
    assert heavy is not None and heavy.allow == ("docker.io/library/ubuntu:*",)


def test_heavy_base_action_may_be_set_in_either_place() -> None:
    text = "apiVersion: ballast.dev/v1\nkind: Policy\nspec:\n  rules:\n"
    one = load_policy(text + "    findings: {heavy-base: audit}\n")
    two = load_policy(
        text + "    heavyBase: {action: enforce}\n    findings: {heavy-base: audit}\n"
    )
    assert one.rule("heavy-base") is not None
    assert one.action_of(one.rule("heavy-base")) is Action.AUDIT  # type: ignore[arg-type]
    assert two.action_of(two.rule("heavy-base")) is Action.ENFORCE  # type: ignore[arg-type]


def test_json_documents_and_parsed_mappings_are_accepted() -> None:
    document = {"apiVersion": "ballast.dev/v1", "kind": "Policy", "spec": {"mode": "audit"}}
    assert load_policy(json.dumps(document)).mode is Action.AUDIT
    assert policy_from_document(document).mode is Action.AUDIT


def test_policy_files_are_read_and_unreadable_ones_are_policy_errors(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(FULL)
    assert load_policy_file(path).source == str(path)
    with pytest.raises(PolicyError, match=r"cannot read policy file .*missing\.yaml"):
        load_policy_file(tmp_path / "missing.yaml")
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(PolicyError, match="is not UTF-8"):
        load_policy_file(path)


def _walk(schema: Any, path: str, out: list[str]) -> None:
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            has_description = "description" in sub or (
                "$ref" in sub and "description" in _resolve(sub["$ref"])
            )
            if not has_description:
                out.append(f"{path}.{name}")
        for key, value in schema.items():
            if key not in ("if", "then", "else", "allOf"):  # constraints, not fields
                _walk(value, f"{path}.{key}", out)
    elif isinstance(schema, list):
        for item in schema:
            _walk(item, path, out)


def _resolve(ref: str) -> dict[str, Any]:
    node: Any = policy_schema()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node  # type: ignore[no-any-return]


def test_the_published_schema_is_valid_2020_12_and_documents_every_field() -> None:
    schema = policy_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    undocumented: list[str] = []
    _walk(schema, "", undocumented)
    assert undocumented == []


def test_the_schema_size_pattern_matches_the_parser() -> None:
    assert policy_schema()["$defs"]["size"]["pattern"] == SIZE_PATTERN
    assert re.match(SIZE_PATTERN, "1.5GiB") and not re.match(SIZE_PATTERN, "40OMB")


def test_the_full_example_validates_against_the_published_schema_alone() -> None:
    import yaml

    jsonschema.Draft202012Validator(policy_schema()).validate(yaml.safe_load(FULL))


def test_evaluation_key_counts_labels_only_when_the_policy_selects_on_them() -> None:
    """Webhook and auditor remember verdicts by this key: it must not split equal questions
    (labels that no rule reads) nor merge different ones (exception annotations)."""
    import datetime as dt

    from ballast.policy import Context, evaluation_key, load_policy

    plain = load_policy("apiVersion: ballast.dev/v1\nkind: Policy\nmetadata: {name: p}\nspec: {}\n")
    selective = load_policy(
        "apiVersion: ballast.dev/v1\nkind: Policy\nmetadata: {name: s}\nspec:\n"
        "  scope: {podSelector: {matchLabels: {tier: web}}}\n"
    )
    today = dt.date(2026, 1, 1)
    a = Context(today=today, namespace="shop", pod_labels={"pod": "a"}, kind="Pod", name="a")
    b = Context(today=today, namespace="shop", pod_labels={"pod": "b"}, kind="Pod", name="b")
    excepted = Context(
        today=today, namespace="shop", annotations={"ballast.dev/exception": "{rules: [x]}"}
    )
    assert evaluation_key(plain, a) == evaluation_key(plain, b)
    assert evaluation_key(selective, a) != evaluation_key(selective, b)
    assert evaluation_key(plain, a) != evaluation_key(plain, excepted)
