"""Where the pods come from: a file (``--pods FILE`` or ``-``) or a live cluster.

Owns the :class:`PodSource` protocol and its two implementations, which give
the same :class:`~auditor.pods.PodList` so that everything after the listing
is one code path:

- :class:`FileSource` reads ``kubectl get pods -A -o json`` output, again on
  every pass (the file may be refreshed by a cron job); standard input is read
  once and kept.
- :class:`KubernetesSource` lists pods through the official client
  (:mod:`auditor.kube`), page by page (``limit``/``continue``), in all
  namespaces or the selected ones. An expired continue token (410 Gone)
  restarts the list from scratch, so a pass sees one consistent snapshot, at
  most :data:`DEFAULT_MAX_RESTARTS` times. It then lists ReplicaSets, Jobs and
  the top-level workloads (metadata only) and the namespaces, so owners are
  followed exactly and workload annotations and namespace labels reach the
  policy; a kind it may not list (RBAC) is noted and names are used instead.

:func:`list_pages` is the one pager. Must not import Flask or :mod:`webhook`;
the Kubernetes client is imported only by :mod:`auditor.kube`, lazily (importing this
module, or :mod:`auditor.kube`, does not import it).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Final, Protocol, TypeVar

from auditor.errors import ClusterError, PodListError
from auditor.kube import (
    NAMESPACES,
    OWNER_RESOURCES,
    PODS,
    ContinueExpired,
    KubeApi,
    Page,
    Resource,
    connect,
)
from auditor.pods import KubeObject, Notes, Pod, PodList, parse_items, parse_object, parse_pod_list
from ballast.json_values import is_object

__all__ = [
    "DEFAULT_MAX_RESTARTS",
    "DEFAULT_PAGE_SIZE",
    "FileSource",
    "KubernetesSource",
    "PodSource",
    "list_pages",
]

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE: Final = 500
"""Items per list request (kubectl's ``--chunk-size`` default)."""
DEFAULT_MAX_RESTARTS: Final = 3
"""Times a list starts again after its continue token expired, before the pass fails."""

_T = TypeVar("_T")
_WITHOUT: Final = {
    "ReplicaSet": "Deployments are inferred from ReplicaSet names",
    "Job": "CronJobs are inferred from Job names",
    "Namespace": "namespace labels are not known (only kubernetes.io/metadata.name)",
    **{
        kind: f"{kind} annotations are not read (pod annotations still are)"
        for kind in ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "ReplicationController")
    },
}
"""What an audit lacks when a kind cannot be listed, for the note."""


class PodSource(Protocol):
    """Anything that lists the pods of one audit pass."""

    @property
    def description(self) -> str:
        """Where the pods come from, for reports (``file pods.json``, ``cluster …``)."""
        ...

    def list_pods(self) -> PodList:
        """Every pod (and, when known, the objects that own them); raises SourceError."""
        ...


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic GC while a pod list is decoded and converted.

    Decoding a 20,000-pod document allocates millions of containers that all
    survive; every automatic collection walks them again for nothing (measured:
    45 % of a warm pass, tests/bench/bench_audit.py). Nothing built here forms
    reference cycles.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# -- the pager --------------------------------------------------------------------------------


def list_pages(
    fetch: Callable[[str | None], Page],
    convert: Callable[[list[object]], _T],
    *,
    what: str,
    source: str,
    max_restarts: int = DEFAULT_MAX_RESTARTS,
) -> list[_T]:
    """Fetch every page (``fetch(continue_token)``) and convert each as it arrives.

    A :class:`~auditor.kube.ContinueExpired` (410 Gone on a continue token)
    drops what was read and starts again without a token, because pages from
    two snapshots could miss or repeat objects; after ``max_restarts`` restarts
    the pass fails with ClusterError. Raw items are converted page by page so
    that a large cluster is never held as raw JSON.
    """
    restarts = 0
    while True:
        converted: list[_T] = []
        token: str | None = None
        try:
            while True:
                page = fetch(token)
                converted.append(convert(page.items))
                token = page.continue_token
                if token is None:
                    return converted
        except ContinueExpired as exc:
            restarts += 1
            if restarts > max_restarts:
                raise ClusterError(
                    f"listing {what} from {source}: the continue token expired {restarts} times "
                    f"(410 Gone: {exc}); the list changes faster than it can be read; raise "
                    "the page size or audit fewer namespaces at a time",
                    source=source,
                    status=410,
                ) from exc
            logger.warning(
                "continue token for %s expired (410 Gone); listing again from the start (%d/%d)",
                what,
                restarts,
                max_restarts,
            )


