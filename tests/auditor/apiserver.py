"""A local HTTP server that answers like a Kubernetes API server, for the live listing path.

No kube-apiserver can run here (see /work/shared/REAL-SERVICES.md), so this serves the
real API shapes the auditor and kubectl read: ``/version``, discovery (``/api``,
``/api/v1``, ``/apis``, ``/apis/apps/v1``, ``/apis/batch/v1``), and lists of pods,
namespaces, ReplicaSets, Jobs, Deployments, StatefulSets, DaemonSets, CronJobs and
ReplicationControllers, cluster-wide and per namespace. Lists page like the real server:
``limit`` cuts a page, ``metadata.continue`` is an opaque base64 token holding the
resourceVersion and the next key (``namespace/name``), ``remainingItemCount`` is set, and
a ``PartialObjectMetadataList`` is returned when the Accept header asks for one.

Misbehaviour knobs: ``expire_continue`` (the next N requests that carry a continue token
get the real 410 ``Expired`` Status), ``forbidden`` (plural names answered with the real
403 Status), ``token`` (bearer token required, else 401). ``requests`` records
``(path, query, accept)`` per request. Imports only the standard library.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RESOURCE_VERSION = "884213"


@dataclass(frozen=True)
class ApiResource:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCES = (
    ApiResource("", "v1", "pods", "pod", "Pod", short_names=("po",)),
    ApiResource("", "v1", "namespaces", "namespace", "Namespace", False, ("ns",)),
    ApiResource(
        "",
        "v1",
        "replicationcontrollers",
        "replicationcontroller",
        "ReplicationController",
        short_names=("rc",),
    ),
    ApiResource("apps", "v1", "replicasets", "replicaset", "ReplicaSet", short_names=("rs",)),
    ApiResource("apps", "v1", "deployments", "deployment", "Deployment", short_names=("deploy",)),
    ApiResource("apps", "v1", "statefulsets", "statefulset", "StatefulSet", short_names=("sts",)),
    ApiResource("apps", "v1", "daemonsets", "daemonset", "DaemonSet", short_names=("ds",)),
    ApiResource("batch", "v1", "jobs", "job", "Job"),
    ApiResource("batch", "v1", "cronjobs", "cronjob", "CronJob", short_names=("cj",)),
)
_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def _status(code: int, reason: str, message: str, **extra: Any) -> dict[str, Any]:
    """A ``meta/v1 Status`` as the API server writes it."""
    document: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": extra.pop("metadata", {}),
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    document.update(extra)
    return document


def _encode_token(start: str) -> str:
    payload = json.dumps({"v": "meta.k8s.io/v1", "rv": int(RESOURCE_VERSION), "start": start})
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_token(token: str) -> str | None:
    try:
        padded = token + "=" * (-len(token) % 4)
        start = json.loads(base64.urlsafe_b64decode(padded))["start"]
    except (ValueError, KeyError, TypeError):
        return None
    return start if isinstance(start, str) else None


@dataclass
class ApiServerState:
    """What the server holds and how it misbehaves; tests mutate it between calls."""

    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Plural resource name → objects (API shape: ``kind``/``apiVersion`` are dropped)."""
    expire_continue: int = 0
    forbidden: set[str] = field(default_factory=set)
    token: str | None = None
    requests: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    configmaps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """(namespace, name) → ConfigMap written with POST (create) or PUT (replace)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self, items: list[dict[str, Any]]) -> None:
        """Sort ``items`` (pods and other objects, kubectl or API shape) by their kind."""
        by_kind = {r.kind: r.plural for r in RESOURCES}
        self.objects = {r.plural: [] for r in RESOURCES}
        for item in items:
            plural = by_kind[item.get("kind", "Pod")]
            stripped = {k: v for k, v in item.items() if k not in ("kind", "apiVersion")}
            self.objects[plural].append(stripped)

    def count(self, path_contains: str) -> int:
        return sum(1 for path, _, _ in self.requests if path_contains in path)


class LocalApiServer:
    """The server on a loopback port (``url``); ``state`` is shared with the handler."""

    def __init__(self) -> None:
        self.state = ApiServerState()
        self.state.load([])
        owner = self

        class Handler(_Handler):
            server_state = owner.state

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def write_kubeconfig(
        self, path: Path, *, token: str = "auditor-token", elsewhere: str = "127.0.0.1:9"
    ) -> Path:
        """A kubeconfig with context ``local`` (this server, ``token``) and ``elsewhere``
        (``host:port`` where nothing answers)."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "local", "cluster": {"server": self.url}},
                {"name": "elsewhere", "cluster": {"server": f"http://{elsewhere}"}},
            ],
            "users": [{"name": "auditor", "user": {"token": token}}],
            "contexts": [
                {"name": "local", "context": {"cluster": "local", "user": "auditor"}},
                {"name": "elsewhere", "context": {"cluster": "elsewhere", "user": "auditor"}},
            ],
            "current-context": "local",
        }
        path.write_text(json.dumps(config))  # JSON is YAML; kubectl and the client read it
        return path


