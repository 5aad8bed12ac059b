"""Local image archives as layer sources: ``docker-archive:``, ``oci-archive:``, ``oci:``.

Owns :func:`open_archive` and :class:`ArchiveImage`. It understands

* ``docker save`` tarballs: ``manifest.json`` naming a config and layer paths
  (legacy ``<id>/layer.tar``, possibly symlinked to share a layer; kaniko and
  go-containerregistry style ``sha256:<hex>`` config and ``<digest>.tar.gz``
  layers; docker 25+ ``blobs/sha256/<hex>``);
* OCI image layouts (``oci-layout``, ``index.json``, ``blobs/``), tarred or as
  a directory, with nested indexes and a platform choice.

Layer order always comes from the manifest, never from archive order. The
outer tar is indexed by reading its headers only (member data is skipped with
``seek``), documents are read with size caps, and each layer is opened as a
bounded window onto the archive, so nothing is extracted and no layer is held
in memory. Anything that is not an image (a root filesystem tar, an OCI
artifact) is refused with a :class:`LayerError` that says what was expected.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from ballast._errors import LayerError
from ballast.facts import Platform
from ballast.layers.compression import Compression, detect_compression
from ballast.layers.entry import clean_path
from ballast.layers.image_config import ImageConfig, layer_history, parse_config
from ballast.layers.limits import DEFAULT_LIMITS, LayerLimits
from ballast.layers.tarscan import TYPE_FILE, TYPE_HARDLINK, TYPE_SYMLINK, scan_members

ArchiveKind = Literal["docker-archive", "oci-archive", "oci"]

DEFAULT_PLATFORM: Final = "linux/amd64"
"""Platform chosen from a multi-platform layout unless told otherwise."""

OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST: Final = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST: Final = "application/vnd.docker.distribution.manifest.list.v2+json"
_INDEXES: Final = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
_MANIFESTS: Final = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
_IMAGE_CONFIGS: Final = frozenset(
    {
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.docker.container.image.v1+json",
    }
)
_LAYER_TYPES: Final = re.compile(
    r"^application/vnd\.(?:oci\.image\.layer(?:\.nondistributable)?\.v1\.tar"
    r"|docker\.image\.rootfs\.(?:foreign\.)?diff\.tar)(?:\.gzip|\+gzip|\+zstd|\.zstd)?$"
)
_DIGEST: Final = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
_HEX_NAME: Final = re.compile(r"^(?:sha256:)?([a-f0-9]{64})(?:\.tar(?:\.gz|\.zst)?|\.tgz)?$")
_REF_ANNOTATIONS: Final = ("org.opencontainers.image.ref.name", "io.containerd.image.name")
_MAX_INDEX_DEPTH: Final = 4
_MAX_LINK_HOPS: Final = 8
_MEDIA_BY_COMPRESSION: Final = {
    Compression.NONE: "application/vnd.docker.image.rootfs.diff.tar",
    Compression.GZIP: "application/vnd.docker.image.rootfs.diff.tar.gzip",
    Compression.ZSTD: "application/vnd.docker.image.rootfs.diff.tar.zstd",
}


class BlobStream(Protocol):
    """A readable blob: ``read(n)`` returns at most n bytes, ``b""`` at the end."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class LayerDescriptor:
    """One layer of an archived image, in manifest order."""

    digest: str
    """Blob digest when known before reading (``""``: computed while reading)."""
    media_type: str
    """Media type from the manifest, or derived from the blob's magic bytes."""
    size: int
    """Blob size in bytes (compressed size)."""
    diff_id: str
    """Uncompressed digest from the config, when it has one for this layer."""
    member: str
    """Where the blob is: archive member or file under the layout directory."""


@dataclass(frozen=True, slots=True)
class ArchiveImage:
    """An image found in a local archive: its config and its layers, ready to stream."""

    spec: str
    """What was opened, as given."""
    kind: ArchiveKind
    """Which format was found (a docker-archive holding an OCI layout says oci-archive)."""
    config: ImageConfig
    """Platform, history and diff_ids."""
    layers: tuple[LayerDescriptor, ...]
    """Layers in manifest order."""
    manifest_digest: str = ""
    """Digest of the OCI manifest, when the archive has one."""
    repo_tags: tuple[str, ...] = ()
    """Tags recorded by ``docker save`` or ref-name annotations."""
    _opener: Callable[[str, int], BlobStream] | None = field(default=None, repr=False)

    @property
    def history(self) -> list[str | None]:
        """The instruction behind each layer (``None`` where the config has none)."""
        return layer_history(self.config, len(self.layers))

    @contextmanager
    def open_layer(self, layer: LayerDescriptor) -> Iterator[BlobStream]:
        """Open one layer blob as a byte stream (a bounded window; never extracted)."""
        if self._opener is None:
            raise RuntimeError("this ArchiveImage was not made by open_archive")
        stream = self._opener(layer.member, layer.size)
        try:
            yield stream
        finally:
            stream.close()


