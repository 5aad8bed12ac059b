"""The policy engine: YAML policy → validated Policy; facts + context → verdict.

The public names of the package, and nothing else. Pure: no Flask, no
Kubernetes client, no I/O except reading a policy file when asked.
"""

from __future__ import annotations

from ballast.policy.context import Context
from ballast.policy.dive_ci import load_dive_ci
from ballast.policy.document import (
    LabelOperator,
    LabelRequirement,
    LabelSelector,
    Patterns,
    Policy,
    Rule,
    Scope,
    Selection,
)
from ballast.policy.evaluate import FAILURE_RULE, evaluate, evaluation_key, unavailable
from ballast.policy.exception import (
    EXCEPTION_ANNOTATION,
    IgnoredException,
    PolicyException,
    parse_exceptions,
)
from ballast.policy.finding import Category, Finding, Location, Quantity, Severity, Unit
from ballast.policy.layer_report import LayerFindingView, LayerReportView
from ballast.policy.load import (
    default_policy,
    load_policy,
    load_policy_file,
    policy_from_document,
    policy_schema,
)
from ballast.policy.message import deny_message, warnings_for
from ballast.policy.outcome import Action, Status, Verdict
from ballast.policy.report import (
    decision_to_json,
    finding_to_json,
    format_markdown,
    format_text,
    quantity_to_json,
)
from ballast.policy.size import parse_size
from ballast.policy.source import PolicySource
from ballast.policy.verdict import Decision, HonouredException, ImageVerdict, decide

__all__ = [
    "EXCEPTION_ANNOTATION",
    "FAILURE_RULE",
    "Action",
    "Category",
    "Context",
    "Decision",
    "Finding",
    "HonouredException",
    "IgnoredException",
    "ImageVerdict",
    "LabelOperator",
    "LabelRequirement",
    "LabelSelector",
    "LayerFindingView",
    "LayerReportView",
    "Location",
    "Patterns",
    "Policy",
    "PolicyException",
    "PolicySource",
    "Quantity",
    "Rule",
    "Scope",
    "Selection",
    "Severity",
    "Status",
    "Unit",
    "Verdict",
    "decide",
    "decision_to_json",
    "default_policy",
    "deny_message",
    "evaluate",
    "evaluation_key",
    "finding_to_json",
    "format_markdown",
    "format_text",
    "load_dive_ci",
    "load_policy",
    "load_policy_file",
    "parse_exceptions",
    "parse_size",
    "policy_from_document",
    "policy_schema",
    "quantity_to_json",
    "unavailable",
    "warnings_for",
]
