"""The Kubernetes API adapter: connect, list one page, wrap every client error.

The only module of ballast that imports the official ``kubernetes`` client,
and it does so lazily (inside :func:`connect` and :class:`KubeApi`) so that
offline audits never pay for importing it. Lists are read with
``_preload_content=False`` and parsed as JSON: the API server's own shapes
(what ``kubectl get -o json`` shows), and no model objects built for the
fields nobody reads. Objects listed only for their owners and annotations
are asked for as ``PartialObjectMetadataList`` (metadata only, as informers
do), which the API server has served since 1.15.

Every ``kubernetes``/``urllib3`` exception becomes a
:class:`~auditor.errors.KubeConfigError` or
:class:`~auditor.errors.ClusterError` whose message says what to do
(``raise ... from exc``); an expired continue token (410 Gone) becomes
:class:`ContinueExpired` so the pager can start the list again. Must not
import Flask or :mod:`webhook`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from auditor.errors import ClusterError, KubeConfigError
from ballast.json_values import describe, is_array, is_object

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "METADATA_ACCEPT",
    "NAMESPACES",
    "OWNER_RESOURCES",
    "PODS",
    "ContinueExpired",
    "KubeApi",
    "Page",
    "Resource",
    "connect",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S: Final = (5.0, 60.0)
"""(connect, read) seconds per API request; a 500-pod page is read well within a minute."""
METADATA_ACCEPT: Final = (
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
)
"""Ask for metadata only, falling back to whole objects on servers that do not offer it."""
_MESSAGE_CHARS: Final = 300
_IN_CLUSTER_HOST_ENV: Final = "KUBERNETES_SERVICE_HOST"


@dataclass(frozen=True, slots=True)
class Resource:
    """A listable resource: its API group/version, plural name and kind."""

    group: str
    """``""`` for the core group, ``apps``, ``batch``."""
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


PODS: Final = Resource("", "v1", "pods", "Pod")
NAMESPACES: Final = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
OWNER_RESOURCES: Final = (
    Resource("apps", "v1", "replicasets", "ReplicaSet"),
    Resource("batch", "v1", "jobs", "Job"),
    Resource("apps", "v1", "deployments", "Deployment"),
    Resource("apps", "v1", "statefulsets", "StatefulSet"),
    Resource("apps", "v1", "daemonsets", "DaemonSet"),
    Resource("batch", "v1", "cronjobs", "CronJob"),
    Resource("", "v1", "replicationcontrollers", "ReplicationController"),
)
"""Listed (metadata only) to walk owner references and read workload annotations."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: its items (raw JSON) and the token for the next one."""

    items: list[Any]
    continue_token: str | None
    resource_version: str = ""


class ContinueExpired(Exception):
    """The API server answered 410 Gone to a continue token: the list must start again."""


