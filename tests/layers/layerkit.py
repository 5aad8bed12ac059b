"""Build real layers and image archives for the layer tests (no Docker needed).

Layers are real tar streams written by ``tarfile``; archives are real
``docker save`` tarballs (legacy and kaniko style) and OCI image layouts
(tarred or as a directory), with configs whose diff_ids are the real digests.
Imports the standard library and ``zstandard``; never ``ballast``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import zstandard


@dataclass(frozen=True)
class Spec:
    """One entry to put in a layer."""

    kind: str
    path: str
    data: bytes = b""
    target: str = ""
    mode: int = 0o644


def file(path: str, data: bytes | int = b"", mode: int = 0o644) -> Spec:
    """A regular file; an int makes that many bytes of filler."""
    payload = data if isinstance(data, bytes) else (b"x" * data)
    return Spec("file", path, payload, mode=mode)


def directory(path: str) -> Spec:
    return Spec("dir", path, mode=0o755)


def symlink(path: str, target: str) -> Spec:
    return Spec("symlink", path, target=target)


def hardlink(path: str, target: str) -> Spec:
    return Spec("hardlink", path, target=target)


def whiteout(path: str) -> Spec:
    """Delete ``path`` from lower layers (``DIR/.wh.NAME``)."""
    parent, _, name = path.rpartition("/")
    return Spec("file", f"{parent}/.wh.{name}" if parent else f".wh.{name}")


def opaque(directory_path: str) -> Spec:
    """Hide everything lower layers put in ``directory_path``."""
    return Spec("file", f"{directory_path}/.wh..wh..opq")


def tar_bytes(entries: Sequence[Spec], *, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A real tar stream holding ``entries`` in order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for spec in entries:
            info = tarfile.TarInfo(spec.path)
            info.mode = spec.mode
            info.mtime = 1_700_000_000
            if spec.kind == "file":
                info.size = len(spec.data)
                archive.addfile(info, io.BytesIO(spec.data))
            elif spec.kind == "dir":
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            elif spec.kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = spec.target
                archive.addfile(info)
            elif spec.kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = spec.target
                archive.addfile(info)
            else:
                raise ValueError(spec.kind)
    return buffer.getvalue()


def compress(data: bytes, how: str) -> bytes:
    """``none``, ``gzip``, ``zstd`` or ``estargz`` (one gzip member per 512-byte block run)."""
    if how == "none":
        return data
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    if how == "estargz":
        # estargz writes one gzip member per file; splitting at block boundaries is the same
        # shape for a reader: many concatenated members.
        step = 512 * 3
        return b"".join(
            gzip.compress(data[i : i + step], mtime=0) for i in range(0, len(data), step)
        )
    raise ValueError(how)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def config_json(
    diff_ids: Sequence[str],
    history: Sequence[str] | None = None,
    *,
    architecture: str = "amd64",
    empty_layers: Sequence[int] = (),
) -> bytes:
    """An image config; ``empty_layers`` are history positions with ``empty_layer``."""
    steps = (
        list(history) if history is not None else [f"RUN step {i}" for i in range(len(diff_ids))]
    )
    entries = []
    for position, step in enumerate(steps):
        entry: dict[str, object] = {"created_by": step}
        if position in empty_layers:
            entry["empty_layer"] = True
        entries.append(entry)
    return json.dumps(
        {
            "architecture": architecture,
            "os": "linux",
            "config": {},
            "history": entries,
            "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        }
    ).encode()


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_700_000_000
    archive.addfile(info, io.BytesIO(data))


def docker_archive(
    path: Path,
    layers: Sequence[bytes],
    *,
    history: Sequence[str] | None = None,
    style: str = "legacy",
    reverse_members: bool = False,
    tags: Sequence[str] = ("test/image:latest",),
) -> Path:
    """Write a ``docker save`` tarball of uncompressed ``layers``.

    ``style``: ``legacy`` (``<id>/layer.tar``, uncompressed), ``kaniko``
    (``sha256:`` config, ``<digest>.tar.gz`` gzipped layers) or ``blobs``
    (docker 25+: ``blobs/sha256/<hex>``). ``reverse_members`` writes the layers
    in the opposite order of the manifest.
    """
    diff_ids = [sha256(layer) for layer in layers]
    config = config_json(diff_ids, history)
    members: list[tuple[str, bytes]] = []
    names = []
    for position, layer in enumerate(layers):
        if style == "legacy":
            name = f"{hashlib.sha256(layer + bytes([position])).hexdigest()}/layer.tar"
            blob = layer
        elif style == "kaniko":
            blob = gzip.compress(layer, mtime=0)
            name = f"{hashlib.sha256(blob).hexdigest()}.tar.gz"
        else:
            blob = layer
            name = f"blobs/sha256/{hashlib.sha256(blob).hexdigest()}"
        names.append(name)
        members.append((name, blob))
    if style == "kaniko":
        config_name = sha256(config)
    elif style == "blobs":
        config_name = f"blobs/sha256/{hashlib.sha256(config).hexdigest()}"
    else:
        config_name = f"{hashlib.sha256(config).hexdigest()}.json"
    if reverse_members:
        members.reverse()
    manifest = [{"Config": config_name, "RepoTags": list(tags), "Layers": names}]
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        seen = set()
        for name, blob in members:
            if name not in seen:
                _add(archive, name, blob)
                seen.add(name)
        _add(archive, config_name, config)
        _add(archive, "manifest.json", json.dumps(manifest).encode())
    return path


@dataclass(frozen=True)
class PlatformImage:
    """One platform's image in an OCI layout."""

    layers: Sequence[bytes]
    """Uncompressed layer tars."""
    compression: str = "gzip"
    architecture: str = "amd64"
    history: Sequence[str] | None = None


