"""Read one layer blob into :class:`~ballast.layers.facts.LayerFacts`.

Owns :func:`read_layer`, the streaming pass over a blob: hash the bytes as
read, detect the compression, decompress within the bomb caps, walk the tar
headers, and keep per entry only its clean path, size and kind. The few files
that matter beyond their size are looked at on the way past: package databases
are captured (bounded) and parsed, application ``package.json`` files are
parsed for dev-only dependencies, and secret candidates are peeked at and
dropped. Memory stays one decompressed chunk plus the entry table, whatever
the layer size. Pure: takes any object with ``read(n)``; no files, no network.
"""

from __future__ import annotations

import hashlib
import json
from typing import Final

from ballast._errors import LayerError
from ballast.layers.compression import (
    ByteSource,
    Compression,
    HashingSource,
    decompressed_chunks,
    detect_compression,
    digest_algorithm,
)
from ballast.layers.entry import Kind, clean_path
from ballast.layers.facts import LayerFacts, NodeProject
from ballast.layers.limits import DEFAULT_LIMITS, LayerLimits
from ballast.layers.package import DPKG_STATUS_DIR, PackageDb, database_manager, parse_database
from ballast.layers.secret import (
    KEY_NAMES,
    KEY_SUFFIXES,
    SecretHit,
    confirm_secret,
    needs_content,
    secret_candidate,
)
from ballast.layers.tarscan import TYPE_DIR, TYPE_FILE, TYPE_HARDLINK, TarScanner
from ballast.layers.whiteout import classify_whiteout

_CAPTURE_NAMES: Final = frozenset(
    {
        "status",
        "installed",
        "package.json",
        ".npmrc",
        ".pypirc",
        ".netrc",
        "_netrc",
        ".git-credentials",
        "config.json",
        "credentials",
        "config",
        "credentials.db",
        "access_tokens.db",
        *KEY_NAMES,
    }
)
_CAPTURE_SUFFIXES: Final = (*KEY_SUFFIXES, ".json")
_MAX_PACKAGE_JSON_BYTES: Final = 1024 * 1024
_MAX_DEV_DEPENDENCIES: Final = 5000


