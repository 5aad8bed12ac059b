"""Build and push images over the registry API (no Docker): blobs, manifests, indexes, layers.

Pushes go straight to the raw registry (not through the counting proxy) unless
``via_proxy=True``, so seeding a registry never shows up in a test's request counts and is
never hit by the proxy's misbehaviour knobs. In token mode the helpers mint their own
token in-process, so they do not show up in ``token_requests`` either.
Imports the standard library, ``httpx`` and ``zstandard``; never ``ballast``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import zlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import zstandard

if TYPE_CHECKING:
    from tests.support.registry import LocalRegistry

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"

MANIFEST_ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST])
"""An Accept header that gets every manifest kind back unchanged from distribution 2.8."""

DEFAULT_CREATED = "2024-01-01T00:00:00Z"
DEFAULT_ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)
LAYER_MTIME = 1_700_000_000
"""Fixed mtime for every entry of :func:`make_tar_layer`, so layers are reproducible."""

Platform = tuple[str, str, str | None]
"""``(os, architecture, variant)``."""
Media = Literal["oci", "docker"]


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class PushedImage:
    """What :func:`push_image` stored, with the numbers a test compares against."""

    repo: str
    tag: str | None
    digest: str
    manifest: bytes
    media_type: str
    config: bytes
    config_digest: str
    config_size: int
    layer_digests: tuple[str, ...]
    layer_sizes: tuple[int, ...]
    layer_media_types: tuple[str, ...]
    diff_ids: tuple[str, ...]
    compressed_size: int
    """Sum of the layer blobs and the config blob, in bytes (the manifest not included)."""
    platform: Platform
    host: str
    """The proxy's ``127.0.0.1:PORT``: references built from it are counted."""

    @property
    def digest_ref(self) -> str:
        return f"{self.host}/{self.repo}@{self.digest}"

    @property
    def tag_ref(self) -> str:
        if self.tag is None:
            raise RuntimeError(f"{self.repo}@{self.digest} was pushed without a tag")
        return f"{self.host}/{self.repo}:{self.tag}"


@dataclass(frozen=True, slots=True)
class PushedIndex:
    """What :func:`push_index` stored: an OCI index or a Docker manifest list."""

    repo: str
    tag: str | None
    digest: str
    manifest: bytes
    media_type: str
    images: tuple[PushedImage, ...]
    host: str

    @property
    def digest_ref(self) -> str:
        return f"{self.host}/{self.repo}@{self.digest}"

    @property
    def tag_ref(self) -> str:
        if self.tag is None:
            raise RuntimeError(f"{self.repo}@{self.digest} was pushed without a tag")
        return f"{self.host}/{self.repo}:{self.tag}"


# -- layers -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Symlink:
    """A symlink entry for :func:`make_tar_layer`."""

    target: str


