"""Fuzz: damaged layers and archives end in a LayerError, never a crash or a hang.

Hypothesis mutates real inputs (dive's test archive and a gzipped layer
built here): flipped bytes, truncation, inserted garbage. Every example must
either read cleanly or raise LayerError; the counts are printed.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ballast import LayerError
from ballast.layers import ChunkSource, analyze_archive, read_layer
from tests.support.images import make_tar_layer

DIVE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "dive"
LAYER = make_tar_layer(
    {
        "etc/os-release": b"ID=debian\n",
        "usr/bin/gcc": os.urandom(5000),
        "var/lib/apt/lists/.wh..wh..opq": b"",
        "app/.env": b"SECRET=1\n",
    }
)
ARCHIVE = (DIVE / "test-docker-image.tar").read_bytes()

mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**9), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 10**9), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10**9), st.integers(0, 255)),
)


def mutate(data: bytes, steps: list[tuple[str, int, int]]) -> bytes:
    buffer = bytearray(data)
    for kind, position, value in steps:
        if not buffer:
            break
        at = position % len(buffer)
        if kind == "flip":
            buffer[at] ^= value
        elif kind == "truncate":
            del buffer[at:]
        else:
            buffer[at:at] = bytes([value]) * 16
    return bytes(buffer)


COUNTS = {"layers": 0, "layer_errors": 0, "archives": 0, "archive_errors": 0}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=4))
def test_damaged_layers_read_cleanly_or_raise_layer_error(
    steps: list[tuple[str, int, int]],
) -> None:
    blob = mutate(LAYER, steps)
    COUNTS["layers"] += 1
    try:
        read_layer(ChunkSource(iter([blob[i : i + 4096] for i in range(0, len(blob), 4096)])))
    except LayerError:
        COUNTS["layer_errors"] += 1


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(mutation, min_size=1, max_size=3))
def test_damaged_archives_open_cleanly_or_raise_layer_error(
    steps: list[tuple[str, int, int]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "image.tar"
    path.write_bytes(mutate(ARCHIVE, steps))
    COUNTS["archives"] += 1
    try:
        analyze_archive(f"docker-archive:{path}")
    except LayerError:
        COUNTS["archive_errors"] += 1


def test_fuzz_counts_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs after the two fuzzers in this file (pytest keeps file order)."""
    with capsys.disabled():
        print(
            f"\nfuzz: {COUNTS['layers']} damaged layers ({COUNTS['layer_errors']} LayerError), "
            f"{COUNTS['archives']} damaged archives ({COUNTS['archive_errors']} LayerError), "
            "no other exception"
        )
    assert COUNTS["layers"] >= 300 and COUNTS["archives"] >= 120


def test_plain_garbage_is_not_an_image() -> None:
    with pytest.raises(LayerError):
        read_layer(io.BytesIO(os.urandom(10_000)))