def oci_layout(
    target: Path, images: Sequence[PlatformImage], *, as_tar: bool, nested_index: bool = False
) -> Path:
    """Write an OCI image layout (directory or tar) holding ``images``."""
    blobs: dict[str, bytes] = {}

    def put(data: bytes) -> str:
        digest = sha256(data)
        blobs[digest] = data
        return digest

    media = {
        "none": "application/vnd.oci.image.layer.v1.tar",
        "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
        "estargz": "application/vnd.oci.image.layer.v1.tar+gzip",
        "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    }
    descriptors = []
    for image in images:
        layer_descriptors = []
        for layer in image.layers:
            blob = compress(layer, image.compression)
            layer_descriptors.append(
                {"mediaType": media[image.compression], "digest": put(blob), "size": len(blob)}
            )
        config = config_json(
            [sha256(layer) for layer in image.layers],
            image.history,
            architecture=image.architecture,
        )
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": put(config),
                    "size": len(config),
                },
                "layers": layer_descriptors,
            }
        ).encode()
        descriptors.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": put(manifest),
                "size": len(manifest),
                "platform": {"architecture": image.architecture, "os": "linux"},
            }
        )
    if nested_index:
        inner = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": descriptors,
            }
        ).encode()
        descriptors = [
            {
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": put(inner),
                "size": len(inner),
                "annotations": {"org.opencontainers.image.ref.name": "latest"},
            }
        ]
    index = json.dumps({"schemaVersion": 2, "manifests": descriptors}).encode()
    files = {
        "oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
        "index.json": index,
        **{f"blobs/sha256/{d.partition(':')[2]}": data for d, data in blobs.items()},
    }
    if as_tar:
        with tarfile.open(target, "w") as archive:
            for name, data in files.items():
                _add(archive, name, data)
    else:
        for name, data in files.items():
            full = target / name
            os.makedirs(full.parent, exist_ok=True)
            full.write_bytes(data)
    return target


DPKG_STATUS = b"""Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12000
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: gcc-12
Status: install ok installed
Installed-Size: 69632
Architecture: amd64
Version: 12.2.0-14
Description: GNU C compiler

Package: libssl-dev
Status: install ok installed
Installed-Size: 12288
Architecture: amd64
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit - development files

Package: old-tool
Status: deinstall ok config-files
Installed-Size: 500
Version: 1.0
Description: removed, only config files left
"""
"""A real-shaped dpkg status: two installed packages, one -dev, one removed."""

APK_INSTALLED = b"""C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64
S:383152
I:622592
T:the musl c library (libc) implementation

C:Q1def=
P:gcc
V:13.2.1_git20231014-r0
A:x86_64
I:104857600
T:The GNU Compiler Collection
"""
