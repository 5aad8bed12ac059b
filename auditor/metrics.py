"""The auditor's Prometheus metrics: :class:`AuditCollector` (state) and :class:`AuditMetrics`.

Owns every ``ballast_`` series the auditor exports. What runs in the cluster
is *state*: :class:`AuditCollector` builds its families from the latest
:class:`~auditor.model.AuditSnapshot` on each scrape, so a workload or image
that has gone leaves no stale series behind, and a failed pass keeps the last
good picture (dashboards do not go blank; the staleness alert fires instead).
Passes and failures are *events*: counters and a histogram in
:class:`AuditMetrics`. Nothing here touches the default registry: the
``CollectorRegistry`` is passed in. Imports the auditor model and
``prometheus_client``; must not import Flask, the Kubernetes client or
:mod:`webhook` (and the scanning core must not import this module).

Sizes say their kind: ``compressed`` is what a node pulls (manifest sizes),
``uncompressed`` is unpacked bytes on disk (needs layer facts, so those series
exist only for images whose layers have been read). *Pull footprint* is
compressed size × distinct nodes running the image.

Cardinality is bounded by what runs, never by pods: per-image series by the
unique known images (digest), per-workload series by the (workload, image)
pairs of pod templates, then namespaces, nodes, and closed sets (rules,
categories, severities, statuses, verdicts, error classes). ``repository``
and ``reference`` follow from the digest (and workload), so they add no
series. Label values that do not apply are empty (``category=""`` for a
size rule), which Prometheus treats as the label being absent.

Scraped through Kubernetes service discovery, the ``namespace`` label here
clashes with the target's own ``namespace``: scrape with ``honor_labels: true``
(``honorLabels: true`` on a ServiceMonitor), as for kube-state-metrics.

Per image digest (unique known images; labels ``digest``, ``repository``):

================================== ======= ===============================================
metric                             type    meaning
================================== ======= ===============================================
ballast_image_compressed_bytes     gauge   compressed size (layers + config), primary
                                           platform: what a node pulls
ballast_image_uncompressed_bytes   gauge   unpacked size; only when layer facts are known
ballast_image_layers               gauge   layers in the manifest
ballast_image_wasted_bytes         gauge   dive's wasted bytes (unpacked; layer facts)
ballast_image_hidden_bytes         gauge   shipped in a layer, not visible in the final
                                           filesystem (unpacked; layer facts)
ballast_image_pods                 gauge   pods running the image
ballast_image_nodes                gauge   distinct nodes running (so pulling) it
ballast_image_pull_footprint_bytes gauge   compressed size × nodes
ballast_image_info                 info    + ``reference`` (as pod specs write it),
                                           ``platform`` (the one sizes are for)
ballast_image_failed_findings      gauge   + ``rule``, ``category``, ``namespace``: failing
                                           findings where the image runs
================================== ======= ===============================================

Per workload and image (labels ``namespace``, ``kind``, ``name``, ``digest``, ``reference``;
``digest`` is empty when neither the pod status nor the registry gave one):

===================================== ======= ==========================================
ballast_workload_image_info           info    the workload runs the image
ballast_workload_image_pods           gauge   its pods (replicas) running the image
ballast_workload_image_nodes          gauge   distinct nodes where it runs the image
ballast_workload_pull_footprint_bytes gauge   (``namespace``, ``kind``, ``name`` only)
                                              Σ over its images of size × its nodes
===================================== ======= ==========================================

Per namespace (``namespace``), node (``node``), rule and the pass itself:

====================================================== ======= ====================================
ballast_namespace_images_compressed_bytes              gauge   Σ compressed size of its unique
                                                               known images
ballast_namespace_pull_footprint_bytes                 gauge   Σ over its images of size × nodes
ballast_namespace_potential_savings_uncompressed_bytes gauge   unpacked bytes its failing findings
                                                               could save
ballast_node_images_compressed_bytes                   gauge   ``node``: Σ compressed size of the
                                                               unique images on the node
ballast_findings                                       gauge   ``rule``, ``category``,
                                                               ``severity``, ``status`` (fail;
                                                               warn: waived; error), ``namespace``
ballast_potential_savings_uncompressed_bytes           gauge   ``rule``, ``category``: unpacked
                                                               bytes failing findings could save
ballast_exceptions_in_force                            gauge   ``rule``, ``namespace``: valid
                                                               ``ballast.dev/exception`` entries
ballast_exceptions_ignored                             gauge   ``namespace``: entries ignored
                                                               (expired, unjustified, malformed)
ballast_audit_images                                   gauge   ``verdict``: unique images by worst
                                                               verdict, or ``unknown`` (no facts)
ballast_audit_unknown_images                           gauge   ``registry``, ``error_type``: images
                                                               without facts
ballast_audit_pods                                     gauge   pods seen by the last successful pass
ballast_audit_workloads                                gauge   workloads it saw
ballast_audit_nodes                                    gauge   nodes it saw
ballast_audit_last_duration_seconds                    gauge   the last successful pass
ballast_audit_last_success_timestamp_seconds           gauge   its end, Unix time (0: none yet)
ballast_audit_last_failure_timestamp_seconds           gauge   the last failed pass (0: none yet)
ballast_audit_interval_seconds                         gauge   expected gap between passes (if set)
ballast_auditor_start_timestamp_seconds                gauge   when this auditor started
ballast_audit_passes_total                             counter ``result``: success, failure
ballast_audit_failures_total                           counter ``error_type``: failed passes
ballast_audit_duration_seconds                         histo.  successful passes
ballast_audit_registry_errors_total                    counter ``registry``, ``error_type``: image
                                                               lookups a registry failed, per pass
====================================================== ======= ====================================

Findings are counted per finding record (an image, a rule, a check) once per
namespace that runs it, so summing ``ballast_findings`` over namespaces counts
an image shared by two namespaces twice; ``ballast_potential_savings_uncompressed_bytes``
counts each image once (per image copy, as the snapshot does).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, InfoMetricFamily, Metric

from auditor.model import AuditSnapshot, ImageRecord
from ballast.policy import Status, Verdict

__all__ = [
    "DURATION_BUCKETS_S",
    "EVENT_METRICS",
    "STATE_METRICS",
    "AuditCollector",
    "AuditMetrics",
    "MetricSpec",
    "metric_rows",
]

DURATION_BUCKETS_S: Final = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
"""Pass durations from a small cluster (a second) to a cold 20,000-pod one (many minutes)."""

UNKNOWN_VERDICT: Final = "unknown"
"""``ballast_audit_images{verdict}`` for images without facts (no verdict of their own)."""

Kind = Literal["gauge", "info", "counter", "histogram"]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One family: its name (without ``_info``/``_total``), type, label names and help."""

    name: str
    kind: Kind
    labels: tuple[str, ...]
    help: str

    @property
    def exposed_name(self) -> str:
        """The name in the exposition (``_info`` and ``_total`` added as the types want)."""
        suffix = {"info": "_info", "counter": "_total"}.get(self.kind, "")
        return self.name + suffix


