"""One audit pass: list → dedup by image → facts → verdicts → :class:`AuditSnapshot`.

Owns the pass itself. Work is proportional to unique images, not pods:
containers are grouped by the digest they run (by normalised reference when
no digest is known yet), each group is resolved once through the facts
lookup (cache first, bounded concurrency, single flight), groups whose
references turn out to point at the same digest are merged, and the policy
is evaluated once per (image, workload). A registry that fails does not fail
the pass: the image is recorded as unknown with the reason, and the policy's
failure mode gives its verdict. When several repositories hold the same
digest and the first fails, the next one is tried.

The layer facts hook ``layer_report_for(facts)`` returns cached layer facts
or ``None`` (rules that need them are skipped); it is called once per
platform manifest per pass. Imports the core (lookup protocol, policy) and
the auditor's input and model modules; must not import Flask, the Kubernetes
client or :mod:`webhook`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Protocol

from auditor.model import (
    AuditSnapshot,
    ContainerSlot,
    Counts,
    ExceptionRecord,
    FindingRecord,
    IgnoredExceptionRecord,
    ImageRecord,
    ImageUse,
    NamespaceTotals,
    NodeTotals,
    PolicySummary,
    Timing,
    WorkloadRecord,
)
from auditor.owners import Attribution, OwnerIndex, WorkloadId, attribute
from auditor.pods import Pod, PodList, RunningContainer
from auditor.source import PodSource
from ballast._errors import BallastError, RegistryError
from ballast.facts import ImageFacts, ResolvedImage
from ballast.policy import (
    EXCEPTION_ANNOTATION,
    FAILURE_RULE,
    Action,
    Context,
    Finding,
    ImageVerdict,
    LayerReportView,
    Policy,
    Status,
    Verdict,
    evaluate,
    evaluation_key,
    parse_exceptions,
)
from ballast.reference import Reference, parse_reference

__all__ = [
    "DEFAULT_MAX_WORKERS",
    "LayerReportFor",
    "Resolver",
    "audit",
    "audit_pods",
    "no_layer_report",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_WORKERS: Final = 16
"""Registry lookups in flight at once during a pass."""
MAX_ALTERNATES: Final = 3
"""References tried per digest when the first repository fails (mirrors, retagged copies)."""
_REASON_CHARS: Final = 300
_NAMESPACE_NAME_LABEL: Final = "kubernetes.io/metadata.name"
_REPORTED: Final = frozenset({Status.FAIL, Status.WARN, Status.ERROR})
_ACTION_ORDER: Final = {Action.ENFORCE: 0, Action.WARN: 1, Action.AUDIT: 2}
_STATUS_ORDER: Final = {Status.FAIL: 0, Status.WARN: 1, Status.ERROR: 2}

LayerReportFor = Callable[[ImageFacts], LayerReportView | None]
"""Cached layer facts for a platform manifest, or ``None`` when not read (yet)."""


def no_layer_report(facts: ImageFacts) -> LayerReportView | None:
    """The default hook: no layer facts; rules that need them are skipped."""
    return None


class Resolver(Protocol):
    """What the pass needs from :class:`ballast.lookup.FactsLookup`."""

    def resolve_many(
        self,
        references: Sequence[str],
        *,
        platforms: Sequence[str] | None = None,
        max_workers: int = 16,
    ) -> list[ResolvedImage | Exception]: ...


def audit(
    source: PodSource,
    resolver: Resolver,
    *,
    policy: Policy,
    layer_report_for: LayerReportFor = no_layer_report,
    max_workers: int = DEFAULT_MAX_WORKERS,
    platforms: Sequence[str] | None = None,
    now: Callable[[], dt.datetime] | None = None,
    today: dt.date | None = None,
) -> AuditSnapshot:
    """List the pods of ``source`` and audit them (see :func:`audit_pods`).

    Raises SourceError when the pods cannot be listed; registry failures never raise.
    """
    clock = now or _utc_now
    started = clock()
    started_mono = time.monotonic()
    pods = source.list_pods()
    list_s = time.monotonic() - started_mono
    return audit_pods(
        pods,
        resolver,
        policy=policy,
        source=source.description,
        layer_report_for=layer_report_for,
        max_workers=max_workers,
        platforms=platforms,
        now=clock,
        today=today,
        started=started,
        list_s=list_s,
    )


def audit_pods(
    pod_list: PodList,
    resolver: Resolver,
    *,
    policy: Policy,
    source: str = "",
    layer_report_for: LayerReportFor = no_layer_report,
    max_workers: int = DEFAULT_MAX_WORKERS,
    platforms: Sequence[str] | None = None,
    now: Callable[[], dt.datetime] | None = None,
    today: dt.date | None = None,
    started: dt.datetime | None = None,
    list_s: float = 0.0,
) -> AuditSnapshot:
    """Audit pods already listed: group, resolve, judge, and build the snapshot.

    ``today`` (for exception expiry) defaults to the UTC date the pass started.
    Never raises for registry failures or odd pods; raises only on programming
    errors.
    """
    clock = now or _utc_now
    started = started or clock()
    day = today or started.date()
    mono = time.monotonic()
    index = OwnerIndex(pod_list.objects)
    placed = [_Placed(pod, attribute(pod, index)) for pod in pod_list.pods]
    groups = _group(placed)
    _resolve(groups, resolver, max_workers=max_workers, platforms=platforms)
    images = _merge(groups)
    resolved_mono = time.monotonic()
    build = _Builder(
        policy=policy,
        index=index,
        today=day,
        layer_report_for=layer_report_for,
    )
    snapshot_parts = build.run(placed, images)
    finished = clock()
    done_mono = time.monotonic()
    timing = Timing(
        started=started,
        finished=finished,
        duration_s=list_s + (done_mono - mono),
        list_s=list_s,
        resolve_s=resolved_mono - mono,
        evaluate_s=done_mono - resolved_mono,
    )
    return AuditSnapshot(
        source=source,
        policy=PolicySummary(
            name=policy.name,
            source=policy.source,
            mode=policy.mode.value,
            failure_mode=policy.failure_mode.value,
        ),
        platforms=tuple(platforms or ()),
        timing=timing,
        counts=snapshot_parts.counts(pod_list),
        images=snapshot_parts.images,
        workloads=snapshot_parts.workloads,
        namespaces=snapshot_parts.namespaces,
        nodes=snapshot_parts.nodes,
        findings=snapshot_parts.findings,
        exceptions=snapshot_parts.exceptions,
        ignored_exceptions=snapshot_parts.ignored,
        notes=pod_list.notes,
    )


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- grouping and resolving -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Placed:
    """A pod with its workload."""

    pod: Pod
    attribution: Attribution


@dataclass(slots=True)
class _Group:
    """Containers that run one image, as known before (and after) resolving."""

    key: str
    candidates: dict[str, Reference] = field(default_factory=dict)
    """References that may serve the image (several repositories can hold one digest)."""
    spec_images: dict[str, None] = field(default_factory=dict)
    members: list[tuple[RunningContainer, _Placed]] = field(default_factory=list)
    attempt: int = 0
    resolved: ResolvedImage | None = None
    asked: list[str] = field(default_factory=list)
    error: Exception | None = None
    reason: str | None = None


def _group(placed: Sequence[_Placed]) -> dict[str, _Group]:
    groups: dict[str, _Group] = {}
    for item in placed:
        for container in item.pod.containers:
            image = container.image
            key = image.key or f"unresolvable:{container.spec_image}"
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group(key)
                if image.reference is None:
                    group.reason = image.note
            if image.reference is not None:
                group.candidates.setdefault(str(image.reference), image.reference)
            if container.spec_image:
                group.spec_images.setdefault(container.spec_image, None)
            group.members.append((container, item))
    return groups


def _resolve(
    groups: Mapping[str, _Group],
    resolver: Resolver,
    *,
    max_workers: int,
    platforms: Sequence[str] | None,
) -> None:
    """Resolve each group's first reference; retry failures with the next one, if any.

    Groups named by digest whose repository is also named by tag elsewhere wait
    for a second round: the tag's lookup caches the facts, so the digest is then
    a cache hit instead of a second fetch of the same manifest and config.
    """
    pending = [g for g in groups.values() if g.candidates]
    tagged = {_name(next(iter(g.candidates))) for g in pending if not _is_pinned(g)}
    later = [g for g in pending if _is_pinned(g) and _name(next(iter(g.candidates))) in tagged]
    held = {id(g) for g in later}
    first = [g for g in pending if id(g) not in held]
    for batch in (first, later):
        _resolve_batch(batch, resolver, max_workers=max_workers, platforms=platforms)


def _is_pinned(group: _Group) -> bool:
    return "@sha256:" in next(iter(group.candidates))


def _name(reference: str) -> str:
    """``registry/repository`` of a reference string (itself when it does not parse)."""
    try:
        return parse_reference(reference).name
    except BallastError:
        return reference


def _resolve_batch(
    pending: list[_Group],
    resolver: Resolver,
    *,
    max_workers: int,
    platforms: Sequence[str] | None,
) -> None:
    while pending:
        references = [list(g.candidates)[g.attempt] for g in pending]
        results = resolver.resolve_many(references, platforms=platforms, max_workers=max_workers)
        retry: list[_Group] = []
        for group, reference, result in zip(pending, references, results, strict=True):
            group.asked.append(reference)
            if isinstance(result, ResolvedImage):
                group.resolved = result
                continue
            if group.error is None:
                group.error = result
                group.reason = _reason(result)
            logger.info("facts for %s not available: %s", reference, _reason(result))
            group.attempt += 1
            if group.attempt < min(len(group.candidates), MAX_ALTERNATES):
                retry.append(group)
        pending = retry


def _reason(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 1] + "…"


@dataclass(slots=True)
class _Image:
    """A unique image after resolving: one or more groups that share a digest."""

    key: str
    groups: list[_Group]

    @property
    def resolved(self) -> ResolvedImage | None:
        return next((g.resolved for g in self.groups if g.resolved is not None), None)

    @property
    def members(self) -> list[tuple[RunningContainer, _Placed]]:
        return [m for g in self.groups for m in g.members]


def _merge(groups: Mapping[str, _Group]) -> list[_Image]:
    """Merge groups whose references resolved to the same digest (a tag and its digest)."""
    images: dict[str, _Image] = {}
    for group in groups.values():
        key = group.resolved.digest if group.resolved is not None else group.key
        image = images.get(key)
        if image is None:
            images[key] = _Image(key, [group])
        else:
            image.groups.append(group)
    return list(images.values())


# -- judging and assembling -------------------------------------------------------------------


@dataclass(slots=True)
class _Parts:
    images: tuple[ImageRecord, ...]
    workloads: tuple[WorkloadRecord, ...]
    namespaces: tuple[NamespaceTotals, ...]
    nodes: tuple[NodeTotals, ...]
    findings: tuple[FindingRecord, ...]
    exceptions: tuple[ExceptionRecord, ...]
    ignored: tuple[IgnoredExceptionRecord, ...]

    def counts(self, pod_list: PodList) -> Counts:
        pods = pod_list.pods
        containers = [c for p in pods for c in p.containers]
        known = [i for i in self.images if not i.is_unknown]
        return Counts(
            pods=len(pods),
            containers=len(containers),
            workloads=len(self.workloads),
            namespaces=len(self.namespaces),
            nodes=len(self.nodes),
            unique_images=len(self.images),
            unknown_images=len(self.images) - len(known),
            registry_errors=sum(1 for i in self.images if i.is_registry_error),
            failed_findings=sum(1 for f in self.findings if f.finding.is_failure),
            exceptions_honoured=len(self.exceptions),
            exceptions_ignored=len(self.ignored),
            skipped_items=pod_list.skipped,
            phases=_frozen_counts(p.phase for p in pods),
            container_types=_frozen_counts(c.type.value for c in containers),
            images_by_verdict=MappingProxyType(
                {v.value: sum(1 for i in known if i.verdict is v) for v in Verdict}
            ),
        )


def _frozen_counts(values: Iterable[str]) -> Mapping[str, int]:
    counter = Counter(values)
    return MappingProxyType(dict(sorted(counter.items())))


@dataclass(slots=True)
class _FindingAcc:
    image: str
    finding: Finding
    workloads: dict[WorkloadId, None] = field(default_factory=dict)
    nodes: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Builder:
    """Judges each (image, workload) and assembles the records."""

    policy: Policy
    index: OwnerIndex
    today: dt.date
    layer_report_for: LayerReportFor
    _layer_cache: dict[str, LayerReportView | None] = field(default_factory=dict)
    _contexts: dict[tuple[WorkloadId, str], Context] = field(default_factory=dict)
    _verdicts: dict[tuple[object, ...], ImageVerdict] = field(default_factory=dict)

    def run(self, placed: Sequence[_Placed], images: Sequence[_Image]) -> _Parts:
        records = [self._image(image) for image in images]
        records.sort(key=_image_order)
        findings = self._findings(records)
        workloads = self._workloads(placed, records)
        exceptions, ignored = self._exceptions(placed, records)
        return _Parts(
            images=tuple(records),
            workloads=workloads,
            namespaces=self._namespaces(placed, records, findings),
            nodes=self._nodes(placed, records),
            findings=findings,
            exceptions=exceptions,
            ignored=ignored,
        )

    # -- images ------------------------------------------------------------------------------

    def _image(self, image: _Image) -> ImageRecord:
        resolved = image.resolved
        first = image.groups[0]
        error = None if resolved is not None else first.error
        reason = None if resolved is not None else first.reason or "no facts"
        reports = tuple(self._layer_report(f) for f in resolved.platforms) if resolved else ()
        by_workload: dict[WorkloadId, list[tuple[RunningContainer, _Placed]]] = {}
        for container, item in image.members:
            by_workload.setdefault(item.attribution.workload, []).append((container, item))
        uses = tuple(
            self._use(image.key, workload, members, resolved, reports, reason)
            for workload, members in sorted(by_workload.items())
        )
        asked = [a for g in image.groups for a in g.asked]
        if resolved is not None:
            answered = next(a for g in image.groups if g.resolved for a in g.asked[-1:])
            asked = [answered, *asked]
        references = tuple(dict.fromkeys(asked))
        spec_images = tuple(dict.fromkeys(s for g in image.groups for s in g.spec_images))
        members = image.members
        pods = {(c.namespace, c.pod) for c, _ in members}
        return ImageRecord(
            key=image.key,
            digest=resolved.digest if resolved is not None else _known_digest(image),
            references=references,
            spec_images=spec_images,
            resolved=resolved,
            layer_reports=reports,
            unknown_reason=reason,
            error_type=type(error).__name__
            if error is not None
            else (None if resolved is not None else "InvalidReference"),
            is_registry_error=isinstance(error, RegistryError),
            uses=uses,
            pods=len(pods),
            containers=len(members),
            nodes=_sorted_nodes(c.node for c, _ in members),
            namespaces=tuple(sorted({c.namespace for c, _ in members})),
            verdict=max((u.verdict.verdict for u in uses), key=lambda v: v.rank),
        )

    def _layer_report(self, facts: ImageFacts) -> LayerReportView | None:
        if facts.digest not in self._layer_cache:
            try:
                self._layer_cache[facts.digest] = self.layer_report_for(facts)
            except Exception:  # a broken hook must not fail the pass
                logger.exception(
                    "layer report for %s failed; rules needing it are skipped", facts.digest
                )
                self._layer_cache[facts.digest] = None
        return self._layer_cache[facts.digest]

    def _use(
        self,
        image_key: str,
        workload: WorkloadId,
        members: list[tuple[RunningContainer, _Placed]],
        resolved: ResolvedImage | None,
        reports: tuple[LayerReportView | None, ...],
        reason: str | None,
    ) -> ImageUse:
        container, item = members[0]
        context = self._context(item)
        spec_image = container.spec_image or (
            str(container.image.reference) if container.image.reference else ""
        )
        memo_key = self._verdict_key(image_key, spec_image, context)
        verdict = self._verdicts.get(memo_key)
        if verdict is None:
            verdict = self._judge(spec_image, context, resolved, reports, reason)
            self._verdicts[memo_key] = verdict
        slots = tuple(dict.fromkeys(ContainerSlot(c.name, c.type) for c, _ in members))
        return ImageUse(
            workload=workload,
            spec_images=tuple(dict.fromkeys(c.spec_image for c, _ in members if c.spec_image)),
            containers=slots,
            pods=len({c.pod for c, _ in members}),
            nodes=_sorted_nodes(c.node for c, _ in members),
            verdict=verdict,
        )

    def _judge(
        self,
        spec_image: str,
        context: Context,
        resolved: ResolvedImage | None,
        reports: tuple[LayerReportView | None, ...],
        reason: str | None,
    ) -> ImageVerdict:
        if resolved is None:
            return evaluate(
                None,
                image=spec_image,
                context=context,
                policy=self.policy,
                unavailable_reason=f"image facts unknown: {reason}",
            )
        verdicts = [
            evaluate(facts, report, image=spec_image, context=context, policy=self.policy)
            for facts, report in zip(resolved.platforms, reports, strict=True)
        ]
        # Several platforms selected: the worst of them decides, as in the webhook.
        return max(verdicts, key=lambda v: v.verdict.rank)

    def _verdict_key(self, image_key: str, spec_image: str, context: Context) -> tuple[object, ...]:
        """The same image in many workloads of a namespace (a sidecar) is judged once: the
        verdict depends on the facts (fixed by ``image_key`` within a pass), the image text
        and what evaluate reads from the context (:func:`ballast.policy.evaluation_key`)."""
        return (image_key, spec_image, evaluation_key(self.policy, context))

    def _context(self, item: _Placed) -> Context:
        pod, attribution = item.pod, item.attribution
        workload = attribution.workload
        cache_key = (workload, pod.name)
        cached = self._contexts.get(cache_key)
        if cached is not None:
            return cached
        listed = attribution.listed.annotations if attribution.listed is not None else {}
        # Pod (template) annotations win, as in the webhook: they are what the pods run with.
        annotations = {**listed, **pod.annotations}
        labels = self.index.namespace_labels(pod.namespace)
        if labels is None:
            labels = {_NAMESPACE_NAME_LABEL: pod.namespace}
        context = Context(
            today=self.today,
            namespace=pod.namespace,
            namespace_labels=labels,
            pod_labels=pod.labels,
            annotations=annotations,
            kind=workload.kind,
            name=workload.name,
        )
        self._contexts[cache_key] = context
        return context

    # -- findings ----------------------------------------------------------------------------

    def _findings(self, records: Sequence[ImageRecord]) -> tuple[FindingRecord, ...]:
        found: dict[tuple[object, ...], _FindingAcc] = {}
        for record in records:
            for use in record.uses:
                for finding in use.verdict.findings:
                    if finding.status not in _REPORTED or finding.rule == FAILURE_RULE:
                        continue
                    where = finding.where
                    key = (
                        record.key,
                        finding.rule,
                        finding.detail,
                        finding.status,
                        finding.message,
                        where.layer_index if where is not None else None,
                        finding.exception,
                    )
                    acc = found.get(key)
                    if acc is None:
                        acc = found[key] = _FindingAcc(record.key, finding)
                    acc.workloads.setdefault(use.workload, None)
                    acc.nodes.update(use.nodes)
        sizes = {r.key: r.compressed_bytes or 0 for r in records}
        result = [
            FindingRecord(
                image=acc.image,
                finding=acc.finding,
                workloads=tuple(acc.workloads),
                namespaces=tuple(sorted({w.namespace for w in acc.workloads})),
                nodes=len(acc.nodes - {""}),
            )
            for acc in found.values()
        ]
        result.sort(
            key=lambda f: (
                _STATUS_ORDER.get(f.finding.status, 3),
                _ACTION_ORDER[f.finding.action],
                -(f.finding.savings_bytes or 0),
                -sizes.get(f.image, 0),
                f.image,
                f.finding.rule,
                f.finding.message,
            )
        )
        return tuple(result)

    # -- workloads, namespaces, nodes -----------------------------------------------------

    def _workloads(
        self, placed: Sequence[_Placed], records: Sequence[ImageRecord]
    ) -> tuple[WorkloadRecord, ...]:
        pods_of: dict[WorkloadId, list[_Placed]] = {}
        for item in placed:
            pods_of.setdefault(item.attribution.workload, []).append(item)
        uses_of: dict[WorkloadId, list[tuple[ImageRecord, ImageUse]]] = {}
        for record in records:
            for use in record.uses:
                uses_of.setdefault(use.workload, []).append((record, use))
        result = []
        for workload, items in pods_of.items():
            uses = uses_of.get(workload, [])
            known = [(r, u) for r, u in uses if not r.is_unknown]
            result.append(
                WorkloadRecord(
                    id=workload,
                    rule=items[0].attribution.rule,
                    images=tuple(r.key for r, _ in uses),
                    spec_images=tuple(dict.fromkeys(s for _, u in uses for s in u.spec_images)),
                    pods=len(items),
                    containers=sum(len(i.pod.containers) for i in items),
                    nodes=_sorted_nodes(i.pod.node for i in items),
                    compressed_bytes=sum(r.compressed_bytes or 0 for r, _ in known),
                    pull_footprint_bytes=sum(
                        (r.compressed_bytes or 0) * len(u.nodes) for r, u in known
                    ),
                    unknown_images=len(uses) - len(known),
                    verdict=max(
                        (u.verdict.verdict for _, u in uses),
                        key=lambda v: v.rank,
                        default=Verdict.ALLOW,
                    ),
                    failed_findings=sum(len(u.verdict.failures) for _, u in uses),
                )
            )
        result.sort(key=lambda w: (-w.pull_footprint_bytes, -w.compressed_bytes, w.id))
        return tuple(result)

    def _namespaces(
        self,
        placed: Sequence[_Placed],
        records: Sequence[ImageRecord],
        findings: Sequence[FindingRecord],
    ) -> tuple[NamespaceTotals, ...]:
        pods: Counter[str] = Counter()
        containers: Counter[str] = Counter()
        workloads: dict[str, set[WorkloadId]] = {}
        for item in placed:
            namespace = item.pod.namespace
            pods[namespace] += 1
            containers[namespace] += len(item.pod.containers)
            workloads.setdefault(namespace, set()).add(item.attribution.workload)
        images: dict[str, set[str]] = {}
        unknown: Counter[str] = Counter()
        size: Counter[str] = Counter()
        footprint: Counter[str] = Counter()
        for record in records:
            nodes_in: dict[str, set[str]] = {}
            for use in record.uses:
                nodes_in.setdefault(use.workload.namespace, set()).update(use.nodes)
            for namespace, nodes in nodes_in.items():
                images.setdefault(namespace, set()).add(record.key)
                if record.is_unknown:
                    unknown[namespace] += 1
                    continue
                size[namespace] += record.compressed_bytes or 0
                footprint[namespace] += (record.compressed_bytes or 0) * len(nodes - {""})
        failed: Counter[str] = Counter()
        saved: dict[str, dict[tuple[str, str, str], int]] = {}
        for finding in findings:
            if not finding.finding.is_failure:
                continue
            for namespace in finding.namespaces:
                failed[namespace] += 1
                if finding.savings_bytes:
                    key = (finding.image, finding.finding.rule, finding.finding.detail)
                    saved.setdefault(namespace, {})[key] = finding.savings_bytes
        result = [
            NamespaceTotals(
                name=namespace,
                pods=pods[namespace],
                containers=containers[namespace],
                workloads=len(workloads.get(namespace, ())),
                images=len(images.get(namespace, ())),
                unknown_images=unknown[namespace],
                compressed_bytes=size[namespace],
                pull_footprint_bytes=footprint[namespace],
                failed_findings=failed[namespace],
                savings_bytes=sum(saved.get(namespace, {}).values()),
            )
            for namespace in pods
        ]
        result.sort(key=lambda n: (-n.pull_footprint_bytes, -n.compressed_bytes, n.name))
        return tuple(result)

    def _nodes(
        self, placed: Sequence[_Placed], records: Sequence[ImageRecord]
    ) -> tuple[NodeTotals, ...]:
        pods: Counter[str] = Counter(i.pod.node for i in placed if i.pod.node)
        images: dict[str, set[str]] = {}
        size: Counter[str] = Counter()
        for record in records:
            for node in record.nodes:
                images.setdefault(node, set()).add(record.key)
                size[node] += record.compressed_bytes or 0
        result = [
            NodeTotals(
                name=node,
                pods=pods[node],
                images=len(images.get(node, ())),
                compressed_bytes=size[node],
            )
            for node in pods
        ]
        result.sort(key=lambda n: (-n.compressed_bytes, n.name))
        return tuple(result)

    # -- exceptions --------------------------------------------------------------------------

    def _exceptions(
        self, placed: Sequence[_Placed], records: Sequence[ImageRecord]
    ) -> tuple[tuple[ExceptionRecord, ...], tuple[IgnoredExceptionRecord, ...]]:
        applied: dict[tuple[WorkloadId, int], tuple[dict[str, None], dict[str, None]]] = {}
        for record in records:
            for use in record.uses:
                for honoured in use.verdict.exceptions:
                    if not honoured.applied_to:
                        continue
                    rules, images = applied.setdefault((use.workload, honoured.index), ({}, {}))
                    rules.update(dict.fromkeys(honoured.applied_to))
                    images[record.key] = None
        first: dict[WorkloadId, _Placed] = {}
        for item in placed:
            first.setdefault(item.attribution.workload, item)
        honoured_records: list[ExceptionRecord] = []
        ignored_records: list[IgnoredExceptionRecord] = []
        for workload, item in sorted(first.items()):
            context = self._context(item)
            if EXCEPTION_ANNOTATION not in context.annotations:
                continue
            source = "pod" if EXCEPTION_ANNOTATION in item.pod.annotations else "workload"
            valid, ignored = parse_exceptions(context.annotations, today=self.today)
            for exception in valid:
                rules, images = applied.get((workload, exception.index), ({}, {}))
                honoured_records.append(
                    ExceptionRecord(
                        workload=workload,
                        index=exception.index,
                        rules=exception.rules,
                        justification=exception.justification,
                        expires=exception.expires,
                        days_left=exception.days_left(self.today),
                        limit=exception.limit,
                        images=exception.images,
                        applied_to=tuple(rules),
                        applied_images=tuple(images),
                        source=source,
                    )
                )
            ignored_records.extend(
                IgnoredExceptionRecord(
                    workload=workload, index=i.index, reason=i.reason, rules=i.rules
                )
                for i in ignored
            )
        return tuple(honoured_records), tuple(ignored_records)


def _known_digest(image: _Image) -> str | None:
    for group in image.groups:
        for candidate in group.candidates.values():
            if candidate.digest:
                return candidate.digest
    return None


def _sorted_nodes(nodes: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({n for n in nodes if n}))


def _image_order(record: ImageRecord) -> tuple[int, int, str]:
    size = record.compressed_bytes
    return (1 if size is None else 0, -(size or 0), record.key)