class _Window:
    """A read-only window of ``size`` bytes at ``offset`` in a file."""

    def __init__(self, path: str, offset: int, size: int) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._file.seek(offset)
        self._left = size

    def read(self, size: int = -1, /) -> bytes:
        if self._left <= 0:
            return b""
        if size < 0 or size > self._left:
            size = self._left
        data = self._file.read(size)
        self._left -= len(data)
        if not data:
            self._left = 0
        return data

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True, slots=True)
class _Member:
    offset: int
    size: int
    kind: str
    link: str


class _Store:
    """Named blobs and documents of an archive: an indexed tar file or a directory."""

    def __init__(self, path: str, *, is_directory: bool, limits: LayerLimits) -> None:
        self.path = path
        self.is_directory = is_directory
        self.limits = limits
        self.members: dict[str, _Member] = {}
        if not is_directory:
            self._index()

    def _index(self) -> None:
        with open(self.path, "rb") as file:
            head = file.read(8)
            if head.startswith(b"\x1f\x8b") or head.startswith(b"\x28\xb5\x2f\xfd"):
                raise LayerError(
                    f"{self.path} is a compressed file; image archives are plain tar: "
                    "decompress it first (gunzip / zstd -d)"
                )
            file.seek(0)
            for (name, kind, _size, data, link), offset in scan_members(
                file,
                max_members=self.limits.max_members,
                max_name_bytes=self.limits.max_name_bytes,
                max_pax_bytes=self.limits.max_pax_bytes,
                subject=f"archive {self.path}",
            ):
                try:
                    clean = clean_path(name)
                except LayerError:
                    continue  # a name outside the archive root can never be a blob we use
                if clean:
                    self.members[clean] = _Member(offset, data, kind, link)

    def names(self) -> list[str]:
        if self.is_directory:
            found: list[str] = []
            for root, _dirs, files in os.walk(self.path):
                relative = os.path.relpath(root, self.path)
                for name in files:
                    found.append(name if relative == "." else f"{relative}/{name}")
                if len(found) > self.limits.max_members:
                    break
            return found
        return list(self.members)

    def canonical(self, name: str) -> str:
        """The member a name finally points at (symlinks and hard links followed)."""
        if self.is_directory:
            return name
        resolved = self._resolve(name, with_name=True)
        return resolved if isinstance(resolved, str) else name

    def _resolve(self, name: str, *, with_name: bool = False) -> _Member | str | None:
        member = self.members.get(name)
        hops = 0
        while member is not None and member.kind in (TYPE_SYMLINK, TYPE_HARDLINK):
            hops += 1
            if hops > _MAX_LINK_HOPS:
                return None
            if member.kind == TYPE_SYMLINK:
                target = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.link))
            else:
                target = member.link
            try:
                name = clean_path(target)
            except LayerError:
                return None
            member = self.members.get(name)
        if member is None or member.kind != TYPE_FILE:
            return None
        return name if with_name else member

    def _member(self, name: str) -> _Member | None:
        member = self._resolve(name)
        return member if isinstance(member, _Member) else None

    def exists(self, name: str) -> bool:
        if self.is_directory:
            return os.path.isfile(os.path.join(self.path, name))
        return self._member(name) is not None

    def size(self, name: str) -> int:
        if self.is_directory:
            return os.path.getsize(os.path.join(self.path, name))
        member = self._member(name)
        if member is None:
            raise self.missing(name)
        return member.size

    def missing(self, name: str) -> LayerError:
        return LayerError(
            f"{self.path} names {name!r} but does not contain it: the archive is incomplete"
        )

    def open(self, name: str, size: int) -> BlobStream:
        if self.is_directory:
            full = os.path.join(self.path, name)
            if not os.path.isfile(full):
                raise self.missing(name)
            return open(full, "rb")
        member = self._member(name)
        if member is None:
            raise self.missing(name)
        return _Window(self.path, member.offset, member.size)

    def read(self, name: str, cap: int, what: str) -> bytes:
        size = self.size(name) if self.exists(name) else -1
        if size < 0:
            raise self.missing(name)
        if size > cap:
            raise LayerError(
                f"{self.path}: {what} {name!r} is {size} bytes, above the {cap}-byte cap"
            )
        stream = self.open(name, size)
        try:
            return stream.read(cap + 1)[:cap]
        finally:
            stream.close()


