"""Image facts: what a registry tells us about one image, as frozen dataclasses.

Facts are keyed by manifest digest and never change, so they are cached
forever. Sizes carry their kind in the name: ``compressed_bytes`` is what a
node pulls (from the manifest), uncompressed sizes need the layers
(:mod:`ballast.layers`). ``to_dict``/``from_dict`` give the compact form the
cache stores; :func:`facts_to_json` gives the camelCase document the CLI prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Platform:
    """An os/architecture[/variant] triple, as in an index entry or a config."""

    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os/arch[/variant]``; raises ValueError with the expected form."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform {text!r} must look like os/arch or os/arch/variant")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else "")

    def matches(self, wanted: Platform) -> bool:
        """True when this platform satisfies ``wanted``; an unset variant matches any.

        arm64 images often omit the ``v8`` variant, so ``linux/arm64/v8`` asked
        for matches ``linux/arm64`` offered, as containerd's matcher does.
        """
        if (self.os, self.architecture) != (wanted.os, wanted.architecture):
            return False
        if not wanted.variant or not self.variant:
            return True
        return self.variant == wanted.variant


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One step of the image config's ``history``."""

    created_by: str
    created: str = ""
    comment: str = ""
    empty_layer: bool = False


@dataclass(frozen=True, slots=True)
class LayerInfo:
    """One layer as the manifest describes it, with the instruction that made it."""

    digest: str
    media_type: str
    compressed_bytes: int
    created_by: str | None = None


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """Facts about one platform manifest: sizes, layers, history and config."""

    digest: str
    media_type: str
    platform: Platform
    config_digest: str
    config_bytes: int
    layers: tuple[LayerInfo, ...]
    history: tuple[HistoryEntry, ...] = ()
    created: str = ""
    user: str = ""
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    base_name: str = ""
    base_digest: str = ""
    compressed_bytes: int = field(init=False, compare=False, repr=False)
    """What a node pulls: all layers plus the config blob (the manifest is not counted)."""
    largest_layer: LayerInfo | None = field(init=False, compare=False, repr=False)
    """The biggest layer by compressed size (computed once: policies ask on every admission)."""

    def __post_init__(self) -> None:
        total = self.config_bytes + sum(layer.compressed_bytes for layer in self.layers)
        largest = max(self.layers, key=lambda layer: layer.compressed_bytes, default=None)
        object.__setattr__(self, "compressed_bytes", total)
        object.__setattr__(self, "largest_layer", largest)

    @property
    def layer_count(self) -> int:
        return len(self.layers)

    def to_dict(self) -> dict[str, Any]:
        """Compact, stable form for the cache (short keys, no derived values)."""
        return {
            "d": self.digest,
            "m": self.media_type,
            "p": [self.platform.os, self.platform.architecture, self.platform.variant],
            "cd": self.config_digest,
            "cs": self.config_bytes,
            "l": [[x.digest, x.media_type, x.compressed_bytes, x.created_by] for x in self.layers],
            "h": [[h.created_by, h.created, h.comment, h.empty_layer] for h in self.history],
            "c": self.created,
            "u": self.user,
            "e": list(self.entrypoint) if self.entrypoint is not None else None,
            "cmd": list(self.cmd) if self.cmd is not None else None,
            "lb": dict(self.labels),
            "b": [self.base_name, self.base_digest],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageFacts:
        return cls(
            digest=data["d"],
            media_type=data["m"],
            platform=Platform(*data["p"]),
            config_digest=data["cd"],
            config_bytes=data["cs"],
            layers=tuple(LayerInfo(*row) for row in data["l"]),
            history=tuple(HistoryEntry(*row) for row in data["h"]),
            created=data["c"],
            user=data["u"],
            entrypoint=tuple(data["e"]) if data["e"] is not None else None,
            cmd=tuple(data["cmd"]) if data["cmd"] is not None else None,
            labels=data["lb"],
            base_name=data["b"][0],
            base_digest=data["b"][1],
        )


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One platform manifest listed by a multi-arch index."""

    digest: str
    media_type: str
    size: int
    platform: Platform


@dataclass(frozen=True, slots=True)
class IndexFacts:
    """A multi-arch index (OCI index or Docker manifest list)."""

    digest: str
    media_type: str
    manifests: tuple[IndexEntry, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "d": self.digest,
            "m": self.media_type,
            "i": [
                [
                    e.digest,
                    e.media_type,
                    e.size,
                    e.platform.os,
                    e.platform.architecture,
                    e.platform.variant,
                ]
                for e in self.manifests
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IndexFacts:
        entries = tuple(
            IndexEntry(row[0], row[1], row[2], Platform(row[3], row[4], row[5]))
            for row in data["i"]
        )
        return cls(digest=data["d"], media_type=data["m"], manifests=entries)


@dataclass(frozen=True, slots=True)
class ResolvedImage:
    """A reference resolved to its digest, with facts for each selected platform.

    ``digest`` is what the reference points at (an index or a manifest);
    each of ``platforms`` has its own manifest digest.
    """

    reference: str
    digest: str
    media_type: str
    platforms: tuple[ImageFacts, ...]
    index: IndexFacts | None = None


def facts_to_json(image: ResolvedImage, facts: ImageFacts) -> dict[str, Any]:
    """The camelCase document ``ballast inspect --json`` prints for one platform.

    Every size is in bytes; ``compressedSize`` and each layer's ``size`` are
    compressed (what is pulled), as the manifest states them.
    """
    largest = facts.largest_layer
    return {
        "reference": image.reference,
        "digest": facts.digest,
        "indexDigest": image.digest if image.index is not None else None,
        "mediaType": facts.media_type,
        "platform": str(facts.platform),
        "compressedSize": facts.compressed_bytes,
        "configSize": facts.config_bytes,
        "layerCount": facts.layer_count,
        "largestLayer": (
            {"digest": largest.digest, "size": largest.compressed_bytes} if largest else None
        ),
        "layers": [
            {
                "digest": layer.digest,
                "mediaType": layer.media_type,
                "size": layer.compressed_bytes,
                "createdBy": layer.created_by,
            }
            for layer in facts.layers
        ],
        "history": [
            {
                "createdBy": h.created_by,
                "created": h.created or None,
                "comment": h.comment or None,
                "emptyLayer": h.empty_layer,
            }
            for h in facts.history
        ],
        "created": facts.created or None,
        "user": facts.user,
        "entrypoint": list(facts.entrypoint) if facts.entrypoint is not None else None,
        "cmd": list(facts.cmd) if facts.cmd is not None else None,
        "labels": dict(facts.labels),
        "baseImage": (
            {"name": facts.base_name or None, "digest": facts.base_digest or None}
            if facts.base_name or facts.base_digest
            else None
        ),
        "sizeKind": "compressed",
    }
