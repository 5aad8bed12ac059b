"""From an admission request to an AdmissionReview answer, within the deadline.

A plain function of its inputs (facts come through the fetcher, the policy
from the policy source), so it is tested without HTTP. The image verdicts
come from the core policy engine; this module only decides which images to
judge, how long to wait for their facts, and how to say the result to the
API server (status message, warnings, audit annotations, metrics).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from ballast._errors import BallastError
from ballast.facts import ImageFacts, ResolvedImage
from ballast.policy import (
    Context,
    Decision,
    ImageVerdict,
    LayerReportView,
    Policy,
    PolicySource,
    Verdict,
    decide,
    deny_message,
    evaluate,
    evaluation_key,
    warnings_for,
)
from webhook.admission import AdmissionRequest, AdmissionReviewPayload, build_response
from webhook.fetcher import DeadlineFetcher, Pending, budget_from_timeout
from webhook.metrics import WebhookMetrics

logger = logging.getLogger(__name__)

LayerReports = Callable[[ImageFacts], LayerReportView | None]
_VERDICTS_KEPT = 4096


_V = TypeVar("_V")


class PolicyMemo(Generic[_V]):
    """A bounded LRU of results computed under one policy; a new policy empties it."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[tuple[object, ...], _V] = OrderedDict()
        self._policy: Policy | None = None
        self._size = size
        self._lock = threading.Lock()

    def get(self, policy: Policy, key: tuple[object, ...]) -> _V | None:
        with self._lock:
            if self._policy is not policy:
                self._items.clear()
                self._policy = policy
                return None
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, policy: Policy, key: tuple[object, ...], value: _V) -> None:
        with self._lock:
            if self._policy is policy:
                self._items[key] = value
                while len(self._items) > self._size:
                    self._items.popitem(last=False)