def _split_spec(spec: str) -> tuple[ArchiveKind | None, str, str]:
    """(kind, path, reference) from ``kind:path[:reference]``."""
    kind: ArchiveKind | None = None
    rest = spec
    prefixes: tuple[ArchiveKind, ...] = ("docker-archive", "oci-archive", "oci")
    for prefix in prefixes:
        if spec.startswith(prefix + ":"):
            kind = prefix
            rest = spec[len(prefix) + 1 :]
            break
    if os.path.exists(rest):
        return kind, rest, ""
    position = rest.find(":")
    while position >= 0:
        if os.path.exists(rest[:position]):
            return kind, rest[:position], rest[position + 1 :]
        position = rest.find(":", position + 1)
    return kind, rest, ""


def open_archive(
    spec: str, *, platform: str | None = None, limits: LayerLimits = DEFAULT_LIMITS
) -> ArchiveImage:
    """Open a local image archive and describe the image in it.

    ``spec`` is ``docker-archive:FILE.tar``, ``oci-archive:FILE.tar`` or
    ``oci:DIR``, optionally followed by ``:REFERENCE`` to pick one of several
    images (a tag for docker save, a ref-name annotation for OCI layouts); a
    bare path is recognised by its contents. ``platform`` (``os/arch[/variant]``)
    picks from a multi-platform layout; by default linux/amd64, or the only
    platform there is. Raises :class:`LayerError` for anything that is not an
    image, with what was expected.
    """
    kind, path, reference = _split_spec(spec)
    if not os.path.exists(path):
        raise LayerError(f"{spec}: no such file or directory")
    is_directory = os.path.isdir(path)
    if kind in ("docker-archive", "oci-archive") and is_directory:
        raise LayerError(
            f"{spec}: {path} is a directory; use oci:{path} for an OCI layout directory"
        )
    if kind == "oci" and not is_directory:
        raise LayerError(
            f"{spec}: {path} is a file; use oci-archive:{path} for a tarred OCI layout"
        )
    store = _Store(path, is_directory=is_directory, limits=limits)
    has_manifest = store.exists("manifest.json")
    has_layout = store.exists("index.json")
    wanted = Platform.parse(platform) if platform else None
    if has_manifest and (kind != "oci-archive" or not has_layout) and kind != "oci":
        return _open_docker(spec, store, reference, limits)
    if has_layout:
        return _open_layout(spec, store, reference, wanted, limits, is_directory=is_directory)
    names = store.names()
    sample = ", ".join(sorted(names)[:3]) or "nothing"
    raise LayerError(
        f"{spec} is not an image archive: expected manifest.json (docker save) or "
        f"oci-layout and index.json (an OCI image layout), but it holds {len(names)} "
        f"entries ({sample}); a plain root filesystem tar is not an image: "
        "`docker save IMAGE -o FILE.tar` or `skopeo copy ... oci-archive:FILE.tar` makes one"
    )


def _json(store: _Store, name: str, cap: int, what: str) -> Any:
    data = store.read(name, cap, what)
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LayerError(f"{store.path}: {what} {name!r} is not valid JSON ({exc})") from exc