class KubeApi:
    """One API server connection: list pages of a resource, read the version."""

    def __init__(
        self,
        api_client: Any,
        *,
        server: str,
        context: str = "",
        timeout_s: tuple[float, float] = DEFAULT_TIMEOUT_S,
    ) -> None:
        """``api_client`` is a ``kubernetes.client.ApiClient`` (typed ``Any``: the client's
        generated methods are only partly annotated)."""
        from kubernetes import client

        self._client = api_client
        self._core = client.CoreV1Api(api_client)
        self._apps = client.AppsV1Api(api_client)
        self._batch = client.BatchV1Api(api_client)
        self._version = client.VersionApi(api_client)
        self.server = server
        self.context = context
        self._timeout_s = timeout_s

    @property
    def description(self) -> str:
        """``https://10.0.0.1:6443 (context prod)``."""
        return f"{self.server} (context {self.context})" if self.context else self.server

    def close(self) -> None:
        self._client.close()

    def version(self) -> str:
        """The server's ``gitVersion`` (``v1.32.4``): a cheap check that it is reachable."""
        response = self._call(
            lambda: self._version.get_code(
                _preload_content=False, _request_timeout=self._timeout_s
            ),
            what="the server version",
            resource=None,
        )
        document = self._decode(response, what="/version")
        version = document.get("gitVersion")
        return version if isinstance(version, str) else ""

    def list_page(
        self,
        resource: Resource,
        *,
        namespace: str | None,
        limit: int,
        continue_token: str | None,
        metadata_only: bool = False,
    ) -> Page:
        """One page of ``resource`` (all namespaces when ``namespace`` is ``None``).

        Raises ContinueExpired on 410 Gone for a continue token, ClusterError otherwise.
        """
        lister = self._lister(resource, namespace)
        options: dict[str, Any] = {
            "limit": limit,
            "_preload_content": False,
            "_request_timeout": self._timeout_s,
        }
        if continue_token:
            options["_continue"] = continue_token
        if metadata_only:
            options["_headers"] = {"Accept": METADATA_ACCEPT}
        where = f"{resource.plural} in namespace {namespace}" if namespace else resource.plural
        response = self._call(
            lambda: lister(**options),
            what=where,
            resource=resource,
            continuing=bool(continue_token),
        )
        document = self._decode(response, what=f"the list of {where}")
        items = document.get("items")
        if items is None:
            items = []
        if not is_array(items):
            raise ClusterError(
                f"{self.server} answered the list of {where} with items that are "
                f"{describe(items, quote_strings=True)}; is this a Kubernetes API server?",
                source=self.description,
                server=self.server,
            )
        metadata = document.get("metadata")
        metadata = metadata if is_object(metadata) else {}
        token = metadata.get("continue")
        version = metadata.get("resourceVersion")
        return Page(
            items=list(items),
            continue_token=token if isinstance(token, str) and token else None,
            resource_version=version if isinstance(version, str) else "",
        )

    def apply_configmap(self, manifest: Mapping[str, Any]) -> str:
        """Replace the ConfigMap, or create it when it does not exist; returns which.

        Needs ``update`` and ``create`` on configmaps in that namespace.
        """
        from kubernetes.client.exceptions import ApiException

        body: Any = dict(manifest)  # the client's stubs want V1ConfigMap; a dict serialises
        metadata = manifest.get("metadata") or {}
        name, namespace = str(metadata.get("name")), str(metadata.get("namespace"))
        what = f"ConfigMap {namespace}/{name}"
        options: dict[str, Any] = {"_preload_content": False, "_request_timeout": self._timeout_s}
        try:
            self._core.replace_namespaced_config_map(name, namespace, body, **options)
            return "replaced"
        except ApiException as exc:
            if exc.status != 404:
                raise self._api_error(exc.status, exc, what=what, resource=None) from exc
        self._call(
            lambda: self._core.create_namespaced_config_map(namespace, body, **options),
            what=what,
            resource=None,
        )
        return "created"

    # -- internals -------------------------------------------------------------------------

    def _lister(self, resource: Resource, namespace: str | None) -> Callable[..., Any]:
        api = {"": self._core, "apps": self._apps, "batch": self._batch}.get(resource.group)
        singular = _SINGULAR.get(resource.plural)
        if api is None or singular is None:
            raise RuntimeError(f"no lister for {resource.api_version} {resource.plural}")
        if not resource.namespaced:
            return getattr(api, f"list_{singular}")  # type: ignore[no-any-return]
        if namespace is None:
            return getattr(api, f"list_{singular}_for_all_namespaces")  # type: ignore[no-any-return]
        method = getattr(api, f"list_namespaced_{singular}")
        return lambda **options: method(namespace, **options)

    def _call(
        self,
        request: Callable[[], Any],
        *,
        what: str,
        resource: Resource | None,
        continuing: bool = False,
    ) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return request()
        except ApiException as exc:
            status = exc.status if isinstance(exc.status, int) else None
            if status == 410 and continuing:
                raise ContinueExpired(_status_message(exc.body)) from exc
            raise self._api_error(status, exc, what=what, resource=resource) from exc
        except HTTPError as exc:
            raise ClusterError(
                f"cannot reach the Kubernetes API server {self.description} to list {what}: "
                f"{_cap(str(exc))}; check the kubeconfig's server address and the network",
                source=self.description,
                server=self.server,
            ) from exc

    def _api_error(
        self, status: int | None, exc: Any, *, what: str, resource: Resource | None
    ) -> ClusterError:
        said = _status_message(getattr(exc, "body", None)) or _cap(str(getattr(exc, "reason", "")))
        server = self.description
        if status == 401:
            hint = (
                "the API server did not accept the credentials: refresh the kubeconfig's token "
                "or certificate (does 'kubectl get pods' work?)"
            )
        elif status == 403:
            group = resource.group if resource is not None else ""
            plural = resource.plural if resource is not None else "pods"
            hint = (
                f"forbidden: give the auditor's identity RBAC to list {plural} (a ClusterRole "
                f'rule apiGroups: ["{group}"], resources: ["{plural}"], verbs: ["list"], '
                "bound with a ClusterRoleBinding, or a RoleBinding per audited namespace)"
            )
        elif status == 404:
            hint = "not found: is this a Kubernetes API server, and does the namespace exist?"
        elif status == 410:
            hint = "the server's list snapshot expired (410 Gone); the next pass starts afresh"
        elif status is not None and status >= 500:
            hint = "the API server failed; the next pass tries again"
        elif status in (None, 0):
            hint = "no HTTP answer (TLS or connection failure): check the server's CA and address"
        else:
            hint = f"unexpected answer {status}"
        detail = f" ({said})" if said and said not in hint else ""
        return ClusterError(
            f"listing {what} on {server} failed: {hint}{detail}",
            source=server,
            status=status or None,
            server=self.server,
        )

    def _decode(self, response: Any, *, what: str) -> Mapping[str, Any]:
        try:
            body = response.data
            response.release_conn()
            document = json.loads(body)
        except (ValueError, AttributeError) as exc:
            raise ClusterError(
                f"{self.description} answered {what} with a body that is not JSON "
                f"({_cap(str(exc))}); is this a Kubernetes API server?",
                source=self.description,
                server=self.server,
            ) from exc
        if not is_object(document):
            raise ClusterError(
                f"{self.description} answered {what} with "
                f"{describe(document, quote_strings=True)}, not an object",
                source=self.description,
                server=self.server,
            )
        return document


