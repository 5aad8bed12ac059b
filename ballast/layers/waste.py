"""dive-compatible efficiency, wasted bytes and inefficient files, in one pass.

Owns :func:`dive_waste`. dive (filetree/efficiency.go) scores the *leaves* of
each layer's own tree: a leaf appends a record to its path, its size, or for a
``.wh.NAME`` whiteout the size of what it removes from the layers below (the
whole subtree if that is a directory in dive's stacked tree, else 0); opaque
markers are dropped. efficiency = Σ smallest record ÷ Σ all records per path;
a path with two or more records is inefficient and all its records count as
wasted. This module reproduces that to the last digit, including dive's
quirks, which are listed where they are emulated:

* dive's stacked tree takes the *last writer's* metadata for every node, and
  a directory that a later layer only implies (as the parent of a new file,
  without its own entry) loses its "is a directory" flag, so deleting it later
  scores 0;
* a whiteout whose target is missing below makes dive abort the rest of that
  layer's visit (children-first, names sorted) and leaves a -1 in the score;
* layer 0 is scored against a copy of itself.

dive re-stacks every earlier layer for each whiteout; here one stacked tree is
kept up to date as layers are applied, and it is only built at all when some
layer has a whiteout (and only up to the last such layer). A whiteout's size
walks exactly the subtree that is removed right after, so the total work is
linear in the number of entries. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ballast.layers.entry import Kind
from ballast.layers.facts import LayerFacts

_WHITEOUT = Kind.WHITEOUT.value
_OPAQUE = Kind.OPAQUE.value
_DIR = Kind.DIR.value
_LAST = "\U0010ffff"
"""Sorts after every name: puts a directory after its children (dive visits children first)."""


@dataclass(frozen=True, slots=True)
class DiveWaste:
    """dive's image-level numbers."""

    efficiency: float
    """Σ smallest record ÷ Σ records over all scored paths; 1.0 when nothing is scored."""
    wasted_bytes: int
    """Σ records of every path scored two or more times (every copy counts)."""
    size_bytes: int
    """Σ layer sizes (tar header sizes)."""
    user_size_bytes: int
    """Σ layer sizes except the first."""
    user_wasted_percent: float
    """wasted ÷ user size, as dive computes it: NaN for 0/0, +inf for x/0, may exceed 1."""
    inefficient: tuple[tuple[str, int, int], ...]
    """(path, records, Σ records) of inefficient paths, biggest first, then by path."""


@dataclass(slots=True)
class _LayerTree:
    """One layer's own tree as dive builds it: nodes, and which of them are leaves."""

    explicit: dict[str, int]
    """Entry path → packed dive FileInfo (size × 2 + is_dir); the last entry wins."""
    parents: set[str]
    """Every path that has a child in this layer (so is not a leaf)."""
    whiteouts: list[str]
    """Whiteout targets, in tar order."""
    opaque: list[str]
    """Directories holding an opaque marker."""


def _layer_tree(facts: LayerFacts) -> _LayerTree:
    explicit: dict[str, int] = {}
    parents: set[str] = set()
    whiteouts: list[str] = []
    opaque: list[str] = []
    add_parent = parents.add
    for path, size, kind in zip(facts.paths, facts.sizes, facts.kinds, strict=True):
        if kind == _WHITEOUT:
            whiteouts.append(path)
        elif kind == _OPAQUE:
            if not path:
                continue
            opaque.append(path)
        else:
            explicit[path] = size * 2 + (kind == _DIR)
        parent = path.rpartition("/")[0]
        while parent and parent not in parents:
            add_parent(parent)
            parent = parent.rpartition("/")[0]
    # A marker repeated in one tar is one node of dive's tree, scored once.
    return _LayerTree(
        explicit=explicit,
        parents=parents,
        whiteouts=list(dict.fromkeys(whiteouts)),
        opaque=list(dict.fromkeys(opaque)),
    )


class _Stack:
    """dive's stacked tree of the layers applied so far: path → size × 2 + is_dir."""

    __slots__ = ("kids", "nodes")

    def __init__(self) -> None:
        self.nodes: dict[str, int] = {}
        self.kids: dict[str, set[str]] = {}

    def add(self, path: str, info: int) -> None:
        nodes = self.nodes
        if path not in nodes:
            parent = path.rpartition("/")[0]
            kids = self.kids.get(parent)
            if kids is None:
                self.kids[parent] = {path}
            else:
                kids.add(path)
        nodes[path] = info

    def remove(self, path: str) -> None:
        nodes = self.nodes
        if path not in nodes:
            return  # dive logs the failed removal and carries on
        self.kids[path.rpartition("/")[0]].discard(path)
        todo = [path]
        kids = self.kids
        while todo:
            current = todo.pop()
            del nodes[current]
            children = kids.pop(current, None)
            if children:
                todo.extend(children)

    def subtree_bytes(self, path: str) -> int:
        nodes = self.nodes
        kids = self.kids
        total = 0
        todo = [path]
        while todo:
            current = todo.pop()
            total += nodes[current] >> 1
            children = kids.get(current)
            if children:
                todo.extend(children)
        return total

    def whiteout_bytes(self, target: str) -> int | None:
        """What deleting ``target`` removes, as dive scores it; None when it is missing."""
        info = self.nodes.get(target)
        if info is None:
            return None
        if not info & 1:
            return 0
        return self.subtree_bytes(target)

    def add_nodes(self, tree: _LayerTree) -> None:
        """Add every node of a layer tree (implied directories carry an empty FileInfo)."""
        add = self.add
        explicit = tree.explicit
        # Parents first so that children always find their parent's kid set.
        for parent in sorted(tree.parents - explicit.keys(), key=len):
            add(parent, 0)
        for path in tree.opaque:
            if path not in explicit and path not in tree.parents:
                add(path, 0)
        for path, info in explicit.items():
            add(path, info)

    def graft(self, tree: _LayerTree) -> None:
        """Apply a layer as dive's ``FileTree.Stack`` does."""
        conflict = any(
            t in tree.explicit or t in tree.parents or t in tree.opaque for t in tree.whiteouts
        )
        if not conflict:
            for target in tree.whiteouts:
                self.remove(target)
            self.add_nodes(tree)
            return
        # A layer that deletes and re-creates the same path: follow dive's exact
        # visiting order (children first, sibling names sorted).
        nodes: list[tuple[list[str], str, int | None]] = []
        for path, explicit_info in tree.explicit.items():
            nodes.append(([*path.split("/"), _LAST], path, explicit_info))
        for path in tree.parents - tree.explicit.keys():
            nodes.append(([*path.split("/"), _LAST], path, 0))
        for path in tree.opaque:
            if path not in tree.explicit and path not in tree.parents:
                nodes.append(([*path.split("/"), _LAST], path, 0))
        for target in dict.fromkeys(tree.whiteouts):
            parent, _, name = target.rpartition("/")
            parts = [*parent.split("/"), f".wh.{name}"] if parent else [f".wh.{name}"]
            nodes.append(([*parts, _LAST], target, None))
        nodes.sort(key=lambda node: node[0])
        for _, path, node_info in nodes:
            if node_info is None:
                self.remove(path)
            else:
                self.add(path, node_info)