_IMAGE: Final = ("digest", "repository")
_WORKLOAD: Final = ("namespace", "kind", "name")
_WORKLOAD_IMAGE: Final = (*_WORKLOAD, "digest", "reference")


def _g(name: str, labels: tuple[str, ...], help_text: str) -> MetricSpec:
    return MetricSpec(name, "gauge", labels, help_text)


STATE_METRICS: Final[tuple[MetricSpec, ...]] = (
    _g(
        "ballast_image_compressed_bytes",
        _IMAGE,
        "Compressed size of a running image (layers + config, what a node pulls), "
        "primary platform.",
    ),
    _g(
        "ballast_image_uncompressed_bytes",
        _IMAGE,
        "Unpacked size of a running image on disk; only for images whose layers were read.",
    ),
    _g("ballast_image_layers", _IMAGE, "Layers in a running image's manifest."),
    _g(
        "ballast_image_wasted_bytes",
        _IMAGE,
        "Unpacked bytes wasted by a running image (dive's wastedBytes); layer facts only.",
    ),
    _g(
        "ballast_image_hidden_bytes",
        _IMAGE,
        "Unpacked bytes shipped in a running image's layers but not visible in its final "
        "filesystem; layer facts only.",
    ),
    _g("ballast_image_pods", _IMAGE, "Pods running the image."),
    _g("ballast_image_nodes", _IMAGE, "Distinct nodes running (so having pulled) the image."),
    _g(
        "ballast_image_pull_footprint_bytes",
        _IMAGE,
        "Compressed size of the image times the distinct nodes running it.",
    ),
    MetricSpec(
        "ballast_image",
        "info",
        (*_IMAGE, "reference", "platform"),
        "A running image: its repository, a reference as pod specs write it, and the "
        "platform its sizes are for.",
    ),
    _g(
        "ballast_image_failed_findings",
        (*_IMAGE, "rule", "category", "namespace"),
        "Failing policy findings of a running image, by rule and category, in each namespace "
        "that runs it.",
    ),
    MetricSpec(
        "ballast_workload_image",
        "info",
        _WORKLOAD_IMAGE,
        "A workload runs an image (digest empty when it could not be resolved).",
    ),
    _g(
        "ballast_workload_image_pods",
        _WORKLOAD_IMAGE,
        "Pods (replicas) of the workload running the image.",
    ),
    _g(
        "ballast_workload_image_nodes",
        _WORKLOAD_IMAGE,
        "Distinct nodes where the workload runs the image.",
    ),
    _g(
        "ballast_workload_pull_footprint_bytes",
        _WORKLOAD,
        "Sum over the workload's known images of compressed size times the nodes it runs them on.",
    ),
    _g(
        "ballast_namespace_images_compressed_bytes",
        ("namespace",),
        "Sum of the compressed sizes of the unique known images running in the namespace.",
    ),
    _g(
        "ballast_namespace_pull_footprint_bytes",
        ("namespace",),
        "Sum over the namespace's known images of compressed size times the nodes it runs them on.",
    ),
    _g(
        "ballast_namespace_potential_savings_uncompressed_bytes",
        ("namespace",),
        "Unpacked bytes the failing findings of the namespace's images could save (each "
        "image copy once).",
    ),
    _g(
        "ballast_node_images_compressed_bytes",
        ("node",),
        "Sum of the compressed sizes of the unique known images running on the node.",
    ),
    _g(
        "ballast_findings",
        ("rule", "category", "severity", "status", "namespace"),
        "Policy findings on running images (fail; warn: waived by an exception; error: not "
        "evaluable), once per namespace running the image.",
    ),
    _g(
        "ballast_potential_savings_uncompressed_bytes",
        ("rule", "category"),
        "Unpacked bytes the failing findings could save, each image copy once.",
    ),
    _g(
        "ballast_exceptions_in_force",
        ("rule", "namespace"),
        "Valid ballast.dev/exception entries of running workloads, by rule they cover.",
    ),
    _g(
        "ballast_exceptions_ignored",
        ("namespace",),
        "ballast.dev/exception entries of running workloads that were ignored (expired, "
        "unjustified, malformed).",
    ),
    _g(
        "ballast_audit_images",
        ("verdict",),
        "Unique running images by worst verdict; unknown: no facts.",
    ),
    _g(
        "ballast_audit_unknown_images",
        ("registry", "error_type"),
        "Unique running images without facts, by registry host and error class.",
    ),
    _g("ballast_audit_pods", (), "Pods seen by the last successful pass."),
    _g("ballast_audit_workloads", (), "Workloads seen by the last successful pass."),
    _g("ballast_audit_nodes", (), "Nodes seen by the last successful pass."),
    _g(
        "ballast_audit_last_duration_seconds",
        (),
        "Duration of the last successful audit pass.",
    ),
    _g(
        "ballast_audit_last_success_timestamp_seconds",
        (),
        "Unix time the last successful audit pass finished (0: none yet).",
    ),
    _g(
        "ballast_audit_last_failure_timestamp_seconds",
        (),
        "Unix time the last audit pass failed (0: none yet).",
    ),
    _g(
        "ballast_audit_interval_seconds",
        (),
        "Expected seconds between audit passes (the schedule), for staleness alerts.",
    ),
    _g(
        "ballast_auditor_start_timestamp_seconds",
        (),
        "Unix time this auditor started.",
    ),
)
"""The families :class:`AuditCollector` builds, in exposition order."""