# -- a file -----------------------------------------------------------------------------------


class FileSource:
    """Pods from ``kubectl get pods -A -o json`` output: a path, or ``-`` for standard input."""

    def __init__(
        self,
        path: str | Path,
        *,
        namespaces: Sequence[str] = (),
        stdin: IO[bytes] | None = None,
    ) -> None:
        self._path = str(path)
        self._namespaces = frozenset(namespaces)
        self._stdin = stdin
        self._stdin_data: bytes | None = None
        self._parsed: tuple[tuple[int, int, int], PodList] | None = None

    def _file_stamp(self) -> tuple[int, int, int] | None:
        """(inode, size, mtime) of the file, to skip re-parsing an unchanged one."""
        if self._path == "-":
            return None
        try:
            stat = os.stat(self._path)
        except OSError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    @property
    def description(self) -> str:
        return "standard input" if self._path == "-" else f"file {self._path}"

    def list_pods(self) -> PodList:
        """Read and parse the document (again: the file may have changed since the last pass).

        Raises PodListError for a file that cannot be read, is not JSON or is not a pod list.
        """
        stamp = self._file_stamp()
        if stamp is not None and self._parsed is not None and self._parsed[0] == stamp:
            listing = self._parsed[1]  # unchanged since the last pass: no re-parse
        else:
            data = self._read()
            with _collector_paused():
                try:
                    document = json.loads(data)
                except (ValueError, RecursionError) as exc:
                    raise PodListError(
                        f"{self.description} is not JSON ({exc}); expected the output of "
                        "'kubectl get pods -A -o json'",
                        source=self.description,
                        found="not JSON",
                    ) from exc
                del data
                listing = parse_pod_list(document, source=self.description)
            self._parsed = (stamp, listing) if stamp is not None else None
        if not self._namespaces:
            return listing
        return PodList(
            tuple(p for p in listing.pods if p.namespace in self._namespaces),
            tuple(o for o in listing.objects if self._selected(o)),
            listing.notes,
            listing.skipped,
        )

    def _selected(self, obj: KubeObject) -> bool:
        if obj.kind == "Namespace":
            return obj.name in self._namespaces
        return obj.namespace in self._namespaces

    def _read(self) -> bytes:
        if self._path == "-":
            if self._stdin_data is None:
                stream = self._stdin if self._stdin is not None else sys.stdin.buffer
                self._stdin_data = stream.read()
            return self._stdin_data
        try:
            return Path(self._path).read_bytes()
        except OSError as exc:
            raise PodListError(
                f"cannot read the pod list {self._path}: {exc.strerror or exc}; write it with "
                f"'kubectl get pods -A -o json > {self._path}'",
                source=self.description,
                found="no file" if isinstance(exc, FileNotFoundError) else "unreadable",
            ) from exc


# -- a cluster --------------------------------------------------------------------------------