@dataclass(frozen=True, slots=True)
class Hardlink:
    """A hard-link entry for :func:`make_tar_layer` (``target`` is a path in the same tar)."""

    target: str


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A regular file with an explicit mode, for :func:`make_tar_layer`."""

    data: bytes
    mode: int = 0o644


LayerEntry = bytes | None | Symlink | Hardlink | FileEntry
"""bytes: a file (0644); None: a directory (0755); or a link / file with a mode."""


def make_tar_layer(
    files: Mapping[str, LayerEntry],
    *,
    compression: Literal["gzip", "none", "zstd"] = "gzip",
) -> bytes:
    """A real, reproducible layer tarball: entries in dict order, fixed mtimes, uid/gid 0.

    Names are used as given (``etc/.wh.passwd`` and ``dir/.wh..wh..opq`` are whiteouts);
    parent directories are not added implicitly.
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, entry in files.items():
            info = tarfile.TarInfo(name)
            info.mtime = LAYER_MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            payload: bytes | None = None
            if entry is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif isinstance(entry, Symlink):
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, entry.target, 0o777
            elif isinstance(entry, Hardlink):
                info.type, info.linkname, info.mode = tarfile.LNKTYPE, entry.target, 0o644
            elif isinstance(entry, FileEntry):
                info.mode, info.size, payload = entry.mode, len(entry.data), entry.data
            else:
                info.mode, info.size, payload = 0o644, len(entry), entry
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    raw = buf.getvalue()
    if compression == "gzip":
        return gzip.compress(raw, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(raw)
    return raw


def _uncompressed(blob: bytes) -> tuple[bytes, Literal["gzip", "zstd", "none"]]:
    """Undo the compression a layer blob appears to have (random bytes stay as they are)."""
    if blob[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(blob), "gzip"
        except (OSError, EOFError, zlib.error):
            return blob, "gzip"
    if blob[:4] == b"\x28\xb5\x2f\xfd":
        try:
            return zstandard.ZstdDecompressor().decompressobj().decompress(blob), "zstd"
        except zstandard.ZstdError:
            return blob, "zstd"
    if len(blob) >= 262 and blob[257:262] == b"ustar":
        return blob, "none"
    return blob, "gzip"  # random bytes stand in for a gzip layer


def _layer_media_type(compression: str, media: Media) -> str:
    if media == "docker":
        return DOCKER_LAYER if compression == "none" else DOCKER_LAYER_GZIP
    return {"gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD, "none": OCI_LAYER}[compression]


# -- registry API -----------------------------------------------------------------------------


def push_blob(reg: LocalRegistry, repo: str, data: bytes, *, via_proxy: bool = False) -> str:
    """Upload one blob (POST then a monolithic PUT) and return its digest."""
    digest = sha256_digest(data)
    client = reg.api_client(via_proxy=via_proxy)
    headers = reg.auth_headers(repo)
    started = client.post(f"/v2/{repo}/blobs/uploads/", headers=headers)
    if started.status_code != 202:
        raise RuntimeError(f"start upload to {repo}: {started.status_code} {started.text}")
    location = started.headers["Location"]
    sep = "&" if "?" in location else "?"
    put = client.put(
        f"{location}{sep}digest={digest}",
        content=data,
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    if put.status_code != 201:
        raise RuntimeError(f"finish upload to {repo}: {put.status_code} {put.text}")
    return digest


def push_manifest(
    reg: LocalRegistry,
    repo: str,
    ref: str,
    body: bytes,
    media_type: str,
    *,
    via_proxy: bool = False,
) -> str:
    """PUT a manifest under a tag or digest; return the digest the registry computed."""
    client = reg.api_client(via_proxy=via_proxy)
    resp = client.put(
        f"/v2/{repo}/manifests/{ref}",
        content=body,
        headers={**reg.auth_headers(repo), "Content-Type": media_type},
    )
    if resp.status_code != 201:
        raise RuntimeError(f"push manifest {repo}:{ref}: {resp.status_code} {resp.text}")
    digest = resp.headers["Docker-Content-Digest"]
    if digest != sha256_digest(body):
        raise RuntimeError(f"registry digest {digest} differs from {sha256_digest(body)}")
    return digest


def build_config(
    *,
    diff_ids: list[str],
    platform: Platform = ("linux", "amd64", None),
    history: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    user: str = "",
    env: list[str] | None = None,
    entrypoint: list[str] | None = None,
    cmd: list[str] | None = None,
    created: str = DEFAULT_CREATED,
) -> dict[str, Any]:
    """An image config document (the same shape for OCI and Docker schema2)."""
    os_name, arch, variant = platform
    inner: dict[str, Any] = {
        "User": user,
        "Env": list(env if env is not None else DEFAULT_ENV),
        "Entrypoint": entrypoint,
        "Cmd": cmd,
        "Labels": labels,
    }
    config: dict[str, Any] = {"architecture": arch, "os": os_name}
    if variant:
        config["variant"] = variant
    config["created"] = created
    config["config"] = inner
    config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    if history is None:
        history = [
            {"created": created, "created_by": f"/bin/sh -c #(nop) ADD layer-{i}.tar /"}
            for i in range(len(diff_ids))
        ]
    config["history"] = history
    return config


def push_image(
    reg: LocalRegistry,
    repo: str,
    tag: str | None = "latest",
    *,
    layers: list[bytes] | None = None,
    layer_sizes: list[int] | None = None,
    media: Media = "oci",
    history: list[dict[str, Any]] | None = None,
    platform: Platform = ("linux", "amd64", None),
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    user: str = "",
    env: list[str] | None = None,
    entrypoint: list[str] | None = None,
    cmd: list[str] | None = None,
    created: str = DEFAULT_CREATED,
    layer_media_types: list[str] | None = None,
    via_proxy: bool = False,
) -> PushedImage:
    """Push a complete single-platform image and return what was stored.

    ``layers`` are blobs as stored (e.g. from :func:`make_tar_layer`); ``layer_sizes``
    instead generates incompressible random blobs of those sizes (both may be given:
    ``layers`` come first). With neither, the image has one small real gzip layer.
    diff_ids are the sha256 of the uncompressed tar (of the raw bytes for random data).
    ``history`` is written as given (``empty_layer: true`` entries included); without it
    there is one entry per layer. ``tag=None`` pushes by digest only (for index children).
    Docker schema2 manifests have no annotations, so ``annotations`` is OCI-only.
    """
    blobs = list(layers or [])
    blobs += [os.urandom(size) for size in (layer_sizes or [])]
    if layers is None and layer_sizes is None:
        blobs = [make_tar_layer({"hello.txt": b"hello from ballast tests\n"})]
    diff_ids: list[str] = []
    media_types: list[str] = []
    for blob in blobs:
        raw, compression = _uncompressed(blob)
        diff_ids.append(sha256_digest(raw))
        media_types.append(_layer_media_type(compression, media))
    if layer_media_types is not None:
        media_types = list(layer_media_types)

    config = build_config(
        diff_ids=diff_ids,
        platform=platform,
        history=history,
        labels=labels,
        user=user,
        env=env,
        entrypoint=entrypoint,
        cmd=cmd,
        created=created,
    )
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    # Blob uploads cost the registry ~5-20 ms each (filesystem work): overlap them.
    with ThreadPoolExecutor(max_workers=4) as pool:
        digests = list(
            pool.map(lambda b: push_blob(reg, repo, b, via_proxy=via_proxy), [config_bytes, *blobs])
        )
    config_digest, layer_digests = digests[0], digests[1:]

    manifest_type = OCI_MANIFEST if media == "oci" else DOCKER_MANIFEST
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {
            "mediaType": OCI_CONFIG if media == "oci" else DOCKER_CONFIG,
            "digest": config_digest,
            "size": len(config_bytes),
        },
        "layers": [
            {"mediaType": mt, "digest": d, "size": len(b)}
            for mt, d, b in zip(media_types, layer_digests, blobs, strict=True)
        ],
    }
    if annotations and media == "oci":
        manifest["annotations"] = annotations
    body = json.dumps(manifest, indent=3).encode()
    digest = push_manifest(
        reg, repo, tag or sha256_digest(body), body, manifest_type, via_proxy=via_proxy
    )
    return PushedImage(
        repo=repo,
        tag=tag,
        digest=digest,
        manifest=body,
        media_type=manifest_type,
        config=config_bytes,
        config_digest=config_digest,
        config_size=len(config_bytes),
        layer_digests=tuple(layer_digests),
        layer_sizes=tuple(len(b) for b in blobs),
        layer_media_types=tuple(media_types),
        diff_ids=tuple(diff_ids),
        compressed_size=len(config_bytes) + sum(len(b) for b in blobs),
        platform=platform,
        host=reg.host,
    )


def push_index(
    reg: LocalRegistry,
    repo: str,
    tag: str | None,
    images: list[PushedImage],
    *,
    media: Media = "oci",
    annotations: dict[str, str] | None = None,
    via_proxy: bool = False,
) -> PushedIndex:
    """Push an OCI index or a Docker manifest list over images already in ``repo``."""
    for image in images:
        if image.repo != repo:
            raise ValueError(f"{image.digest_ref} is not in {repo}: push it there first")
    media_type = OCI_INDEX if media == "oci" else DOCKER_MANIFEST_LIST
    entries: list[dict[str, Any]] = []
    for image in images:
        os_name, arch, variant = image.platform
        plat: dict[str, str] = {"architecture": arch, "os": os_name}
        if variant:
            plat["variant"] = variant
        entries.append(
            {
                "mediaType": image.media_type,
                "digest": image.digest,
                "size": len(image.manifest),
                "platform": plat,
            }
        )
    index: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type, "manifests": entries}
    if annotations and media == "oci":
        index["annotations"] = annotations
    body = json.dumps(index, indent=3).encode()
    digest = push_manifest(
        reg, repo, tag or sha256_digest(body), body, media_type, via_proxy=via_proxy
    )
    return PushedIndex(
        repo=repo,
        tag=tag,
        digest=digest,
        manifest=body,
        media_type=media_type,
        images=tuple(images),
        host=reg.host,
    )