EVENT_METRICS: Final[tuple[MetricSpec, ...]] = (
    MetricSpec(
        "ballast_audit_passes",
        "counter",
        ("result",),
        "Audit passes by result (success, failure).",
    ),
    MetricSpec(
        "ballast_audit_failures",
        "counter",
        ("error_type",),
        "Failed audit passes by error class (ClusterError, PodListError ...).",
    ),
    MetricSpec(
        "ballast_audit_duration_seconds",
        "histogram",
        (),
        "Duration of successful audit passes.",
    ),
    MetricSpec(
        "ballast_audit_registry_errors",
        "counter",
        ("registry", "error_type"),
        "Image lookups a registry failed during audit passes (each unique image once per pass).",
    ),
)
"""The counters and the histogram :class:`AuditMetrics` updates."""

_SPECS: Final = {spec.name: spec for spec in STATE_METRICS}

Rows = Mapping[str, Mapping[tuple[str, ...], float]]
"""Per family name: label values (in the spec's order) → value."""


def metric_rows(snapshot: AuditSnapshot) -> dict[str, dict[tuple[str, ...], float]]:
    """The snapshot's series: family name → label values → value (pure).

    Families about the audit process itself (timestamps, interval) are not
    here; :class:`AuditCollector` adds them. Label tuples that would collide
    (two spellings of one thing) are merged: counts add up, sizes and info
    keep one value, so an exposition never holds a duplicate series.
    """
    rows = _RowBuilder()
    images = {image.key: image for image in snapshot.images}
    for image in snapshot.images:
        _image_rows(rows, image)
    for workload in snapshot.workloads:
        rows.put(
            "ballast_workload_pull_footprint_bytes",
            (workload.id.namespace, workload.id.kind, workload.id.name),
            workload.pull_footprint_bytes,
        )
    for ns in snapshot.namespaces:
        rows.put("ballast_namespace_images_compressed_bytes", (ns.name,), ns.compressed_bytes)
        rows.put("ballast_namespace_pull_footprint_bytes", (ns.name,), ns.pull_footprint_bytes)
        rows.put(
            "ballast_namespace_potential_savings_uncompressed_bytes", (ns.name,), ns.savings_bytes
        )
    for node in snapshot.nodes:
        rows.put("ballast_node_images_compressed_bytes", (node.name,), node.compressed_bytes)
    for record in snapshot.findings:
        finding = record.finding
        category = finding.category.value if finding.category is not None else ""
        severity = finding.severity.value if finding.severity is not None else ""
        for namespace in record.namespaces:
            rows.add(
                "ballast_findings",
                (finding.rule, category, severity, finding.status.value, namespace),
            )
        if finding.status is not Status.FAIL:
            continue
        rows.add(
            "ballast_potential_savings_uncompressed_bytes",
            (finding.rule, category),
            record.savings_bytes or 0,
        )
        found_in = images.get(record.image)
        if found_in is not None and not found_in.is_unknown and found_in.digest:
            for namespace in record.namespaces:
                rows.add(
                    "ballast_image_failed_findings",
                    (found_in.digest, _repository(found_in), finding.rule, category, namespace),
                )
    for exception in snapshot.exceptions:
        for rule in exception.rules:
            rows.add("ballast_exceptions_in_force", (rule, exception.workload.namespace))
    for ignored in snapshot.ignored_exceptions:
        rows.add("ballast_exceptions_ignored", (ignored.workload.namespace,))
    counts = snapshot.counts
    for verdict in Verdict:
        rows.put("ballast_audit_images", (verdict.value,), counts.images_by_verdict.get(verdict, 0))
    rows.put("ballast_audit_images", (UNKNOWN_VERDICT,), counts.unknown_images)
    for image in snapshot.images:
        if image.is_unknown:
            rows.add("ballast_audit_unknown_images", (image.registry, image.error_type or ""))
    rows.put("ballast_audit_pods", (), counts.pods)
    rows.put("ballast_audit_workloads", (), counts.workloads)
    rows.put("ballast_audit_nodes", (), counts.nodes)
    rows.put("ballast_audit_last_duration_seconds", (), snapshot.timing.duration_s)
    return rows.rows