def _open_docker(spec: str, store: _Store, reference: str, limits: LayerLimits) -> ArchiveImage:
    manifest = _json(store, "manifest.json", limits.max_document_bytes, "manifest")
    if (
        not isinstance(manifest, list)
        or not manifest
        or not all(isinstance(m, dict) for m in manifest)
    ):
        raise LayerError(f"{spec}: manifest.json is not a list of images (docker save format)")
    chosen: dict[str, Any] | None = None
    if reference:
        for item in manifest:
            tags = item.get("RepoTags") or []
            if reference in tags or any(str(t).endswith("/" + reference) for t in tags):
                chosen = item
                break
        if chosen is None and reference.startswith("@") and reference[1:].isdigit():
            position = int(reference[1:])
            chosen = manifest[position] if position < len(manifest) else None
        if chosen is None:
            raise LayerError(f"{spec}: no image tagged {reference!r} in the archive")
    elif len(manifest) == 1:
        chosen = manifest[0]
    else:
        tags = [", ".join(m.get("RepoTags") or ["(untagged)"]) for m in manifest]
        raise LayerError(
            f"{spec} holds {len(manifest)} images ({'; '.join(tags)}): "
            f"pick one with {spec}:TAG or {spec}:@INDEX"
        )
    config_name = str(chosen.get("Config") or "")
    layer_names = chosen.get("Layers")
    if not config_name or not isinstance(layer_names, list):
        raise LayerError(f"{spec}: manifest.json has no Config or Layers for the image")
    config = parse_config(
        store.read(clean_path(config_name), limits.max_config_bytes, "config"),
        source=f"{spec} config {config_name}",
    )
    layers = []
    for position, raw_name in enumerate(layer_names):
        name = clean_path(str(raw_name))
        if not store.exists(name):
            raise store.missing(name)
        name = store.canonical(name)
        size = store.size(name)
        diff_id = config.diff_ids[position] if position < len(config.diff_ids) else ""
        stream = store.open(name, size)
        try:
            compression = detect_compression(stream.read(8), layer_digest=name)
        finally:
            stream.close()
        digest = ""
        hex_name = _HEX_NAME.match(posixpath.basename(name))
        if name.startswith("blobs/sha256/") and _HEX_NAME.match(name[13:]):
            digest = "sha256:" + name[13:]
        elif hex_name is not None and compression is not Compression.NONE:
            digest = "sha256:" + hex_name.group(1)
        elif compression is Compression.NONE and diff_id:
            digest = diff_id  # an uncompressed blob is its own diff
        layers.append(
            LayerDescriptor(
                digest=digest,
                media_type=_MEDIA_BY_COMPRESSION[compression],
                size=size,
                diff_id=diff_id,
                member=name,
            )
        )
    if config.diff_ids and len(config.diff_ids) != len(layers):
        raise LayerError(
            f"{spec}: the config lists {len(config.diff_ids)} layers but manifest.json "
            f"{len(layers)}: the archive is inconsistent"
        )
    return ArchiveImage(
        spec=spec,
        kind="docker-archive",
        config=config,
        layers=tuple(layers),
        repo_tags=tuple(str(t) for t in chosen.get("RepoTags") or []),
        _opener=store.open,
    )


def _blob_name(digest: str, spec: str) -> str:
    if not _DIGEST.match(digest):
        raise LayerError(f"{spec}: {digest!r} is not a sha256/sha512 digest")
    algorithm, _, hex_digest = digest.partition(":")
    return f"blobs/{algorithm}/{hex_digest}"