class KubernetesSource:
    """Pods listed live from the API server, page by page."""

    def __init__(
        self,
        api: KubeApi,
        *,
        namespaces: Sequence[str] = (),
        page_size: int = DEFAULT_PAGE_SIZE,
        max_restarts: int = DEFAULT_MAX_RESTARTS,
        read_owners: bool = True,
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, not {page_size}")
        self._api = api
        self._namespaces = tuple(dict.fromkeys(namespaces))
        self._page_size = page_size
        self._max_restarts = max_restarts
        self._read_owners = read_owners

    @classmethod
    def connect(
        cls,
        *,
        environ: Mapping[str, str],
        kubeconfig: str | None = None,
        context: str | None = None,
        in_cluster: bool | None = None,
        namespaces: Sequence[str] = (),
        page_size: int = DEFAULT_PAGE_SIZE,
        max_restarts: int = DEFAULT_MAX_RESTARTS,
        read_owners: bool = True,
    ) -> KubernetesSource:
        """Connect with the in-cluster service account or a kubeconfig (see
        :func:`auditor.kube.connect`); raises KubeConfigError. Sends no request."""
        api = connect(
            environ=environ, kubeconfig=kubeconfig, context=context, in_cluster=in_cluster
        )
        return cls(
            api,
            namespaces=namespaces,
            page_size=page_size,
            max_restarts=max_restarts,
            read_owners=read_owners,
        )

    @property
    def description(self) -> str:
        scope = ", ".join(self._namespaces) if self._namespaces else "all namespaces"
        return f"cluster {self._api.description}, {scope}"

    def close(self) -> None:
        """Close the client's connection pool."""
        self._api.close()

    def __enter__(self) -> KubernetesSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def list_pods(self) -> PodList:
        """Every pod of the selected namespaces, plus their owners' metadata.

        Raises ClusterError when the pods cannot be listed; owner and namespace
        lists that fail only add a note.
        """
        with _collector_paused():
            return self._list_pods()

    def _list_pods(self) -> PodList:
        notes = Notes()
        pods: list[Pod] = []
        objects: list[KubeObject] = []
        skipped = 0
        for namespace in self._namespaces or (None,):
            for listing in self._list(PODS, namespace, notes=notes):
                pods.extend(listing.pods)
                objects.extend(listing.objects)
                skipped += listing.skipped
        if self._read_owners:
            for resource in (*OWNER_RESOURCES, NAMESPACES):
                scopes = (None,) if not resource.namespaced else self._namespaces or (None,)
                try:
                    for namespace in scopes:
                        for listing in self._list(resource, namespace, notes=notes):
                            objects.extend(listing.objects)
                except ClusterError as exc:
                    notes.add(f"{resource.plural} not read ({exc}); {_WITHOUT[resource.kind]}")
                    logger.warning("%s not listed: %s", resource.plural, exc)
        if self._namespaces:
            wanted = set(self._namespaces)
            objects = [o for o in objects if o.kind != "Namespace" or o.name in wanted]
        return PodList(tuple(pods), tuple(objects), notes.freeze(), skipped)

    def _list(self, resource: Resource, namespace: str | None, *, notes: Notes) -> list[PodList]:
        api = self._api
        metadata_only = resource.kind != "Pod"
        where = f"{resource.plural} in {namespace}" if namespace else resource.plural

        def fetch(token: str | None) -> Page:
            return api.list_page(
                resource,
                namespace=namespace,
                limit=self._page_size,
                continue_token=token,
                metadata_only=metadata_only,
            )

        def convert(items: list[object]) -> PodList:
            if resource.kind == "Pod":
                return parse_items(items, source=where, notes=notes)
            return _objects(items, kind=resource.kind, where=where, notes=notes)

        return list_pages(
            fetch,
            convert,
            what=where,
            source=api.description,
            max_restarts=self._max_restarts,
        )


def _objects(items: list[object], *, kind: str, where: str, notes: Notes) -> PodList:
    """Metadata-only items (``PartialObjectMetadata``): their kind is the listed resource's."""
    found: list[KubeObject] = []
    for index, item in enumerate(items):
        if not is_object(item):
            continue
        obj = parse_object(item, kind=kind, where=f"{where}[{index}]", notes=notes)
        if obj is not None:
            found.append(obj)
    return PodList((), tuple(found))