def _image_rows(rows: _RowBuilder, image: ImageRecord) -> None:
    digest = image.digest or ""
    for use in image.uses:
        reference = _first(use.spec_images, image.spec_images, image.references) or image.key
        workload = (use.workload.namespace, use.workload.kind, use.workload.name)
        pair = (*workload, digest, reference)
        rows.put("ballast_workload_image", pair, 1)
        rows.add("ballast_workload_image_pods", pair, use.pods)
        rows.put("ballast_workload_image_nodes", pair, len(use.nodes))
    size = image.compressed_bytes
    if image.is_unknown or size is None or not digest:
        return
    labels = (digest, _repository(image))
    rows.put("ballast_image_compressed_bytes", labels, size)
    rows.put("ballast_image_layers", labels, image.layer_count or 0)
    rows.put("ballast_image_pods", labels, image.pods)
    rows.put("ballast_image_nodes", labels, len(image.nodes))
    rows.put("ballast_image_pull_footprint_bytes", labels, image.pull_footprint_bytes or 0)
    reference = _first(image.spec_images, image.references) or digest
    rows.put("ballast_image", (*labels, reference, image.platform or ""), 1)
    report = image.layer_report
    if report is not None:
        rows.put("ballast_image_uncompressed_bytes", labels, report.uncompressed_bytes)
        rows.put("ballast_image_wasted_bytes", labels, report.wasted_bytes)
        rows.put("ballast_image_hidden_bytes", labels, report.hidden_bytes)


