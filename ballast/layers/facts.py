"""What one layer is, as far as the image view needs: :class:`LayerFacts`.

Owns the per-layer result of reading a blob and its compact, versioned JSON
form. Facts are keyed by layer digest and never change, so they are cached and
an image view is recombined from them without reading any blob again. They
hold what stacking needs (path, size, kind of every entry, in tar order), the
parsed package databases, the confirmed secret hits and the node projects'
dev-only dependencies; never file contents. Paths are stored front-coded
(shared prefix length + suffix), which with tar order keeps a 50k-file layer to
a few hundred KB of JSON before compression. Imports the entry, package and
secret models only.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, cast

from ballast._errors import LayerError
from ballast.layers.entry import Entry, Kind
from ballast.layers.package import Manager, PackageDb, PackageInfo
from ballast.layers.secret import SecretHit

FACTS_VERSION: Final = 1
"""Bump when the meaning of stored facts changes; older cached facts are then re-read."""


@dataclass(frozen=True, slots=True)
class NodeProject:
    """An application ``package.json`` (outside ``node_modules``) and its dev-only dependencies."""

    directory: str
    """Directory holding ``package.json`` (``app``; ``""`` for the root)."""
    dev_only: tuple[str, ...]
    """Names in ``devDependencies`` that are not also in ``dependencies``."""


@dataclass(frozen=True, slots=True)
class LayerFacts:
    """Everything ballast keeps about one layer blob."""

    digest: str
    """Digest of the blob as read (``sha256:...``): the cache key."""
    diff_id: str
    """Digest of the uncompressed tar stream when computed (or equal to the digest), else ``""``."""
    media_type: str
    """Media type the descriptor gave (informational; compression comes from magic bytes)."""
    compression: str
    """``gzip``, ``zstd`` or ``none``."""
    compressed_bytes: int
    """Bytes of the blob (what is pulled)."""
    stream_bytes: int
    """Bytes of the uncompressed tar stream, headers and padding included."""
    size_bytes: int
    """Sum of tar header sizes of every entry: dive's layer size, the unpacked bytes."""
    paths: tuple[str, ...]
    """Clean path of every kept entry, in tar order (whiteouts: the deleted path)."""
    sizes: tuple[int, ...]
    """Tar header size of every kept entry, parallel to ``paths``."""
    kinds: str
    """One :class:`Kind` character per kept entry, parallel to ``paths``."""
    hardlinks: tuple[tuple[str, str], ...] = ()
    """(link path, target path) for every hard link."""
    package_dbs: tuple[PackageDb, ...] = ()
    """Package databases this layer wrote, parsed."""
    secrets: tuple[SecretHit, ...] = ()
    """Confirmed secret files this layer shipped."""
    node_projects: tuple[NodeProject, ...] = ()
    """Application package.json files this layer shipped."""

    def entries(self) -> Iterator[Entry]:
        """Iterate the kept entries as :class:`Entry` objects (convenient, not fast)."""
        for path, size, kind in zip(self.paths, self.sizes, self.kinds, strict=True):
            yield Entry(path=path, size=size, kind=Kind(kind))

    @property
    def entry_count(self) -> int:
        """Number of kept entries."""
        return len(self.paths)


def _shared_prefix(a: str, b: str) -> int:
    """Length of the common prefix of two strings, in a few C-level calls."""
    # Most tar neighbours share their directory: try that first.
    cut = a.rfind("/") + 1
    low = cut if cut and b.startswith(a[:cut]) else 0
    high = min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if b.startswith(a[low:middle], low):
            low = middle
        else:
            high = middle - 1
    return low