class AdmissionReviewer:
    """Judges admission requests: images in, a verdict out, before the deadline."""

    def __init__(
        self,
        *,
        fetcher: DeadlineFetcher,
        policy: PolicySource,
        metrics: WebhookMetrics,
        layer_reports: LayerReports,
        default_timeout_s: float,
        margin_s: float,
        cache_ready: Callable[[], str | None] = lambda: None,
        today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.UTC).date(),
    ) -> None:
        self._fetcher = fetcher
        self._policy = policy
        self._metrics = metrics
        self._layer_reports = layer_reports
        self._default_timeout_s = default_timeout_s
        self._margin_s = margin_s
        self._cache_ready = cache_ready
        self._today = today
        self._verdicts: PolicyMemo[ImageVerdict] = PolicyMemo(_VERDICTS_KEPT)
        self._answers: PolicyMemo[tuple[Decision, dict[str, Any]]] = PolicyMemo(_VERDICTS_KEPT)

    def readiness(self) -> str | None:
        return self._cache_ready()

    def review(
        self, admission: AdmissionRequest, *, timeout_param: str | None, started: float
    ) -> AdmissionReviewPayload:
        workload = admission.workload
        if workload.is_skipped or not workload.unique_changed_images:
            reason = workload.skip_reason or "no new images"
            self._record(admission, "allow", started)
            return build_response(
                admission.uid, allowed=True, audit_annotations={"decision": f"skip: {reason}"}
            )
        policy = self._policy.current()
        context = self._context(admission)
        images = [use.image for use in workload.unique_changed_images]
        budget_s = budget_from_timeout(
            timeout_param,
            default_s=self._default_timeout_s,
            margin_s=self._margin_s,
            started=started,
        )
        outcomes = self._fetcher.fetch(images, budget_s=budget_s)
        # Replicas, retries and rollouts ask the same question over and over: when
        # every image has facts, the whole answer (all but the uid) is remembered.
        key = self._answer_key(policy, context, images, outcomes)
        remembered = self._answers.get(policy, key) if key is not None else None
        if remembered is None:
            verdicts = [self._judge(image, outcomes[image], context, policy) for image in images]
            decision = decide(verdicts, workload=context.workload)
            remembered = (decision, self._answer(decision))
            if key is not None:
                self._answers.put(policy, key, remembered)
        else:
            self._metrics.cache_lookups.labels(result="hit").inc(len(images))
        decision, answer = remembered
        self._record(admission, decision.verdict.value, started, decision=decision)
        return build_response(admission.uid, **answer)

    def _answer(self, decision: Decision) -> dict[str, Any]:
        """What build_response needs besides the uid."""
        answer: dict[str, Any] = {
            "allowed": decision.verdict is not Verdict.DENY,
            "warnings": warnings_for(decision),
            "audit_annotations": _audit_annotations(decision),
        }
        if decision.verdict is Verdict.DENY:
            answer.update(message=deny_message(decision), code=403)
        return answer

    def _answer_key(
        self, policy: Policy, context: Context, images: list[str], outcomes: Mapping[str, object]
    ) -> tuple[object, ...] | None:
        # The answer's messages also name the workload (kind and name).
        parts: list[object] = [evaluation_key(policy, context), context.kind, context.name]
        for image in images:
            outcome = outcomes[image]
            if not isinstance(outcome, ResolvedImage):
                return None  # the failure mode's answer must not outlive the failure
            for facts in outcome.platforms:
                report = self._layer_reports(facts)
                parts.append((image, facts.digest, id(report) if report is not None else 0))
        return tuple(parts)

    def _context(self, admission: AdmissionRequest) -> Context:
        ctx = admission.workload.context
        namespace = ctx.namespace or ""
        return Context(
            today=self._today(),
            namespace=namespace,
            # The request carries no namespace labels; the API server's own label is
            # known. Label-based namespace scoping belongs in the webhook
            # configuration's namespaceSelector, which the API server applies.
            namespace_labels={"kubernetes.io/metadata.name": namespace} if namespace else {},
            pod_labels=dict(ctx.labels),
            annotations=dict(ctx.annotations),
            kind=admission.kind,
            name=ctx.display_name,
            operation=admission.operation,
        )

    def _judge(
        self,
        image: str,
        outcome: ResolvedImage | BallastError | Pending,
        context: Context,
        policy: Policy,
    ) -> ImageVerdict:
        if isinstance(outcome, Pending):
            self._metrics.cache_lookups.labels(result="miss").inc()
            self._metrics.failure_mode.labels(
                mode=policy.failure_mode.value, reason="timeout"
            ).inc()
            return evaluate(
                None,
                image=image,
                context=context,
                policy=policy,
                unavailable_reason="facts not fetched before the deadline (still fetching)",
            )
        if isinstance(outcome, BallastError):
            self._metrics.failure_mode.labels(
                mode=policy.failure_mode.value, reason=type(outcome).__name__
            ).inc()
            return evaluate(
                None,
                image=image,
                context=context,
                policy=policy,
                unavailable_reason=_short_reason(outcome),
            )
        self._metrics.cache_lookups.labels(result="hit").inc()
        verdicts = [self._evaluate(facts, image, context, policy) for facts in outcome.platforms]
        # Several platforms (registry.platforms): the worst of them decides.
        return max(verdicts, key=lambda v: v.verdict.rank)

    def _evaluate(
        self, facts: ImageFacts, image: str, context: Context, policy: Policy
    ) -> ImageVerdict:
        """evaluate(), remembered: the same image in the same context gets the same verdict.

        A Deployment's replicas, the ReplicaSet's retries and every pod of a
        rollout ask the same question; evaluation is most of an admission's
        CPU. The key holds everything evaluate reads from facts and context.
        """
        report = self._layer_reports(facts)
        key = (
            image,
            facts.digest,
            id(report) if report is not None else 0,
            evaluation_key(policy, context),
        )
        hit = self._verdicts.get(policy, key)
        if hit is not None:
            return hit
        verdict = evaluate(facts, report, image=image, context=context, policy=policy)
        self._verdicts.put(policy, key, verdict)
        return verdict

    def _record(
        self,
        admission: AdmissionRequest,
        decision_label: str,
        started: float,
        *,
        decision: Decision | None = None,
    ) -> None:
        self._metrics.admissions.labels(
            kind=admission.kind, operation=admission.operation, decision=decision_label
        ).inc()
        elapsed_s = time.monotonic() - started
        self._metrics.latency.labels(kind=admission.kind).observe(elapsed_s)
        # One line per decision, with the request's fields bound for log pipelines.
        logger.info(
            "%s %s: %s",
            admission.kind,
            admission.workload.context.display_name,
            decision_label,
            extra={
                "uid": admission.uid,
                "namespace": admission.namespace,
                "kind": admission.kind,
                "workload": admission.workload.context.display_name,
                "operation": admission.operation,
                "decision": decision_label,
                "dry_run": admission.dry_run,
                "duration_ms": round(elapsed_s * 1000, 2),
                "image": ",".join(v.image for v in decision.images)[:500] if decision else None,
            },
        )
        if decision is None or admission.dry_run:
            return
        for verdict in decision.images:
            for honoured in verdict.exceptions:
                for rule in honoured.applied_to or honoured.rules:
                    self._metrics.exceptions_honoured.labels(
                        rule=rule, namespace=admission.namespace or ""
                    ).inc()


def _short_reason(error: BallastError) -> str:
    text = str(error)
    return text if len(text) <= 200 else text[:199] + "…"


def _audit_annotations(decision: Decision) -> dict[str, str]:
    """What the API server's audit log keeps: the decision, digests and exceptions."""
    annotations = {"decision": decision.verdict.value}
    digests = [f"{v.image}@{v.digest}" for v in decision.images if v.digest]
    if digests:
        annotations["images"] = ",".join(digests)[:4000]
    honoured = [
        f"{v.image}:{'+'.join(e.applied_to or e.rules)}:{e.justification}"
        for v in decision.images
        for e in v.exceptions
    ]
    if honoured:
        annotations["exceptions"] = "; ".join(honoured)[:4000]
    failures = [f"{v.image}: {v.failure}" for v in decision.images if v.failure]
    if failures:
        annotations["failure-mode"] = "; ".join(failures)[:4000]
    return annotations