def _visit_order(
    leaves: Iterable[tuple[str, int | None, bool]],
) -> list[tuple[str, int | None, bool]]:
    """Leaves in the order dive visits them: children first, sibling names sorted."""

    def key(leaf: tuple[str, int | None, bool]) -> list[str]:
        path, _, is_whiteout = leaf
        if is_whiteout:
            parent, _, name = path.rpartition("/")
            return [*parent.split("/"), f".wh.{name}"] if parent else [f".wh.{name}"]
        return path.split("/")

    return sorted(leaves, key=key)


def dive_waste(layers: Sequence[LayerFacts]) -> DiveWaste:
    """Compute dive's efficiency, wastedBytes, userWastedPercent and inefficient files."""
    # path → size for a path scored once (most paths), or [count, Σ, minimum] after that.
    records: dict[str, int | list[int]] = {}
    last_whiteout_layer = max(
        (index for index, facts in enumerate(layers) if _WHITEOUT in facts.kinds), default=-1
    )
    stack = _Stack()

    def record(path: str, size: int) -> None:
        entry = records.get(path)
        if entry is None:
            records[path] = size
        elif isinstance(entry, int):
            records[path] = [2, entry + size, min(entry, size)]
        else:
            entry[0] += 1
            entry[1] += size
            if entry[2] < 0 or size < entry[2]:
                entry[2] = size

    for index, facts in enumerate(layers):
        tree = _layer_tree(facts)
        parents = tree.parents
        explicit = tree.explicit
        if index == 0 and tree.whiteouts:
            stack.add_nodes(tree)  # dive scores layer 0 against a copy of itself
        whiteout_sizes = [(t, stack.whiteout_bytes(t)) for t in tree.whiteouts]
        if all(size is not None for _, size in whiteout_sizes):
            for path, info in explicit.items():
                if path not in parents:
                    record(path, info >> 1)
            for path in tree.opaque:
                if path not in explicit and path not in parents:
                    record(path, 0)
            for path, size in whiteout_sizes:
                record(path, size or 0)
        else:
            leaves: list[tuple[str, int | None, bool]] = [
                (path, info >> 1, False) for path, info in explicit.items() if path not in parents
            ]
            leaves += [
                (path, 0, False)
                for path in dict.fromkeys(tree.opaque)
                if path not in explicit and path not in parents
            ]
            leaves += [(path, size, True) for path, size in dict.fromkeys(whiteout_sizes)]
            for path, size, _ in _visit_order(leaves):
                if size is None:
                    # dive creates the path's record with a minimum of -1, then stops
                    # visiting this layer (the error aborts the walk).
                    records.setdefault(path, [0, 0, -1])
                    break
                record(path, size)
        if index < last_whiteout_layer:
            stack.graft(tree)
        elif index == last_whiteout_layer:
            stack = _Stack()  # no later whiteout looks at it again

    minimum = 0
    cumulative = 0
    wasted = 0
    inefficient: list[tuple[str, int, int]] = []
    for path, entry in records.items():
        if isinstance(entry, int):
            minimum += entry
            cumulative += entry
            continue
        count, total, smallest = entry
        minimum += smallest
        cumulative += total
        if count >= 2:
            wasted += total
            inefficient.append(("/" + path, count, total))
    inefficient.sort(key=lambda item: (-item[2], item[0]))
    size_bytes = sum(facts.size_bytes for facts in layers)
    user_size = size_bytes - (layers[0].size_bytes if layers else 0)
    return DiveWaste(
        efficiency=1.0 if cumulative == 0 else minimum / cumulative,
        wasted_bytes=wasted,
        size_bytes=size_bytes,
        user_size_bytes=user_size,
        user_wasted_percent=_go_divide(wasted, user_size),
        inefficient=tuple(inefficient),
    )


def _go_divide(numerator: int, denominator: int) -> float:
    """float64 division as Go does it: 0/0 is NaN and x/0 is +Inf."""
    if denominator == 0:
        return math.nan if numerator == 0 else math.inf
    return numerator / denominator