def facts_to_json(facts: LayerFacts) -> dict[str, Any]:
    """Compact JSON-ready form of :class:`LayerFacts` (see :func:`facts_from_json`)."""
    prefixes: list[int] = []
    suffixes: list[str] = []
    previous = ""
    for path in facts.paths:
        shared = _shared_prefix(previous, path)
        prefixes.append(shared)
        suffixes.append(path[shared:])
        previous = path
    return {
        "v": FACTS_VERSION,
        "digest": facts.digest,
        "diffId": facts.diff_id,
        "mediaType": facts.media_type,
        "compression": facts.compression,
        "compressedBytes": facts.compressed_bytes,
        "streamBytes": facts.stream_bytes,
        "sizeBytes": facts.size_bytes,
        "entries": {
            "prefix": prefixes,
            "suffix": suffixes,
            "kinds": facts.kinds,
            "sizes": list(facts.sizes),
        },
        "hardlinks": [list(pair) for pair in facts.hardlinks],
        "packageDbs": [
            {
                "path": db.path,
                "manager": db.manager,
                "complete": db.complete,
                "packages": [[p.name, p.version, p.installed_bytes] for p in db.packages],
            }
            for db in facts.package_dbs
        ],
        "secrets": [[hit.path, hit.kind, hit.size] for hit in facts.secrets],
        "nodeProjects": [[p.directory, list(p.dev_only)] for p in facts.node_projects],
    }


def facts_from_json(data: dict[str, Any]) -> LayerFacts:
    """Rebuild :class:`LayerFacts` from :func:`facts_to_json` output.

    Raises :class:`LayerError` for another version or a damaged document, so a
    cache can treat it as a miss and read the layer again.
    """
    digest = str(data.get("digest", "")) if isinstance(data, dict) else ""
    try:
        if data["v"] != FACTS_VERSION:
            raise ValueError(f"facts version {data['v']} is not {FACTS_VERSION}")
        entries = data["entries"]
        kinds = str(entries["kinds"])
        sizes = tuple(int(s) for s in entries["sizes"])
        paths: list[str] = []
        previous = ""
        for shared, suffix in zip(entries["prefix"], entries["suffix"], strict=True):
            previous = previous[: int(shared)] + str(suffix)
            paths.append(previous)
        if not len(paths) == len(sizes) == len(kinds):
            raise ValueError("entry columns differ in length")
        if set(kinds) - set(Kind):
            raise ValueError("unknown entry kind")
        return LayerFacts(
            digest=digest,
            diff_id=str(data["diffId"]),
            media_type=str(data["mediaType"]),
            compression=str(data["compression"]),
            compressed_bytes=int(data["compressedBytes"]),
            stream_bytes=int(data["streamBytes"]),
            size_bytes=int(data["sizeBytes"]),
            paths=tuple(paths),
            sizes=sizes,
            kinds=kinds,
            hardlinks=tuple((str(a), str(b)) for a, b in data["hardlinks"]),
            package_dbs=tuple(
                PackageDb(
                    path=str(db["path"]),
                    manager=cast(Manager, db["manager"]),
                    complete=bool(db["complete"]),
                    packages=tuple(
                        PackageInfo(
                            name=str(name),
                            version=str(version),
                            installed_bytes=int(size),
                            manager=cast(Manager, db["manager"]),
                        )
                        for name, version, size in db["packages"]
                    ),
                )
                for db in data["packageDbs"]
            ),
            secrets=tuple(
                SecretHit(path=str(p), kind=str(k), size=int(s)) for p, k, s in data["secrets"]
            ),
            node_projects=tuple(
                NodeProject(directory=str(d), dev_only=tuple(str(n) for n in names))
                for d, names in data["nodeProjects"]
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LayerError(
            f"stored facts for layer {digest or '(unnamed)'} are unreadable ({exc}); "
            "drop them and read the layer again",
            layer_digest=digest,
        ) from exc


def dump_facts(facts: LayerFacts) -> bytes:
    """Serialise facts for a byte store: compact JSON, zlib-compressed."""
    text = json.dumps(facts_to_json(facts), separators=(",", ":"), ensure_ascii=False)
    return zlib.compress(text.encode("utf-8", "surrogatepass"), 6)


def load_facts(blob: bytes) -> LayerFacts:
    """Inverse of :func:`dump_facts`; raises :class:`LayerError` on damage."""
    try:
        document = json.loads(zlib.decompress(blob).decode("utf-8", "surrogatepass"))
    except (zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise LayerError(
            f"stored layer facts are unreadable ({exc}); read the layer again"
        ) from exc
    if not isinstance(document, dict):
        raise LayerError("stored layer facts are not a JSON object; read the layer again")
    return facts_from_json(document)
