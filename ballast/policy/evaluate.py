"""Judge one image against a policy: :func:`evaluate`, a pure function.

Owns the evaluation of every rule (limits and categories), the application
of exceptions (a raised limit, or a waiver) and the failure mode. Inputs are
the image facts (from the manifest and config, always there when the image
was resolved in time), the layer report (``None`` until layer facts are
cached: rules that need it are ``skip``), the workload context and the
policy. Nothing here does I/O or reads the clock: *today* comes in the
context. Evaluation never raises on odd facts: a rule that cannot be
evaluated is reported with status ``error`` and does not change the verdict.
Imports the policy modules and :mod:`ballast.facts`; no Flask, no Kubernetes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Final

from ballast.facts import ImageFacts
from ballast.policy.base import detect_heavy_base
from ballast.policy.context import Context
from ballast.policy.document import Policy, Rule
from ballast.policy.exception import EXCEPTION_ANNOTATION, PolicyException, parse_exceptions
from ballast.policy.finding import Category, Finding, Location, Quantity, Severity, Unit
from ballast.policy.history import HistoryFinding, history_findings
from ballast.policy.layer_report import LayerFindingView, LayerReportView
from ballast.policy.outcome import Action, Status, Verdict
from ballast.policy.rules import Bound, RuleSpec, rule_spec
from ballast.policy.scope import image_matches, scope_excludes, selection_excludes
from ballast.policy.verdict import HonouredException, ImageVerdict, combine_findings
from ballast.units import format_bytes

logger = logging.getLogger(__name__)

FAILURE_RULE: Final = "facts"
"""Rule id of the finding that records a failure-mode verdict."""
_CONTENT_CHECKS: Final = frozenset(
    {
        "apt-lists",
        "apk-cache",
        "yum-cache",
        "pip-cache",
        "uv-cache",
        "compiler",
        "headers",
        "node-dev-dependencies",
    }
)
"""History checks that layer facts confirm or refute: dropped when a layer report is given."""
_FAILURE_ACTIONS: Final = {
    Verdict.DENY: Action.ENFORCE,
    Verdict.WARN: Action.WARN,
    Verdict.ALLOW: Action.AUDIT,
}


def evaluate(
    facts: ImageFacts | None,
    layer_report: LayerReportView | None = None,
    *,
    image: str,
    context: Context,
    policy: Policy,
    unavailable_reason: str = "image facts were not available in time",
) -> ImageVerdict:
    """Judge ``image`` (as the workload names it) for ``context`` under ``policy``.

    ``facts`` ``None`` means the facts did not arrive in time: the policy's
    failure mode decides (see :func:`unavailable`). Exempt images are allowed
    with the reason in ``exempt``. Never raises for any facts or context.
    """
    if facts is None:
        return unavailable(image, context=context, policy=policy, reason=unavailable_reason)
    exempt = scope_excludes(policy.scope, image=image, context=context)
    if exempt is not None:
        return ImageVerdict(
            image=image,
            verdict=Verdict.ALLOW,
            digest=facts.digest,
            exempt=exempt,
            layers_read=layer_report is not None,
            policy=policy.name,
        )
    valid, ignored = parse_exceptions(context.annotations, today=context.today)
    exceptions = [e for e in valid if not e.images or image_matches(e.images, image) is not None]
    judge = _Judge(facts, layer_report, image=image)
    findings: list[Finding] = []
    for rule in policy.rules:
        findings.extend(
            _evaluate_rule(judge, rule, policy=policy, context=context, exceptions=exceptions)
        )
    applied: dict[int, list[str]] = {}
    for finding in findings:
        if finding.exception is not None:
            applied.setdefault(finding.exception, []).append(finding.rule)
    honoured = tuple(
        HonouredException(
            index=e.index,
            rules=e.rules,
            justification=e.justification,
            expires=e.expires,
            limit=e.limit,
            images=e.images,
            applied_to=tuple(dict.fromkeys(applied.get(e.index, ()))),
            days_left=e.days_left(context.today),
        )
        for e in exceptions
    )
    return ImageVerdict(
        image=image,
        verdict=combine_findings(findings),
        findings=tuple(findings),
        digest=facts.digest,
        exceptions=honoured,
        ignored_exceptions=ignored,
        layers_read=layer_report is not None,
        policy=policy.name,
    )


def evaluation_key(policy: Policy, context: Context) -> tuple[object, ...]:
    """What :func:`evaluate` reads from ``context`` under ``policy``, as a hashable key.

    The same image (same facts) in two contexts with equal keys gets the same
    verdict, so callers may remember verdicts by (image, facts, key): the
    webhook across admissions, the auditor across the workloads of a pass.
    Namespace and pod labels count only when the policy selects on them; keep
    this in step with ``scope.py`` and the exception parsing if they read more.
    """
    selections = [policy.scope.selection, *(r.scope for r in policy.rules if r.scope is not None)]
    reads_namespace_labels = any(s.namespace_selector is not None for s in selections)
    reads_pod_labels = any(s.pod_selector is not None for s in selections)
    return (
        context.today,
        context.namespace,
        tuple(sorted(context.namespace_labels.items())) if reads_namespace_labels else None,
        tuple(sorted(context.pod_labels.items())) if reads_pod_labels else None,
        context.annotations.get(EXCEPTION_ANNOTATION),
    )


def unavailable(image: str, *, context: Context, policy: Policy, reason: str) -> ImageVerdict:
    """The verdict for an image whose facts are missing: the policy's failure mode.

    Exempt workloads stay exempt (their namespace is known without facts).
    """
    exempt = scope_excludes(policy.scope, image=image, context=context)
    if exempt is not None:
        return ImageVerdict(image=image, verdict=Verdict.ALLOW, exempt=exempt, policy=policy.name)
    mode = policy.failure_mode
    finding = Finding(
        rule=FAILURE_RULE,
        action=_FAILURE_ACTIONS[mode],
        status=Status.ERROR,
        image=image,
        message=f"{reason}; failureMode {mode.value} applied",
        advice="retry: ballast keeps fetching the facts in the background",
    )
    return ImageVerdict(
        image=image,
        verdict=mode,
        findings=(finding,),
        failure=reason,
        policy=policy.name,
    )


# -- rules ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Judge:
    """The facts of one image, with what several rules share computed once."""

    facts: ImageFacts
    report: LayerReportView | None
    image: str
    _history: tuple[HistoryFinding, ...] | None = None

    @property
    def history(self) -> tuple[HistoryFinding, ...]:
        if self._history is None:
            self._history = history_findings(self.facts)
        return self._history

    def layer_location(self, index: int | None, *, paths: Sequence[str] = ()) -> Location:
        """Where a layer is, by index, with its digest, instruction and compressed size."""
        layers = self.facts.layers
        if index is None or not 0 <= index < len(layers):
            return Location(paths=tuple(paths))
        layer = layers[index]
        return Location(
            layer_index=index,
            layer_digest=layer.digest,
            paths=tuple(paths),
            created_by=layer.created_by or "",
            layer_bytes=layer.compressed_bytes,
        )


def _effective_limit(
    rule: Rule, spec: RuleSpec, exceptions: Sequence[PolicyException]
) -> tuple[float, int | None, int | None]:
    """(limit to use, exception that raised it, exception that waives the rule) for a rule."""
    limit = float(rule.limit if rule.limit is not None else 0)
    raised_by: int | None = None
    waived_by: int | None = None
    for exception in exceptions:
        if rule.id not in exception.rules:
            continue
        if exception.limit is None:
            waived_by = exception.index if waived_by is None else waived_by
            continue
        raised = exception.limit.value
        relaxes = raised > limit if spec.bound is Bound.MAX else raised < limit
        if relaxes:
            limit, raised_by = raised, exception.index
    return limit, raised_by, waived_by


def _evaluate_rule(
    judge: _Judge,
    rule: Rule,
    *,
    policy: Policy,
    context: Context,
    exceptions: Sequence[PolicyException],
) -> list[Finding]:
    spec = rule_spec(rule.id)
    action = policy.action_of(rule)
    if spec is None:  # a Policy built by hand with a rule id that does not exist
        return [_error(judge, rule.id, action, f"unknown rule {rule.id!r}")]
    if rule.scope is not None:
        reason = selection_excludes(
            rule.scope, image=judge.image, context=context, field=f"spec.rules.{rule.id}.scope"
        )
        if reason is not None:
            return [
                Finding(
                    rule.id,
                    action,
                    Status.SKIP,
                    judge.image,
                    f"out of scope: {reason}",
                    category=spec.category,
                )
            ]
    if spec.needs_layers and judge.report is None and spec.category is None:
        return [_skip_for_layers(judge, spec, action)]
    try:
        if spec.category is not None:
            findings = _category(judge, rule, spec, action)
            return _waive(findings, rule.id, exceptions)
        limit, raised_by, waived_by = _effective_limit(rule, spec, exceptions)
        finding = _LIMIT_CHECKS[rule.id](judge, spec, action, limit)
        if finding.status is Status.FAIL and waived_by is not None:
            return [replace(finding, status=Status.WARN, exception=waived_by)]
        if raised_by is not None and finding.status is Status.PASS and rule.limit is not None:
            strict = _LIMIT_CHECKS[rule.id](judge, spec, action, float(rule.limit))
            if strict.status is Status.FAIL:
                return [replace(finding, exception=raised_by)]
        return [finding]
    except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError) as exc:
        logger.debug("rule %s could not be evaluated for %s", rule.id, judge.image, exc_info=True)
        return [
            _error(judge, rule.id, action, f"could not be evaluated ({type(exc).__name__}: {exc})")
        ]


def _error(judge: _Judge, rule_id: str, action: Action, message: str) -> Finding:
    return Finding(rule_id, action, Status.ERROR, judge.image, message[:300])


def _skip_for_layers(judge: _Judge, spec: RuleSpec, action: Action) -> Finding:
    return Finding(
        spec.id,
        action,
        Status.SKIP,
        judge.image,
        f"{spec.title}: needs layer facts, not read yet",
        category=spec.category,
    )


def _waive(
    findings: list[Finding], rule_id: str, exceptions: Sequence[PolicyException]
) -> list[Finding]:
    waiver = next((e for e in exceptions if rule_id in e.rules and e.limit is None), None)
    if waiver is None:
        return findings
    return [
        replace(f, status=Status.WARN, exception=waiver.index) if f.status is Status.FAIL else f
        for f in findings
    ]


def _compare(spec: RuleSpec, measured: float, limit: float) -> Status:
    """FAIL when the value is on the wrong side of the limit; equal passes; NaN passes (dive)."""
    if math.isnan(measured):
        return Status.PASS
    failed = measured > limit if spec.bound is Bound.MAX else measured < limit
    return Status.FAIL if failed else Status.PASS


def _limit_finding(
    judge: _Judge,
    spec: RuleSpec,
    action: Action,
    *,
    measured: float,
    limit: float,
    where: Location | None = None,
    note: str = "",
    savings: int | None = None,
) -> Finding:
    assert spec.unit is not None
    status = _compare(spec, measured, limit)
    value = Quantity(measured, spec.unit)
    bound = Quantity(limit, spec.unit)
    if status is Status.FAIL:
        sign = ">" if spec.bound is Bound.MAX else "<"
        message = f"{spec.title} {value.short} {sign} limit {bound.short}"
    else:
        sign = "≤" if spec.bound is Bound.MAX else "≥"
        message = f"{spec.title} {value.short} {sign} {bound.short}"
    if note and status is Status.FAIL:
        message += f" ({note})"
    return Finding(
        rule=spec.id,
        action=action,
        status=status,
        image=judge.image,
        message=message,
        measured=value,
        limit=bound,
        where=where if status is Status.FAIL else None,
        advice=spec.advice if status is Status.FAIL else "",
        savings_bytes=savings if status is Status.FAIL else None,
    )


def _largest_layer(judge: _Judge) -> Location | None:
    largest = judge.facts.largest_layer
    if largest is None:
        return None
    return judge.layer_location(judge.facts.layers.index(largest))


def _check_compressed(judge: _Judge, spec: RuleSpec, action: Action, limit: float) -> Finding:
    return _limit_finding(
        judge,
        spec,
        action,
        measured=judge.facts.compressed_bytes,
        limit=limit,
        where=_largest_layer(judge),
    )


def _check_layer_size(judge: _Judge, spec: RuleSpec, action: Action, limit: float) -> Finding:
    layers = judge.facts.layers
    over = [layer for layer in layers if layer.compressed_bytes > limit]
    largest = judge.facts.largest_layer
    note = f"{len(over)} layers over the limit" if len(over) > 1 else ""
    return _limit_finding(
        judge,
        spec,
        action,
        measured=largest.compressed_bytes if largest is not None else 0,
        limit=limit,
        where=_largest_layer(judge),
        note=note,
    )


def _check_layer_count(judge: _Judge, spec: RuleSpec, action: Action, limit: float) -> Finding:
    return _limit_finding(judge, spec, action, measured=judge.facts.layer_count, limit=limit)


def _report(judge: _Judge) -> LayerReportView:
    if judge.report is None:  # guarded by the caller: rules needing layers are skipped
        raise ValueError("layer facts are missing")
    return judge.report


def _check_uncompressed(judge: _Judge, spec: RuleSpec, action: Action, limit: float) -> Finding:
    report = _report(judge)
    biggest = max(report.layers, key=lambda layer: layer.uncompressed_bytes, default=None)
    where = judge.layer_location(biggest.index) if biggest is not None else None
    return _limit_finding(
        judge, spec, action, measured=report.uncompressed_bytes, limit=limit, where=where
    )


def _wasted_where(report: LayerReportView) -> Location | None:
    paths = tuple(w.path for w in list(report.inefficient_files)[:3])
    return Location(paths=paths) if paths else None


def _check_efficiency(judge: _Judge, spec: RuleSpec, action: Action, limit: float) -> Finding:
    report = _report(judge)
    return _limit_finding(
        judge, spec, action, measured=report.efficiency, limit=limit, where=_wasted_where(report)
    )


def _check_wasted(judge: _Judge, spec: RuleSpec, action: Action, limit: float) -> Finding:
    report = _report(judge)
    return _limit_finding(
        judge, spec, action, measured=report.wasted_bytes, limit=limit, where=_wasted_where(report)
    )


def _check_user_wasted(judge: _Judge, spec: RuleSpec, action: Action, limit: float) -> Finding:
    report = _report(judge)
    return _limit_finding(
        judge,
        spec,
        action,
        measured=report.user_wasted_percent,
        limit=limit,
        where=_wasted_where(report),
    )


def _check_hidden(judge: _Judge, spec: RuleSpec, action: Action, limit: float) -> Finding:
    report = _report(judge)
    top = report.hidden[0] if report.hidden else None
    where: Location | None = None
    note = ""
    if top is not None:
        where = judge.layer_location(top.shipped_by_layer, paths=(top.path,))
        note = (
            f"{top.path} shipped in layer {top.shipped_by_layer}, "
            f"removed in layer {top.removed_by_layer}"
        )
    return _limit_finding(
        judge,
        spec,
        action,
        measured=report.hidden_bytes,
        limit=limit,
        where=where,
        note=note,
        savings=report.hidden_bytes,
    )


_LIMIT_CHECKS: Final[dict[str, Callable[[_Judge, RuleSpec, Action, float], Finding]]] = {
    "maxCompressedSize": _check_compressed,
    "maxUncompressedSize": _check_uncompressed,
    "maxLayerSize": _check_layer_size,
    "maxLayerCount": _check_layer_count,
    "minEfficiency": _check_efficiency,
    "maxWastedBytes": _check_wasted,
    "maxUserWastedPercent": _check_user_wasted,
    "maxHiddenBytes": _check_hidden,
}


# -- categories -------------------------------------------------------------------------------


def _category(judge: _Judge, rule: Rule, spec: RuleSpec, action: Action) -> list[Finding]:
    category = spec.category
    assert category is not None
    report = judge.report
    found: list[Finding] = []
    heavy_found = False
    if category is Category.HEAVY_BASE:
        heavy = detect_heavy_base(judge.facts, image=judge.image)
        if heavy is not None:
            heavy_found = True
            allowed = image_matches(rule.allow, heavy.reference) if rule.allow else None
            if allowed is not None:
                return [
                    Finding(
                        rule.id,
                        action,
                        Status.PASS,
                        judge.image,
                        f"base {heavy.base} is allowed ({allowed!r})",
                        category=category,
                    )
                ]
            found.append(
                Finding(
                    rule=rule.id,
                    action=action,
                    status=Status.FAIL,
                    image=judge.image,
                    message=f"heavy base {heavy.base}: {heavy.why}",
                    where=judge.layer_location(heavy.layer_index)
                    if heavy.layer_index is not None
                    else None,
                    advice=f"use {heavy.suggestion}",
                    category=category,
                    severity=Severity.MEDIUM,
                    detail=f"heavy-base:{heavy.evidence}",
                )
            )
    layer_keys: set[tuple[str, int]] = set()
    if report is not None and not heavy_found:
        for item in report.findings:
            if item.category != category.value:
                continue
            found.append(_from_layer_finding(judge, rule.id, action, category, item))
            layer_keys.add((item.category, item.layer))
    for entry in judge.history:
        if entry.category != category.value:
            continue
        if report is not None and (
            entry.check in _CONTENT_CHECKS or (entry.category, entry.layer_index) in layer_keys
        ):
            continue
        found.append(_from_history_finding(judge, rule.id, action, category, entry))
    if found:
        return found
    if spec.needs_layers and report is None:
        return [_skip_for_layers(judge, spec, action)]
    where = "in layers" if report is not None else "in history (layers not read yet)"
    return [
        Finding(
            rule.id,
            action,
            Status.PASS,
            judge.image,
            f"no {category.value} found {where}",
            category=category,
        )
    ]


def _from_layer_finding(
    judge: _Judge, rule_id: str, action: Action, category: Category, item: LayerFindingView
) -> Finding:
    paths = tuple(item.paths)[:5]
    location = judge.layer_location(item.layer if item.layer >= 0 else None, paths=paths)
    if item.created_by and not location.created_by:
        location = replace(location, created_by=item.created_by)
    if item.layer_digest and not location.layer_digest:
        location = replace(location, layer_digest=item.layer_digest)
    first = f" in {paths[0]}" if paths else ""
    if category is Category.SECRETS:
        what = f"{item.rule}{first}"  # a path and a kind, never the secret
    else:
        what = f"{item.rule}: {format_bytes(item.bytes)}{first}"
    return Finding(
        rule=rule_id,
        action=action,
        status=Status.FAIL,
        image=judge.image,
        message=what,
        measured=Quantity(item.bytes, Unit.UNCOMPRESSED_BYTES),
        where=location,
        advice=item.advice,
        savings_bytes=item.bytes if category is not Category.SECRETS else None,
        category=category,
        severity=Severity.parse(item.severity),
        detail=item.rule,
    )


def _from_history_finding(
    judge: _Judge, rule_id: str, action: Action, category: Category, item: HistoryFinding
) -> Finding:
    return Finding(
        rule=rule_id,
        action=action,
        status=Status.FAIL,
        image=judge.image,
        message=item.message,
        measured=Quantity(item.layer_bytes, Unit.COMPRESSED_BYTES),
        where=judge.layer_location(item.layer_index, paths=()),
        advice=item.advice,
        category=category,
        severity=Severity.parse(item.severity),
        detail=f"history:{item.check}",
    )
