"""A loaded policy: :class:`Policy` and the scope and rule records it is made of.

Owns the frozen form of the YAML policy document (see ``schema.json`` for
every field and :mod:`ballast.policy.load` for how YAML becomes this). Limits
are plain numbers here, already converted: bytes for sizes, a count for
layers, a fraction for ratios. Imports the outcome enums only. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from ballast.policy.outcome import Action, Verdict

API_VERSION: Final = "ballast.dev/v1"
KIND: Final = "Policy"
DEFAULT_WEBHOOK_NAMESPACE: Final = "ballast"
"""The namespace ballast runs in unless the policy says otherwise; always exempt, so that
the webhook never has to admit itself."""
DEFAULT_EXEMPT_NAMESPACES: Final = ("kube-system",)
"""Namespaces exempt unless the policy lists its own: the control plane must always start."""


class LabelOperator(StrEnum):
    """Operators of a Kubernetes ``matchExpressions`` requirement."""

    IN = "In"
    """The label is set to one of the values."""
    NOT_IN = "NotIn"
    """The label is missing or set to none of the values."""
    EXISTS = "Exists"
    """The label is set (to anything)."""
    DOES_NOT_EXIST = "DoesNotExist"
    """The label is not set."""


@dataclass(frozen=True, slots=True)
class LabelRequirement:
    """One ``matchExpressions`` item."""

    key: str
    operator: LabelOperator
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A Kubernetes label selector: every ``matchLabels`` pair and every expression must hold.

    An empty selector selects everything, as in Kubernetes.
    """

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[LabelRequirement, ...] = ()


@dataclass(frozen=True, slots=True)
class Patterns:
    """Include/exclude glob lists: empty ``include`` means everything; ``exclude`` wins."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Selection:
    """Which workloads and images a policy (or one rule) applies to."""

    namespaces: Patterns = field(default_factory=Patterns)
    """Namespace names (globs)."""
    namespace_selector: LabelSelector | None = None
    """Labels the namespace must carry."""
    pod_selector: LabelSelector | None = None
    """Labels the pod (or pod template) must carry."""
    images: Patterns = field(default_factory=Patterns)
    """Fully qualified image references (globs; ``*`` stays within one path component)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """The policy's scope: a selection plus the namespaces that are always exempt."""

    selection: Selection = field(default_factory=Selection)
    webhook_namespace: str = DEFAULT_WEBHOOK_NAMESPACE
    """ballast's own namespace, always exempt."""
    exempt_namespaces: tuple[str, ...] = DEFAULT_EXEMPT_NAMESPACES
    """Further namespaces (globs) exempt before anything else is looked at."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One enabled rule of a policy; rules the policy does not list are not evaluated."""

    id: str
    """Rule id (``maxCompressedSize``) or category (``build-tools``); see :mod:`.rules`."""
    action: Action | None = None
    """What a failure does; ``None`` follows the policy's ``mode``."""
    limit: float | None = None
    """Bytes, a count or a fraction, as the rule's unit says; ``None`` for categories."""
    scope: Selection | None = None
    """Narrows the policy's scope for this rule only."""
    allow: tuple[str, ...] = ()
    """``heavy-base`` only: base image globs accepted as they are."""


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy document."""

    mode: Action = Action.WARN
    """The action of every rule that does not set its own."""
    failure_mode: Verdict = Verdict.WARN
    """The verdict for an image whose facts are not available in time."""
    scope: Scope = field(default_factory=Scope)
    rules: tuple[Rule, ...] = ()
    """Enabled rules, in the order they are evaluated and reported."""
    name: str = ""
    """``metadata.name`` of the document."""
    source: str = ""
    """Where it came from (a file path, ``built-in defaults``, a ``.dive-ci`` file)."""
    notes: tuple[str, ...] = ()
    """Things worth telling whoever loaded it (ignored keys of a ``.dive-ci`` file ...)."""

    def rule(self, rule_id: str) -> Rule | None:
        """The enabled rule with this id, if any."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None

    def action_of(self, rule: Rule) -> Action:
        """The rule's own action, else the policy's mode."""
        return rule.action if rule.action is not None else self.mode