def _repository(image: ImageRecord) -> str:
    return image.repositories[0] if image.repositories else ""


def _first(*candidates: tuple[str, ...]) -> str:
    return next((c[0] for c in candidates if c), "")


@dataclass(slots=True)
class _RowBuilder:
    rows: dict[str, dict[tuple[str, ...], float]] = field(default_factory=dict)

    def put(self, name: str, labels: tuple[str, ...], value: float) -> None:
        """Set a value; the first one wins when a label tuple repeats (sizes, info)."""
        self._family(name, labels).setdefault(labels, float(value))

    def add(self, name: str, labels: tuple[str, ...], value: float = 1) -> None:
        """Add to a count."""
        family = self._family(name, labels)
        family[labels] = family.get(labels, 0.0) + value

    def _family(self, name: str, labels: tuple[str, ...]) -> dict[tuple[str, ...], float]:
        spec = _SPECS[name]
        if len(labels) != len(spec.labels):
            raise RuntimeError(f"{name} takes labels {spec.labels}, got {labels!r}")
        return self.rows.setdefault(name, {})


@dataclass(frozen=True, slots=True)
class _State:
    """What a scrape reads: swapped whole, so a scrape never sees half a pass."""

    rows: Rows
    last_success_s: float
    last_failure_s: float
    interval_s: float | None