@contextmanager
def local_api_server() -> Iterator[LocalApiServer]:
    server = LocalApiServer().start()
    try:
        yield server
    finally:
        server.stop()


class _Handler(BaseHTTPRequestHandler):
    server_state: ApiServerState
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        state = self.server_state
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        accept = self.headers.get("Accept", "")
        with state.lock:
            state.requests.append((url.path, query, accept))
        authorization = self.headers.get("Authorization")
        if state.token is not None and authorization != f"Bearer {state.token}":
            self._reply(401, _status(401, "Unauthorized", "Unauthorized"))
            return
        parts = [p for p in url.path.split("/") if p]
        document = self._discovery(parts)
        if document is not None:
            self._reply(200, document)
            return
        self._list(parts, query, accept)

    def _configmap_target(self) -> tuple[str, str | None] | None:
        parts = [p for p in urlsplit(self.path).path.split("/") if p]
        if (
            parts[:3] == ["api", "v1", "namespaces"]
            and len(parts) in (5, 6)
            and (parts[4] == "configmaps")
        ):
            return parts[3], parts[5] if len(parts) == 6 else None
        return None

    def _read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        document = json.loads(self.rfile.read(length) or b"{}")
        return document if isinstance(document, dict) else {}

    def do_POST(self) -> None:
        """Create a ConfigMap (the only write this server takes): 201, or 409 if it exists."""
        target = self._configmap_target()
        body = self._read_json()
        if target is None or target[1] is not None:
            self._not_found()
            return
        name = str(body.get("metadata", {}).get("name", ""))
        with self.server_state.lock:
            self.server_state.requests.append((self.path, {}, "POST"))
            if (target[0], name) in self.server_state.configmaps:
                self._reply(409, _status(409, "AlreadyExists", f'configmaps "{name}" exists'))
                return
            self.server_state.configmaps[(target[0], name)] = body
        self._reply(201, body)

    def do_PUT(self) -> None:
        """Replace a ConfigMap: 200, or 404 when it does not exist yet."""
        target = self._configmap_target()
        body = self._read_json()
        if target is None or target[1] is None:
            self._not_found()
            return
        key = (target[0], target[1])
        with self.server_state.lock:
            self.server_state.requests.append((self.path, {}, "PUT"))
            if key not in self.server_state.configmaps:
                self._reply(404, _status(404, "NotFound", f'configmaps "{key[1]}" not found'))
                return
            self.server_state.configmaps[key] = body
        self._reply(200, body)

    # -- discovery ----------------------------------------------------------------------------

    def _discovery(self, parts: list[str]) -> dict[str, Any] | None:
        if parts == ["version"]:
            return {
                "major": "1",
                "minor": "32",
                "gitVersion": "v1.32.4",
                "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335",
                "gitTreeState": "clean",
                "buildDate": "2025-04-22T16:02:27Z",
                "goVersion": "go1.23.6",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        if parts == ["api"]:
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
                ],
            }
        if parts == ["apis"]:
            groups = sorted({r.group for r in RESOURCES if r.group})
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [
                    {
                        "name": group,
                        "versions": [{"groupVersion": f"{group}/v1", "version": "v1"}],
                        "preferredVersion": {"groupVersion": f"{group}/v1", "version": "v1"},
                    }
                    for group in groups
                ],
            }
        group_version = None
        if parts == ["api", "v1"]:
            group_version = "v1"
        elif len(parts) == 3 and parts[0] == "apis":
            group_version = f"{parts[1]}/{parts[2]}"
        if group_version is None:
            return None
        resources = [r for r in RESOURCES if r.group_version == group_version]
        if not resources:
            return None
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": [
                {
                    "name": r.plural,
                    "singularName": r.singular,
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": _VERBS,
                    **({"shortNames": list(r.short_names)} if r.short_names else {}),
                    "storageVersionHash": base64.b64encode(r.kind.encode()).decode()[:12],
                }
                for r in resources
            ],
        }

    # -- lists --------------------------------------------------------------------------------

    def _list(self, parts: list[str], query: dict[str, str], accept: str) -> None:
        state = self.server_state
        if parts[:2] == ["api", "v1"]:
            group_version, rest = "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            self._not_found()
            return
        namespace = None
        if len(rest) == 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        resource = next(
            (r for r in RESOURCES if r.group_version == group_version and [r.plural] == rest),
            None,
        )
        if resource is None or (namespace is not None and not resource.namespaced):
            self._not_found()
            return
        if resource.plural in state.forbidden:
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            message = (
                f'{resource.plural} is forbidden: User "system:serviceaccount:ballast:'
                f'ballast-auditor" cannot list resource "{resource.plural}" in API group '
                f'"{resource.group}" {scope}'
            )
            self._reply(
                403,
                _status(
                    403,
                    "Forbidden",
                    message,
                    details={"group": resource.group, "kind": resource.plural},
                ),
            )
            return
        token = query.get("continue")
        start = ""
        if token:
            with state.lock:
                expire = state.expire_continue > 0
                if expire:
                    state.expire_continue -= 1
            decoded = _decode_token(token)
            if expire or decoded is None:
                message = (
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter, or use "
                    "the continue token in this response to retrieve the remainder of the "
                    "results. Continuing with the provided token results in an inconsistent "
                    "list - objects that were created, modified, or deleted between the time "
                    "the first chunk was returned and now may show up in the list."
                )
                self._reply(
                    410,
                    _status(410, "Expired", message, metadata={"continue": token}),
                )
                return
            start = decoded
        items = sorted(
            state.objects.get(resource.plural, []),
            key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]),
        )
        if namespace is not None:
            items = [o for o in items if o["metadata"].get("namespace") == namespace]
        items = [o for o in items if self._key(o) >= start]
        limit = int(query.get("limit", "0") or 0)
        metadata: dict[str, Any] = {"resourceVersion": RESOURCE_VERSION}
        if limit and len(items) > limit:
            page, rest_items = items[:limit], items[limit:]
            metadata["continue"] = _encode_token(self._key(rest_items[0]))
            metadata["remainingItemCount"] = len(rest_items)
        else:
            page = items
        if "as=PartialObjectMetadataList" in accept:
            document = {
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": metadata,
                "items": [
                    {
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": o["metadata"],
                    }
                    for o in page
                ],
            }
            content_type = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
            self._reply(200, document, content_type=content_type)
            return
        self._reply(
            200,
            {
                "kind": f"{resource.kind}List",
                "apiVersion": resource.group_version,
                "metadata": metadata,
                "items": page,
            },
        )

    @staticmethod
    def _key(item: dict[str, Any]) -> str:
        meta = item["metadata"]
        return f"{meta.get('namespace', '')}/{meta['name']}"

    def _not_found(self) -> None:
        self._reply(
            404, _status(404, "NotFound", "the server could not find the requested resource")
        )

    def _reply(
        self, code: int, document: dict[str, Any], *, content_type: str = "application/json"
    ) -> None:
        body = json.dumps(document).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Audit-Id", "00000000-0000-0000-0000-000000000000")
        self.end_headers()
        self.wfile.write(body)
