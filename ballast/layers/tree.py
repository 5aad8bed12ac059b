"""The image's final filesystem, built the way a container runtime builds it.

Owns :class:`Overlay`: layers are applied in manifest order with the OCI
changeset rules (image-spec layer.md, "Applying Changesets"): whiteouts and
opaque markers delete only what *lower* layers put there, then the layer's
entries are added in tar order; a directory replaced by a non-directory loses
its subtree; a missing parent is implied as a directory. Every byte that stops
being visible is reported with the layer that shipped it, the layer that hid
it, the path that was deleted/overwritten and why, so that ``hiddenBytes`` can
say "layer 3 shipped /var/lib/apt/lists, layer 5 deleted it". Each node is
deleted at most once, so applying all layers is linear in their entries.

Nodes are packed into one int (size << 16 | layer << 3 | kind) to keep 100k+
files in a few MB. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from ballast.layers.entry import Kind
from ballast.layers.facts import LayerFacts

K_FILE: Final = 0
K_DIR: Final = 1
K_SYMLINK: Final = 2
K_HARDLINK: Final = 3
K_OTHER: Final = 4
K_IMPLIED: Final = 5
"""A directory that no entry declared, implied by a deeper entry."""

_KIND_CODE: Final = {
    Kind.FILE.value: K_FILE,
    Kind.DIR.value: K_DIR,
    Kind.SYMLINK.value: K_SYMLINK,
    Kind.HARDLINK.value: K_HARDLINK,
    Kind.OTHER.value: K_OTHER,
}
_LAYER_SHIFT: Final = 3
_SIZE_SHIFT: Final = 16
MAX_LAYERS: Final = 1 << (_SIZE_SHIFT - _LAYER_SHIFT)
"""Layers an overlay can hold (8192; registries refuse far fewer)."""

DELETED: Final = "deleted"
"""Removed by a ``.wh.NAME`` whiteout."""
OPAQUE: Final = "opaque"
"""Hidden by an opaque directory marker."""
OVERWRITTEN: Final = "overwritten"
"""Replaced by a later entry at the same path (or its directory replaced by a file)."""

Removed = tuple[str, int, int, str, str]
"""(path, bytes, layer that shipped it, path the operation named, reason)."""


def unpack(node: int) -> tuple[int, int, int]:
    """(size, layer, kind code) of a packed node."""
    return node >> _SIZE_SHIFT, (node >> _LAYER_SHIFT) & (MAX_LAYERS - 1), node & 7


@dataclass(slots=True)
class LayerDelta:
    """What applying one layer did to the filesystem below it."""

    added_bytes: int = 0
    """Bytes of entries at paths that did not exist below."""
    modified_bytes: int = 0
    """Bytes of entries that replaced a path that existed below (new version's size)."""
    removed_bytes: int = 0
    """Bytes of lower content deleted by whiteouts and opaque markers."""
    removed: list[Removed] = field(default_factory=list)
    """Every file with bytes that stopped being visible (deleted or overwritten)."""


class Overlay:
    """The filesystem of the layers applied so far."""

    __slots__ = ("kids", "nodes")

    def __init__(self) -> None:
        self.nodes: dict[str, int] = {}
        """Visible path → packed node."""
        self.kids: dict[str, set[str]] = {}
        """Directory path (``""`` is the root) → its visible children."""

    def files(self) -> Iterator[tuple[str, int, int, int]]:
        """(path, size, layer, kind code) of every visible node."""
        for path, node in self.nodes.items():
            yield path, node >> _SIZE_SHIFT, (node >> _LAYER_SHIFT) & (MAX_LAYERS - 1), node & 7

    def _drop(self, root: str, reason: str, delta: LayerDelta, *, keep_root: bool) -> int:
        """Delete ``root``'s subtree (or only its children); return the bytes removed."""
        nodes = self.nodes
        kids = self.kids
        removed = delta.removed
        total = 0
        if keep_root:
            todo = list(kids.pop(root, ()))
        else:
            kids[root.rpartition("/")[0]].discard(root)
            todo = [root]
        while todo:
            path = todo.pop()
            node = nodes.pop(path)
            size = node >> _SIZE_SHIFT
            if size:
                total += size
                removed.append(
                    (path, size, (node >> _LAYER_SHIFT) & (MAX_LAYERS - 1), root, reason)
                )
            children = kids.pop(path, None)
            if children:
                todo.extend(children)
        return total

    def _implied_parent(self, path: str, layer: int, delta: LayerDelta) -> None:
        """Make sure the parent of ``path`` is a visible directory."""
        chain: list[str] = []
        parent = path.rpartition("/")[0]
        nodes = self.nodes
        while parent:
            node = nodes.get(parent)
            if node is not None:
                if node & 7 in (K_DIR, K_IMPLIED):
                    break
                # A file or link where a directory must be: the deeper entry wins.
                self._drop(parent, OVERWRITTEN, delta, keep_root=False)
            chain.append(parent)
            parent = parent.rpartition("/")[0]
        implied = (layer << _LAYER_SHIFT) | K_IMPLIED
        kids = self.kids
        for directory in reversed(chain):
            nodes[directory] = implied
            up = directory.rpartition("/")[0]
            siblings = kids.get(up)
            if siblings is None:
                kids[up] = {directory}
            else:
                siblings.add(directory)

    def apply(self, layer: int, facts: LayerFacts) -> LayerDelta:
        """Apply one layer on top; return what it added, replaced and hid."""
        if layer >= MAX_LAYERS:
            raise ValueError(f"an overlay holds at most {MAX_LAYERS} layers")
        delta = LayerDelta()
        nodes = self.nodes
        kids = self.kids
        kinds = facts.kinds
        whiteout = Kind.WHITEOUT.value
        opaque = Kind.OPAQUE.value
        # 1. Deletions apply to the layers below only, so they go first.
        if whiteout in kinds or opaque in kinds:
            for path, kind in zip(facts.paths, kinds, strict=True):
                if kind == whiteout:
                    if path in nodes:
                        delta.removed_bytes += self._drop(path, DELETED, delta, keep_root=False)
                elif kind == opaque:
                    node = nodes.get(path) if path else K_DIR
                    if node is not None and node & 7 in (K_DIR, K_IMPLIED) and kids.get(path):
                        delta.removed_bytes += self._drop(path, OPAQUE, delta, keep_root=True)
        # 2. Entries, in tar order (a later duplicate replaces an earlier one).
        layer_bits = layer << _LAYER_SHIFT
        code_of = _KIND_CODE
        added = modified = 0
        for path, size, kind in zip(facts.paths, facts.sizes, kinds, strict=True):
            code = code_of.get(kind)
            if code is None:
                continue  # whiteout or opaque marker, handled above
            new = (size << _SIZE_SHIFT) | layer_bits | code
            old = nodes.get(path)
            if old is None:
                parent = path.rpartition("/")[0]
                if parent:
                    up = nodes.get(parent)
                    if up is None or up & 7 not in (K_DIR, K_IMPLIED):
                        self._implied_parent(path, layer, delta)
                siblings = kids.get(parent)
                if siblings is None:
                    kids[parent] = {path}
                else:
                    siblings.add(path)
                nodes[path] = new
                added += size
                continue
            old_code = old & 7
            old_is_dir = old_code in (K_DIR, K_IMPLIED)
            if old_is_dir and code == K_DIR:
                nodes[path] = new  # a directory re-declared keeps its children
            else:
                if old_is_dir and kids.get(path):
                    self._drop(path, OVERWRITTEN, delta, keep_root=True)
                old_size = old >> _SIZE_SHIFT
                if old_size:
                    delta.removed.append(
                        (
                            path,
                            old_size,
                            (old >> _LAYER_SHIFT) & (MAX_LAYERS - 1),
                            path,
                            OVERWRITTEN,
                        )
                    )
                nodes[path] = new
            if (old >> _LAYER_SHIFT) & (MAX_LAYERS - 1) < layer:
                modified += size
            else:
                added += size
        delta.added_bytes = added
        delta.modified_bytes = modified
        return delta