class AuditCollector:
    """State metrics from the latest snapshot (see the module docstring for the table).

    ``update`` and ``record_failure`` are called by the audit loop; ``collect``
    by scrapes, on other threads. The rows are computed once per pass, and
    each scrape only turns them into families, so a scrape costs no policy
    or registry work.
    """

    def __init__(
        self,
        *,
        interval_s: float | None = None,
        started_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._started_s = started_s if started_s is not None else clock()
        self._lock = threading.Lock()
        self._state = _State(rows={}, last_success_s=0.0, last_failure_s=0.0, interval_s=None)
        if interval_s is not None:
            self.set_interval(interval_s)

    @property
    def has_snapshot(self) -> bool:
        """True once a pass succeeded (readiness)."""
        return self._state.last_success_s > 0

    def update(self, snapshot: AuditSnapshot) -> None:
        """Make ``snapshot`` the one scrapes see; its finish time is the last success."""
        rows = metric_rows(snapshot)
        finished_s = snapshot.timing.finished.timestamp()
        with self._lock:
            state = self._state
            self._state = _State(rows, finished_s, state.last_failure_s, state.interval_s)

    def record_failure(self) -> None:
        """A pass failed: keep the last snapshot's series, note the time."""
        now = self._clock()
        with self._lock:
            state = self._state
            self._state = _State(state.rows, state.last_success_s, now, state.interval_s)

    def set_interval(self, interval_s: float) -> None:
        """The schedule's expected gap between passes, in seconds (positive)."""
        if not interval_s > 0:
            raise ValueError(f"interval_s must be positive, not {interval_s!r}")
        with self._lock:
            state = self._state
            self._state = _State(
                state.rows, state.last_success_s, state.last_failure_s, float(interval_s)
            )

    def describe(self) -> Iterator[Metric]:
        """Empty families, so that registering costs nothing and name clashes are caught."""
        for spec in STATE_METRICS:
            yield _new_family(spec)

    def collect(self) -> Iterator[Metric]:
        """Families of the latest snapshot; a family without series is left out."""
        state = self._state
        rows: Mapping[str, Mapping[tuple[str, ...], float]] = {
            **state.rows,
            "ballast_audit_last_success_timestamp_seconds": {(): state.last_success_s},
            "ballast_audit_last_failure_timestamp_seconds": {(): state.last_failure_s},
            "ballast_auditor_start_timestamp_seconds": {(): self._started_s},
        }
        if state.interval_s is not None:
            rows = {**rows, "ballast_audit_interval_seconds": {(): state.interval_s}}
        for spec in STATE_METRICS:
            family_rows = rows.get(spec.name)
            if family_rows:
                family = _new_family(spec)
                _fill(family, family_rows)
                yield family


def _new_family(spec: MetricSpec) -> GaugeMetricFamily | InfoMetricFamily:
    if spec.kind == "info":
        return InfoMetricFamily(spec.name, spec.help, labels=spec.labels)
    if spec.kind == "gauge":
        return GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
    raise RuntimeError(f"{spec.name}: the collector exports gauges and infos, not {spec.kind}")


def _fill(
    family: GaugeMetricFamily | InfoMetricFamily, rows: Mapping[tuple[str, ...], float]
) -> None:
    for labels, value in rows.items():
        if isinstance(family, InfoMetricFamily):
            family.add_metric(list(labels), {})
        else:
            family.add_metric(list(labels), value)


class AuditMetrics:
    """Everything the auditor exports, on the registry it is given.

    The runner calls :meth:`record_pass` after each successful pass and
    :meth:`record_failure` after a failed one (it satisfies the runner's
    ``PassObserver``). ``interval_s`` is the schedule's expected gap between
    passes (for a cron schedule, the longest gap), exported so the staleness
    alert needs no threshold of its own.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        interval_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self.collector = AuditCollector(interval_s=interval_s, clock=clock)
        registry.register(self.collector)
        specs = {spec.name: spec for spec in EVENT_METRICS}
        passes = specs["ballast_audit_passes"]
        self.passes = Counter(passes.name, passes.help, passes.labels, registry=registry)
        failures = specs["ballast_audit_failures"]
        self.failures = Counter(failures.name, failures.help, failures.labels, registry=registry)
        duration = specs["ballast_audit_duration_seconds"]
        self.duration = Histogram(
            duration.name, duration.help, buckets=DURATION_BUCKETS_S, registry=registry
        )
        errors = specs["ballast_audit_registry_errors"]
        self.registry_errors = Counter(errors.name, errors.help, errors.labels, registry=registry)
        # Both results exist from the start, so rate() and increase() have a series to read.
        for result in ("success", "failure"):
            self.passes.labels(result=result)

    def record_pass(self, snapshot: AuditSnapshot) -> None:
        """A pass succeeded: its snapshot replaces the previous one in every state series."""
        self.collector.update(snapshot)
        self.passes.labels(result="success").inc()
        self.duration.observe(snapshot.timing.duration_s)
        for image in snapshot.images:
            if image.is_registry_error:
                self.registry_errors.labels(
                    registry=image.registry, error_type=image.error_type or ""
                ).inc()

    def record_failure(self, error_type: str) -> None:
        """A pass failed with an error of class ``error_type`` (``ClusterError`` ...)."""
        self.collector.record_failure()
        self.passes.labels(result="failure").inc()
        self.failures.labels(error_type=error_type).inc()

    def set_interval(self, interval_s: float) -> None:
        """Change the expected gap between passes (the schedule was reloaded)."""
        self.collector.set_interval(interval_s)

    @property
    def is_ready(self) -> bool:
        """True once a pass succeeded, so the state series describe the cluster."""
        return self.collector.has_snapshot
