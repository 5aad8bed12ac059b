"""The auditor: what runs in the cluster, judged by the same engine as admission.

The public names of the scanning core, and nothing else. Sources list pods
(:class:`FileSource`, :class:`KubernetesSource`), :func:`audit` turns one
listing into an :class:`AuditSnapshot`, and :func:`snapshot_to_dict` gives
its versioned JSON document. Metrics and reports are built on the snapshot.
Depends on ``ballast``; never imports Flask or :mod:`webhook`; the Kubernetes
client is imported lazily, only by :mod:`auditor.kube`.
"""

from __future__ import annotations

from auditor.errors import ClusterError, KubeConfigError, PodListError, SourceError
from auditor.model import (
    SCHEMA_VERSION,
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
from auditor.owners import Attribution, AttributionRule, OwnerIndex, WorkloadId, attribute
from auditor.pods import (
    ContainerType,
    ImageOrigin,
    KubeObject,
    OwnerReference,
    Pod,
    PodList,
    RunningContainer,
    RunningImage,
    parse_pod_list,
    running_image,
)
from auditor.scan import LayerReportFor, Resolver, audit, audit_pods, no_layer_report
from auditor.snapshot_json import snapshot_to_dict
from auditor.source import FileSource, KubernetesSource, PodSource, list_pages

__all__ = [
    "SCHEMA_VERSION",
    "Attribution",
    "AttributionRule",
    "AuditSnapshot",
    "ClusterError",
    "ContainerSlot",
    "ContainerType",
    "Counts",
    "ExceptionRecord",
    "FileSource",
    "FindingRecord",
    "IgnoredExceptionRecord",
    "ImageOrigin",
    "ImageRecord",
    "ImageUse",
    "KubeConfigError",
    "KubeObject",
    "KubernetesSource",
    "LayerReportFor",
    "NamespaceTotals",
    "NodeTotals",
    "OwnerIndex",
    "OwnerReference",
    "Pod",
    "PodList",
    "PodListError",
    "PodSource",
    "PolicySummary",
    "Resolver",
    "RunningContainer",
    "RunningImage",
    "SourceError",
    "Timing",
    "WorkloadId",
    "WorkloadRecord",
    "attribute",
    "audit",
    "audit_pods",
    "list_pages",
    "no_layer_report",
    "parse_pod_list",
    "running_image",
    "snapshot_to_dict",
]