def _verified_document(
    store: _Store, descriptor: dict[str, Any], cap: int, what: str, spec: str
) -> dict[str, Any]:
    digest = str(descriptor.get("digest") or "")
    name = _blob_name(digest, spec)
    data = store.read(name, cap, what)
    algorithm = digest.partition(":")[0]
    actual = f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
    if actual != digest:
        raise LayerError(f"{spec}: {what} {digest} hashes to {actual}: the layout is corrupt")
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LayerError(f"{spec}: {what} {digest} is not JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise LayerError(f"{spec}: {what} {digest} is not a JSON object")
    return document


def _platform_of(descriptor: dict[str, Any]) -> Platform | None:
    raw = descriptor.get("platform")
    if not isinstance(raw, dict):
        return None
    return Platform(
        str(raw.get("os") or ""), str(raw.get("architecture") or ""), str(raw.get("variant") or "")
    )


def _is_attestation(descriptor: dict[str, Any]) -> bool:
    annotations = descriptor.get("annotations") or {}
    platform = _platform_of(descriptor)
    return (
        isinstance(annotations, dict)
        and annotations.get("vnd.docker.reference.type") == "attestation-manifest"
    ) or (platform is not None and platform.os == "unknown")


def _manifests(
    store: _Store, index: dict[str, Any], spec: str, limits: LayerLimits, depth: int = 0
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(descriptor, top-level annotations) of every image manifest, nested indexes flattened."""
    if depth > _MAX_INDEX_DEPTH:
        raise LayerError(f"{spec}: indexes nested more than {_MAX_INDEX_DEPTH} deep")
    entries = index.get("manifests")
    if not isinstance(entries, list):
        raise LayerError(f"{spec}: index.json has no manifests list")
    found: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        media_type = str(entry.get("mediaType") or "")
        annotations = entry.get("annotations") if isinstance(entry.get("annotations"), dict) else {}
        if media_type in _INDEXES:
            nested = _verified_document(store, entry, limits.max_document_bytes, "index", spec)
            for descriptor, inner in _manifests(store, nested, spec, limits, depth + 1):
                found.append((descriptor, {**inner, **(annotations or {})}))
        elif media_type in _MANIFESTS or not media_type:
            found.append((entry, annotations or {}))
    return found


def _open_layout(
    spec: str,
    store: _Store,
    reference: str,
    wanted: Platform | None,
    limits: LayerLimits,
    *,
    is_directory: bool,
) -> ArchiveImage:
    if store.exists("oci-layout"):
        layout = _json(store, "oci-layout", limits.max_document_bytes, "oci-layout")
        if not isinstance(layout, dict) or "imageLayoutVersion" not in layout:
            raise LayerError(f"{spec}: oci-layout has no imageLayoutVersion")
    index = _json(store, "index.json", limits.max_document_bytes, "index")
    if not isinstance(index, dict):
        raise LayerError(f"{spec}: index.json is not a JSON object")
    candidates = _manifests(store, index, spec, limits)
    if reference:
        candidates = [
            (d, a)
            for d, a in candidates
            if any(
                str(a.get(key, "")) == reference or str(a.get(key, "")).endswith(":" + reference)
                for key in _REF_ANNOTATIONS
            )
        ]
        if not candidates:
            raise LayerError(f"{spec}: no image named {reference!r} in the layout")
    images = [(d, a) for d, a in candidates if not _is_attestation(d)]
    if not images:
        raise LayerError(f"{spec}: the layout holds no image manifest")
    if len(images) == 1:
        descriptor, annotations = images[0]
    else:
        target = wanted or Platform.parse(DEFAULT_PLATFORM)
        matching = [
            (d, a) for d, a in images if (p := _platform_of(d)) is not None and p.matches(target)
        ]
        if not matching:
            offered = ", ".join(sorted({str(_platform_of(d) or "unknown") for d, _ in images}))
            raise LayerError(
                f"{spec} has no image for {target}; it offers {offered} "
                "(choose one with --platform)"
            )
        descriptor, annotations = matching[0]
    manifest = _verified_document(store, descriptor, limits.max_document_bytes, "manifest", spec)
    config_descriptor = manifest.get("config")
    layer_entries = manifest.get("layers")
    if not isinstance(config_descriptor, dict) or not isinstance(layer_entries, list):
        raise LayerError(f"{spec}: manifest {descriptor.get('digest')} has no config or layers")
    config_type = str(config_descriptor.get("mediaType") or "")
    if config_type not in _IMAGE_CONFIGS:
        raise LayerError(
            f"{spec} holds an OCI artifact (config type {config_type or 'missing'}), "
            "not a container image"
        )
    config_name = _blob_name(str(config_descriptor.get("digest") or ""), spec)
    config_bytes = store.read(config_name, limits.max_config_bytes, "config")
    config_digest = str(config_descriptor["digest"])
    algorithm = config_digest.partition(":")[0]
    if f"{algorithm}:{hashlib.new(algorithm, config_bytes).hexdigest()}" != config_digest:
        raise LayerError(f"{spec}: config {config_digest} does not match its digest")
    config = parse_config(config_bytes, source=f"{spec} config {config_digest}")
    layers = []
    for position, entry in enumerate(layer_entries):
        if not isinstance(entry, dict):
            raise LayerError(f"{spec}: layer {position} of the manifest is not a descriptor")
        media_type = str(entry.get("mediaType") or "")
        if not _LAYER_TYPES.match(media_type):
            raise LayerError(
                f"{spec}: layer {position} has media type {media_type!r}, which is not an "
                "image layer (tar, tar+gzip or tar+zstd)"
            )
        digest = str(entry.get("digest") or "")
        name = _blob_name(digest, spec)
        size = entry.get("size")
        if not isinstance(size, int) or size < 0:
            raise LayerError(f"{spec}: layer {digest} has no valid size")
        layers.append(
            LayerDescriptor(
                digest=digest,
                media_type=media_type,
                size=size,
                diff_id=config.diff_ids[position] if position < len(config.diff_ids) else "",
                member=name,
            )
        )
    tags = tuple(
        str(annotations[key]) for key in _REF_ANNOTATIONS if isinstance(annotations.get(key), str)
    )
    return ArchiveImage(
        spec=spec,
        kind="oci" if is_directory else "oci-archive",
        config=config,
        layers=tuple(layers),
        manifest_digest=str(descriptor.get("digest") or ""),
        repo_tags=tags,
        _opener=store.open,
    )