_SINGULAR: Final = {
    "pods": "pod",
    "namespaces": "namespace",
    "replicasets": "replica_set",
    "jobs": "job",
    "deployments": "deployment",
    "statefulsets": "stateful_set",
    "daemonsets": "daemon_set",
    "cronjobs": "cron_job",
    "replicationcontrollers": "replication_controller",
}


def connect(
    *,
    environ: Mapping[str, str],
    kubeconfig: str | None = None,
    context: str | None = None,
    in_cluster: bool | None = None,
    timeout_s: tuple[float, float] = DEFAULT_TIMEOUT_S,
) -> KubeApi:
    """Build a client from the in-cluster service account or a kubeconfig.

    ``in_cluster`` ``None`` means: in-cluster when no kubeconfig is named (neither
    ``kubeconfig`` nor ``KUBECONFIG``) and ``KUBERNETES_SERVICE_HOST`` is set, as
    client-go's ``BuildConfigFromFlags`` does. Raises KubeConfigError saying what
    to set. Nothing is requested from the server here.
    """
    from kubernetes import client
    from kubernetes import config as typed_config

    # The config loaders are not annotated; call them through Any (mypy --strict).
    config: Any = typed_config
    configuration = client.Configuration()
    named = kubeconfig or environ.get("KUBECONFIG") or ""
    if in_cluster is None:
        in_cluster = not named and bool(environ.get(_IN_CLUSTER_HOST_ENV))
    if in_cluster:
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException as exc:
            raise KubeConfigError(
                f"not running in a Kubernetes pod ({exc}): pass --kubeconfig (or set "
                "KUBECONFIG), or audit a file with --pods (kubectl get pods -A -o json)"
            ) from exc
        return KubeApi(
            client.ApiClient(configuration),
            server=str(configuration.host),
            context="in-cluster",
            timeout_s=timeout_s,
        )
    paths = _kubeconfig_paths(named, environ)
    existing = [p for p in paths if Path(p).is_file()]
    if not existing:
        shown = ", ".join(paths)
        raise KubeConfigError(
            f"no kubeconfig at {shown} and not running in a cluster: pass --kubeconfig or set "
            "KUBECONFIG, or audit a file with --pods (kubectl get pods -A -o json > pods.json)"
        )
    config_file = ":".join(existing)
    try:
        contexts, current = config.list_kube_config_contexts(config_file=config_file)
        names = [c.get("name") for c in contexts or [] if isinstance(c, dict)]
        chosen = context or (current or {}).get("name") or ""
        if context and context not in names:
            raise KubeConfigError(
                f"context {context!r} is not in {config_file}; its contexts: "
                f"{', '.join(str(n) for n in names) or 'none'}"
            )
        config.load_kube_config(
            config_file=config_file,
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    except KubeConfigError:
        raise
    except config.ConfigException as exc:
        raise KubeConfigError(
            f"kubeconfig {config_file} cannot be used: {_cap(str(exc))}; "
            "check it with 'kubectl config view'"
        ) from exc
    except Exception as exc:
        # The loader reads untrusted YAML without checking shapes: OSError, YAMLError,
        # TypeError ('int' object is not iterable), KeyError, binascii.Error ... all mean
        # the same to the user.
        raise KubeConfigError(
            f"kubeconfig {config_file} cannot be read ({type(exc).__name__}: {_cap(str(exc))}); "
            "check it with 'kubectl config view'"
        ) from exc
    return KubeApi(
        client.ApiClient(configuration),
        server=str(configuration.host),
        context=str(chosen),
        timeout_s=timeout_s,
    )


def _kubeconfig_paths(named: str, environ: Mapping[str, str]) -> list[str]:
    home = environ.get("HOME", "~")
    if not named:
        return [str(Path(home) / ".kube" / "config")]
    return [
        str(Path(part.replace("~", home, 1) if part.startswith("~") else part))
        for part in named.split(":")
        if part
    ]


def _status_message(body: object) -> str:
    """The ``message`` of a Kubernetes ``Status`` body, capped; empty when there is none."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body:
        return ""
    try:
        document = json.loads(body)
    except ValueError:
        return _cap(body)
    message = document.get("message") if is_object(document) else None
    return _cap(message) if isinstance(message, str) else ""


def _cap(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"
