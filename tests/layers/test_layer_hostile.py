"""Hostile layers end with a clear LayerError, in bounded time and memory."""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib

import pytest
import zstandard

from ballast import LayerError
from ballast.layers import LayerLimits, read_layer
from ballast.layers.entry import clean_path
from tests.layers.layerkit import compress, file, hardlink, tar_bytes


def raw_tar(name: str, *, link: str = "", kind: bytes = tarfile.REGTYPE, size: int = 0) -> bytes:
    """A tar with one header written by hand (tarfile would refuse some of these names)."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = size
    return (
        info.tobuf(format=tarfile.USTAR_FORMAT) + b"\0" * ((size + 511) // 512 * 512) + bytes(1024)
    )


@pytest.mark.parametrize("name", ["../etc/passwd", "a/../../etc/passwd", "./../x", ".."])
def test_names_that_climb_out_of_the_root_are_refused(name: str) -> None:
    with pytest.raises(LayerError, match="climbs above the image root"):
        read_layer(io.BytesIO(raw_tar(name)))


def test_names_that_stay_inside_are_normalised() -> None:
    facts = read_layer(io.BytesIO(raw_tar("/a/b/../c")))
    assert facts.paths == ("a/c",)
    assert clean_path("a/./b//c/") == "a/b/c"


def test_hard_links_pointing_outside_are_refused() -> None:
    with pytest.raises(LayerError, match="climbs above the image root"):
        read_layer(io.BytesIO(raw_tar("etc/shadow", link="../../etc/shadow", kind=tarfile.LNKTYPE)))


def test_symlinks_pointing_outside_are_recorded_never_followed() -> None:
    facts = read_layer(io.BytesIO(raw_tar("etc/x", link="../../../../root", kind=tarfile.SYMTYPE)))
    assert facts.kinds == "l"


def test_absurd_entry_counts_stop_at_the_cap() -> None:
    layer = tar_bytes([file(f"f{i}", 0) for i in range(50)])
    with pytest.raises(LayerError, match="more than 20 tar entries"):
        read_layer(io.BytesIO(layer), limits=LayerLimits(max_entries=20))


def test_a_gzip_bomb_stops_at_the_ratio_cap() -> None:
    bomb = gzip.compress(tar_bytes([file("zeros", b"\0" * (64 * 1024 * 1024))]), compresslevel=9)
    limits = LayerLimits(max_ratio=100, ratio_grace_bytes=4 * 1024 * 1024)
    with pytest.raises(LayerError, match="decompression bomb"):
        read_layer(io.BytesIO(bomb), limits=limits)


def test_a_zstd_bomb_stops_at_the_size_cap() -> None:
    compressor = zstandard.ZstdCompressor(level=3)
    bomb = compressor.compress(tar_bytes([file("zeros", b"\0" * (32 * 1024 * 1024))]))
    with pytest.raises(LayerError, match="more than 8388608 bytes"):
        read_layer(io.BytesIO(bomb), limits=LayerLimits(max_uncompressed_bytes=8 * 1024 * 1024))


@pytest.mark.parametrize("how", ["gzip", "zstd"])
@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_truncated_compressed_streams_are_refused(how: str, keep: float) -> None:
    blob = compress(tar_bytes([file("a", bytes(range(256)) * 400), file("b", 9000)]), how)
    with pytest.raises(LayerError, match="truncated"):
        read_layer(io.BytesIO(blob[: int(len(blob) * keep)]))


def test_a_tar_cut_inside_an_entry_is_refused() -> None:
    layer = tar_bytes([file("a", 10_000)])
    with pytest.raises(LayerError, match="truncated"):
        read_layer(io.BytesIO(layer[:4096]))


def test_garbage_is_not_a_tar() -> None:
    with pytest.raises(LayerError, match="not a valid tar stream"):
        read_layer(io.BytesIO(b'{"this": "is json"}' + bytes(600)))


def test_garbage_after_a_gzip_stream_is_refused() -> None:
    blob = compress(tar_bytes([file("a", 10)]), "gzip") + b"not gzip at all"
    with pytest.raises(LayerError, match="not gzip"):
        read_layer(io.BytesIO(blob))


def test_corrupt_deflate_data_is_refused() -> None:
    blob = bytearray(compress(tar_bytes([file("a", bytes(range(256)) * 64)]), "gzip"))
    blob[30:40] = b"\xff" * 10
    with pytest.raises(LayerError):
        read_layer(io.BytesIO(bytes(blob)))


def test_a_huge_pax_header_is_refused() -> None:
    info = tarfile.TarInfo("x")
    info.pax_headers = {"comment": "y" * 200_000}
    layer = info.tobuf(format=tarfile.PAX_FORMAT) + bytes(1024)
    with pytest.raises(LayerError, match="PAX header"):
        read_layer(io.BytesIO(layer), limits=LayerLimits(max_pax_bytes=64 * 1024))


def test_a_bad_header_checksum_on_the_first_header_is_refused() -> None:
    layer = bytearray(tar_bytes([file("a", 1)], fmt=tarfile.USTAR_FORMAT))
    layer[0] = ord("b")
    with pytest.raises(LayerError, match="checksum"):
        read_layer(io.BytesIO(bytes(layer)))


def test_a_reader_failure_becomes_a_layer_error() -> None:
    class Broken:
        def read(self, size: int, /) -> bytes:
            raise OSError("connection reset")

    with pytest.raises(LayerError, match="connection reset"):
        read_layer(Broken())


def test_a_raw_deflate_stream_is_not_mistaken_for_gzip() -> None:
    with pytest.raises(LayerError):
        read_layer(io.BytesIO(zlib.compress(tar_bytes([file("a", 1)]))))


def test_hardlink_inside_is_kept() -> None:
    facts = read_layer(io.BytesIO(tar_bytes([file("a", 1), hardlink("b", "a")])))
    assert facts.hardlinks == (("b", "a"),)


def test_absurdly_deep_names_are_refused() -> None:
    deep = "/".join(["d"] * 300) + "/f"
    with pytest.raises(LayerError, match="directories deep"):
        read_layer(io.BytesIO(tar_bytes([file(deep, 1)])))


def test_many_unlisted_parent_directories_are_capped() -> None:
    entries = [file("/".join(f"n{i}x{j}" for j in range(20)) + "/f", 0) for i in range(200)]
    with pytest.raises(LayerError, match="unlisted parent directories"):
        read_layer(io.BytesIO(tar_bytes(entries)), limits=LayerLimits(max_implied_dir_bytes=50_000))


def test_the_total_size_of_names_is_capped() -> None:
    entries = [file(f"{'n' * 200}{i}", 0) for i in range(100)]
    with pytest.raises(LayerError, match="bytes of entry names"):
        read_layer(io.BytesIO(tar_bytes(entries)), limits=LayerLimits(max_path_bytes=10_000))
