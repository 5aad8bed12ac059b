"""Which workload a pod belongs to: :class:`WorkloadId` and :func:`attribute`.

Owns the walk from a pod up its controller ``ownerReferences`` to the
top-level workload, identified by (namespace, kind, name):

- ReplicaSet → Deployment, Job → CronJob, and any other chain (an Argo
  Rollout owning a ReplicaSet) when the intermediate objects were listed
  (:class:`OwnerIndex`, from a live listing or from a ``kubectl get
  pods,rs,jobs -A -o json`` file);
- otherwise inferred from names, as the controllers build them: a Deployment's
  ReplicaSet is ``<deployment>-<pod-template-hash>`` and its pods carry the
  ``pod-template-hash`` label; a CronJob's Job is ``<cronjob>-<scheduled time in
  minutes since the epoch>`` (8 digits or more since 1973, so a Job called
  ``migrate-2`` is not taken for a CronJob's);
- StatefulSet, DaemonSet, ReplicationController and other owners as they are;
- bare pods, and static pods (owned by their Node), as themselves (``Pod``).

Pure; imports :mod:`auditor.pods`. Must not import Flask, the Kubernetes
client or :mod:`webhook`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from auditor.pods import KubeObject, OwnerReference, Pod

__all__ = [
    "MAX_OWNER_DEPTH",
    "POD_TEMPLATE_HASH_LABEL",
    "Attribution",
    "AttributionRule",
    "OwnerIndex",
    "WorkloadId",
    "attribute",
]

POD_TEMPLATE_HASH_LABEL: Final = "pod-template-hash"
"""Set by the Deployment controller on its ReplicaSets' pods; the ReplicaSet's name suffix."""
MAX_OWNER_DEPTH: Final = 5
"""Owner links followed at most (a loop in owner references must not hang a pass)."""
_CRONJOB_JOB_RE: Final = re.compile(r"(?P<cronjob>.+)-(?P<minutes>[0-9]{8,})")


@dataclass(frozen=True, slots=True, order=True)
class WorkloadId:
    """A top-level workload: ``(namespace, kind, name)``."""

    namespace: str
    kind: str
    name: str

    def __str__(self) -> str:
        """``Deployment shop/web``, as messages and reports show it."""
        return f"{self.kind} {self.namespace}/{self.name}"

    @property
    def key(self) -> str:
        """``shop/Deployment/web``: a stable string key for JSON documents and diffs."""
        return f"{self.namespace}/{self.kind}/{self.name}"


class AttributionRule(StrEnum):
    """How a pod's workload was found, so reports can say how sure it is."""

    OWNERS = "ownerReferences"
    """Followed owner references through listed objects (exact)."""
    DIRECT = "owner"
    """The pod's own controller is the workload (StatefulSet, DaemonSet ...; exact)."""
    TEMPLATE_HASH = "pod-template-hash"
    """ReplicaSet name minus the ``pod-template-hash`` label's value (the Deployment's rule)."""
    JOB_NAME = "job-name"
    """Job name minus its ``-<minutes>`` suffix (the CronJob's rule)."""
    BARE = "bare-pod"
    """No owner (or a static pod owned by its Node): the pod is its own workload."""


class OwnerIndex:
    """Objects listed alongside the pods, by (namespace, kind, name)."""

    __slots__ = ("_namespaces", "_objects")

    def __init__(self, objects: Iterable[KubeObject] = ()) -> None:
        self._objects: dict[tuple[str, str, str], KubeObject] = {}
        self._namespaces: dict[str, KubeObject] = {}
        for obj in objects:
            if obj.kind == "Namespace":
                self._namespaces[obj.name] = obj
            else:
                self._objects[(obj.namespace, obj.kind, obj.name)] = obj

    def get(self, namespace: str, kind: str, name: str) -> KubeObject | None:
        return self._objects.get((namespace, kind, name))

    def namespace_labels(self, namespace: str) -> Mapping[str, str] | None:
        """The namespace's labels when it was listed, else ``None``."""
        listed = self._namespaces.get(namespace)
        return listed.labels if listed is not None else None

    def __len__(self) -> int:
        return len(self._objects) + len(self._namespaces)


@dataclass(frozen=True, slots=True)
class Attribution:
    """A pod's workload, how it was found, and the workload object when it was listed."""

    workload: WorkloadId
    rule: AttributionRule
    listed: KubeObject | None = None
    """The top-level object (its annotations carry exceptions), when it was listed."""


def attribute(pod: Pod, index: OwnerIndex | None = None) -> Attribution:
    """The top-level workload of ``pod``; never raises."""
    index = index if index is not None else OwnerIndex()
    namespace = pod.namespace
    owner: OwnerReference | None = pod.controller
    if owner is None or owner.kind == "Node" or not owner.kind or not owner.name:
        return Attribution(WorkloadId(namespace, "Pod", pod.name), AttributionRule.BARE)
    kind, name = owner.kind, owner.name
    rule = AttributionRule.DIRECT
    seen = {(kind, name)}
    for depth in range(MAX_OWNER_DEPTH):
        listed = index.get(namespace, kind, name)
        if listed is not None:
            parent = listed.controller
            if parent is None or (parent.kind, parent.name) in seen:
                break
            kind, name, rule = parent.kind, parent.name, AttributionRule.OWNERS
            seen.add((kind, name))
            continue
        inferred = _infer_parent(kind, name, pod, first=depth == 0)
        if inferred is not None:
            kind, name, rule = inferred
        break
    workload = WorkloadId(namespace, kind, name)
    return Attribution(workload, rule, index.get(namespace, kind, name))


def _infer_parent(
    kind: str, name: str, pod: Pod, *, first: bool
) -> tuple[str, str, AttributionRule] | None:
    """The parent the controllers' naming rules imply, for an owner that was not listed."""
    if kind == "ReplicaSet" and first:
        suffix = pod.labels.get(POD_TEMPLATE_HASH_LABEL, "")
        if suffix and name.endswith(f"-{suffix}") and len(name) > len(suffix) + 1:
            return "Deployment", name[: -len(suffix) - 1], AttributionRule.TEMPLATE_HASH
    elif kind == "Job":
        match = _CRONJOB_JOB_RE.fullmatch(name)
        if match is not None:
            return "CronJob", match["cronjob"], AttributionRule.JOB_NAME
    return None