def read_layer(
    source: ByteSource,
    *,
    digest: str = "",
    media_type: str = "",
    diff_id: str = "",
    expected_size: int | None = None,
    limits: LayerLimits = DEFAULT_LIMITS,
) -> LayerFacts:
    """Stream one layer blob and return its facts.

    ``digest`` is the blob digest the caller fetched it by: the bytes are
    hashed as read and a mismatch raises :class:`LayerError` (after the whole
    blob was read, so nothing is returned for a bad blob). When empty, the
    computed digest is returned in the facts. ``diff_id`` (from the image
    config) is checked against the uncompressed stream when
    ``limits.verify_diff_id`` is set. ``expected_size`` stops a source that
    sends more than its descriptor declared. Every cap of ``limits`` ends the
    read with a :class:`LayerError` that names it.
    """
    subject = f"layer {digest}" if digest else "layer (unnamed)"
    algorithm = digest_algorithm(digest)
    blob = HashingSource(
        source, algorithm=algorithm, expected_size=expected_size, layer_digest=digest
    )
    head = blob.peek(8)
    if not head:
        raise LayerError(f"{subject} is empty: a layer is a tar stream", layer_digest=digest)
    compression = detect_compression(head, layer_digest=digest)
    diff_hash = None
    if diff_id and limits.verify_diff_id and compression is not Compression.NONE:
        diff_hash = hashlib.new(digest_algorithm(diff_id))
    scanner = TarScanner(
        decompressed_chunks(
            blob, compression, limits=limits, layer_digest=digest, uncompressed_hash=diff_hash
        ),
        max_entries=limits.max_entries,
        max_name_bytes=limits.max_name_bytes,
        max_pax_bytes=limits.max_pax_bytes,
        subject=subject,
        layer_digest=digest,
    )

    paths: list[str] = []
    sizes: list[int] = []
    kinds: list[str] = []
    hardlinks: list[tuple[str, str]] = []
    package_dbs: list[PackageDb] = []
    secrets: list[SecretHit] = []
    projects: list[NodeProject] = []
    add_path = paths.append
    add_size = sizes.append
    add_kind = kinds.append
    next_header = scanner.next
    size_bytes = 0
    # Directories listed or implied so far. Real tars list every parent; a layer
    # that implies deep unlisted parents costs memory later, so that is capped.
    directories: set[str] = {""}
    path_bytes = implied_bytes = 0
    max_depth = limits.max_path_depth

    while True:
        header = next_header()
        if header is None:
            break
        name, kind, size, data_bytes, link = header
        path = clean_path(name, layer_digest=digest)
        if not path:
            continue  # the root itself ("./"), which dive skips too
        size_bytes += size
        path_bytes += len(path)
        parent = path.rpartition("/")[0]
        if parent not in directories:
            if path.count("/") >= max_depth:
                raise LayerError(
                    f"{subject}: entry {path[:80]!r}… is more than {max_depth} directories "
                    "deep; refusing a hostile layer (raise max_path_depth if it is genuine)",
                    layer_digest=digest,
                )
            while parent not in directories:
                directories.add(parent)
                implied_bytes += len(parent)
                parent = parent.rpartition("/")[0]
            if implied_bytes > limits.max_implied_dir_bytes:
                raise LayerError(
                    f"{subject} implies more than {limits.max_implied_dir_bytes} bytes of "
                    "unlisted parent directories; refusing a hostile layer",
                    layer_digest=digest,
                )
        if path_bytes > limits.max_path_bytes:
            raise LayerError(
                f"{subject} has more than {limits.max_path_bytes} bytes of entry names; "
                "refusing an absurd layer (raise max_path_bytes if it is genuine)",
                layer_digest=digest,
            )
        if ".wh." in path:
            marker = classify_whiteout(path)
            if marker is not None:
                marker_kind, target = marker
                if target or marker_kind is Kind.OPAQUE:
                    add_path(target)
                    add_size(size)
                    add_kind(marker_kind.value)
                continue
        add_path(path)
        add_size(size)
        add_kind(kind)
        if kind == TYPE_DIR:
            directories.add(path)
            continue
        if kind == TYPE_HARDLINK:
            target = clean_path(link, layer_digest=digest)
            if not target:
                raise LayerError(
                    f"{subject}: hard link {path!r} points at the image root", layer_digest=digest
                )
            hardlinks.append((path, target))
            continue
        if kind != TYPE_FILE or not data_bytes:
            continue
        base = path[path.rfind("/") + 1 :]
        if not (
            base in _CAPTURE_NAMES
            or base.startswith(".env")
            or base.endswith(_CAPTURE_SUFFIXES)
            or path.startswith(DPKG_STATUS_DIR)
        ):
            continue
        if database_manager(path) is not None:
            captured = scanner.read_data(limits.max_capture_bytes)
            db = parse_database(path, captured, complete=scanner.data_left == 0)
            if db is not None:
                package_dbs.append(db)
            continue
        if base == "package.json":
            if "node_modules/" not in path and data_bytes <= _MAX_PACKAGE_JSON_BYTES:
                project = _node_project(path, scanner.read_data(data_bytes))
                if project is not None:
                    projects.append(project)
            continue
        secret_kind = secret_candidate(path, base)
        if secret_kind is None:
            continue
        # The peeked bytes live only for the check; nothing of them is kept.
        if needs_content(secret_kind) and not confirm_secret(
            secret_kind, scanner.read_data(limits.max_peek_bytes)
        ):
            continue
        secrets.append(SecretHit(path=path, kind=secret_kind, size=size))

    scanner.drain()
    actual = f"{algorithm}:{blob.hexdigest()}"
    if digest and actual != digest:
        raise LayerError(
            f"{subject} does not match its digest: the bytes read hash to {actual}; "
            "the blob is corrupt or was tampered with, fetch it again",
            layer_digest=digest,
        )
    computed_diff_id = ""
    if compression is Compression.NONE:
        computed_diff_id = actual
    elif diff_hash is not None:
        computed_diff_id = f"{diff_hash.name}:{diff_hash.hexdigest()}"
    if diff_id and computed_diff_id and computed_diff_id != diff_id:
        raise LayerError(
            f"{subject} unpacks to {computed_diff_id}, not to the diff_id {diff_id} "
            "the image config names: the image is inconsistent",
            layer_digest=digest or actual,
        )
    return LayerFacts(
        digest=digest or actual,
        diff_id=computed_diff_id or diff_id,
        media_type=media_type,
        compression=compression.value,
        compressed_bytes=blob.bytes_read,
        stream_bytes=scanner.stream_bytes,
        size_bytes=size_bytes,
        paths=tuple(paths),
        sizes=tuple(sizes),
        kinds="".join(kinds),
        hardlinks=tuple(hardlinks),
        package_dbs=tuple(package_dbs),
        secrets=tuple(secrets),
        node_projects=tuple(projects),
    )


def _node_project(path: str, data: bytes) -> NodeProject | None:
    """Dev-only dependency names of an application ``package.json`` (None if unreadable)."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict):
        return None
    dev = document.get("devDependencies")
    if not isinstance(dev, dict) or not dev:
        return None
    runtime = document.get("dependencies")
    runtime_names = set(runtime) if isinstance(runtime, dict) else set()
    names = sorted(str(n) for n in dev if n not in runtime_names)[:_MAX_DEV_DEPENDENCIES]
    directory = path[: -len("package.json")].rstrip("/")
    return NodeProject(directory=directory, dev_only=tuple(names)) if names else None
