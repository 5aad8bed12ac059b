"""The auditor's errors: why the pods could not be listed.

They hang under :mod:`ballast._errors` so that a front end catching
:class:`~ballast._errors.BallastError` (or ``ConfigError``) catches them too::

    BallastError
    ├── ConfigError
    │   └── KubeConfigError     no kubeconfig / not in a cluster / a context that does not exist
    └── SourceError             the pods could not be listed                       (.source)
        ├── PodListError        a --pods file that is unreadable or not a pod list  (.found)
        └── ClusterError        the API server refused, failed or could not be reached
                                                                          (.status, .server)

Registry failures are not here: they never fail a pass (the image is reported
unknown with the reason). Kubernetes client and urllib3 exceptions are
wrapped into these by :mod:`auditor.kube` with ``raise ... from exc`` and
never escape. Must not import Flask, the Kubernetes client or :mod:`webhook`.
"""

from __future__ import annotations

from ballast._errors import BallastError, ConfigError


class SourceError(BallastError):
    """The pods could not be listed; ``source`` says from where (a file, a cluster)."""

    def __init__(self, message: str, *, source: str = "") -> None:
        super().__init__(message)
        self.source = source


class PodListError(SourceError):
    """A pod list file that cannot be read, is not JSON, or is not a pod list.

    ``found`` names what the document was instead (``a Deployment``, ``an array``).
    """

    def __init__(self, message: str, *, source: str = "", found: str = "") -> None:
        super().__init__(message, source=source)
        self.found = found


class ClusterError(SourceError):
    """The Kubernetes API server refused the request, failed, or could not be reached.

    ``status`` is the HTTP status (``None`` when no answer came back), ``server``
    the API server's URL.
    """

    def __init__(
        self, message: str, *, source: str = "", status: int | None = None, server: str = ""
    ) -> None:
        super().__init__(message, source=source)
        self.status = status
        self.server = server


class KubeConfigError(ConfigError):
    """No usable cluster configuration: no kubeconfig, a broken one, an unknown context."""
