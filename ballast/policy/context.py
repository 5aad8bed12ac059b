"""Who asks for an image: :class:`Context`, the workload side of an evaluation.

Owns :class:`Context`: the namespace and its labels, the pod's labels, the
workload's annotations (where exceptions live), what kind of object it is and
what is being done to it, and *today* (exceptions expire; evaluation takes
the date as a value so it stays a pure function). Front ends build one per
request (webhook), per workload (auditor) or once (``ballast check``, with
no namespace). Imports nothing from ballast. Pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """The workload asking for an image, as the policy needs to see it."""

    today: dt.date
    """The date exceptions are checked against (``expires`` is the last valid day)."""
    namespace: str | None = None
    """The workload's namespace; ``None`` outside a cluster (``ballast check``), where
    namespace and pod selectors do not apply."""
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels of the namespace (``kubernetes.io/metadata.name`` is added by the API server)."""
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels of the pod, or of the pod template for controllers."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """Annotations of the workload object (``ballast.dev/exception`` lives here)."""
    kind: str = ""
    """``Pod``, ``Deployment``, ``CronJob`` ...; empty outside a cluster."""
    name: str = ""
    """The object's name (may be empty for a Pod created with ``generateName``)."""
    operation: str = ""
    """``CREATE`` or ``UPDATE`` for admission; empty for audits and checks."""

    @property
    def in_cluster(self) -> bool:
        """True when there is a namespace, so namespace and pod scopes apply."""
        return self.namespace is not None

    @property
    def workload(self) -> str:
        """``Deployment team-a/api`` (or ``the image`` outside a cluster), for messages."""
        if self.namespace is None:
            return self.kind or "the image"
        name = f"{self.namespace}/{self.name}" if self.name else self.namespace
        return f"{self.kind} {name}" if self.kind else name
