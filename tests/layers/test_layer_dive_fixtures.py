"""dive's own test images give dive's own numbers, to the last digit."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ballast import LayerError
from ballast.layers import analyze_archive, open_archive, report_to_json

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "dive"

# file, efficiency, wastedBytes, userWastedPercent, sizeBytes (dive 0.13.1)
DIVE_NUMBERS = [
    ("test-docker-image.tar", 0.9844212134184309, 32025, 0.4834911001404049, 1220598),
    ("test-kaniko-image.tar", 0.9793688490216431, 46245, 0.4884502043790995, 1326410),
    ("test-oci-gzip-image.tar", 1.0, 0, math.nan, 11189),
    ("test-oci-zstd-image.tar", 1.0, 0, math.nan, 11189),
    ("test-oci-uncompressed-image.tar", 1.0, 0, math.nan, 11189),
    ("test-oci-estargz-image.tar", 1.0, 0, math.nan, 11189),
]

pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason="dive fixtures not present")


@pytest.mark.parametrize(("name", "efficiency", "wasted", "user_percent", "size"), DIVE_NUMBERS)
def test_dive_numbers_are_exact(
    name: str, efficiency: float, wasted: int, user_percent: float, size: int
) -> None:
    report = analyze_archive(f"docker-archive:{FIXTURES / name}")
    assert report.efficiency == efficiency
    assert report.wasted_bytes == wasted
    assert report.uncompressed_bytes == size
    if math.isnan(user_percent):
        assert math.isnan(report.user_wasted_percent)
        assert report_to_json(report)["userWastedPercent"] is None
    else:
        assert report.user_wasted_percent == user_percent


def test_docker_fixture_layer_sizes_and_inefficient_files() -> None:
    report = analyze_archive(f"docker-archive:{FIXTURES / 'test-docker-image.tar'}")
    assert [layer.uncompressed_bytes for layer in report.layers] == [
        1154361, 6405, 0, 6405, 6405, 6405, 6405, 6405, 6405, 0, 2187, 6405, 6405, 6405,
    ]  # fmt: skip
    assert report.user_size_bytes == 66237
    assert {(w.path, w.count, w.bytes) for w in report.inefficient_files} == {
        ("/root/saved.txt", 2, 12810),
        ("/root/example/somefile1.txt", 2, 12810),
        ("/root/example/somefile3.txt", 2, 6405),
    }


def test_docker_fixture_history_maps_onto_layers() -> None:
    report = analyze_archive(f"docker-archive:{FIXTURES / 'test-docker-image.tar'}")
    assert report.layers[0].created_by is not None
    assert "ADD file:ce026b" in report.layers[0].created_by
    assert report.layers[9].created_by == "/bin/sh -c rm -rf /root/example/"
    assert report.layers[13].created_by == "/bin/sh -c chmod +x /root/saved.txt"


def test_rm_rf_in_a_later_layer_is_hidden_bytes_with_both_layers_named() -> None:
    report = analyze_archive(f"docker-archive:{FIXTURES / 'test-docker-image.tar'}")
    deleted = {(h.path, h.shipped_by_layer, h.removed_by_layer, h.reason) for h in report.hidden}
    assert ("/root/example", 4, 9, "deleted") in deleted
    assert ("/root/example", 5, 9, "deleted") in deleted
    assert report.hidden_bytes == report.uncompressed_bytes - report.visible_bytes
    assert report.hidden_bytes == sum(h.bytes for h in report.hidden)


@pytest.mark.parametrize("compression", ["gzip", "zstd", "uncompressed", "estargz"])
def test_oci_fixtures_open_as_oci_archive_with_the_arm64_platform(compression: str) -> None:
    spec = f"oci-archive:{FIXTURES / f'test-oci-{compression}-image.tar'}"
    image = open_archive(spec)
    assert image.kind == "oci-archive"
    assert str(image.config.platform) == "linux/arm64"
    assert len(image.layers) == 1
    report = analyze_archive(spec)
    assert report.uncompressed_bytes == 11189
    assert report.largest_files[0].path == "/README.md"
    assert report.layers[0].compression == {"uncompressed": "none", "estargz": "gzip"}.get(
        compression, compression
    )


def test_estargz_toc_after_the_end_of_archive_is_not_a_file() -> None:
    report = analyze_archive(f"oci-archive:{FIXTURES / 'test-oci-estargz-image.tar'}")
    assert report.file_count == 1


def test_a_plain_rootfs_tar_is_refused_with_what_was_expected() -> None:
    with pytest.raises(LayerError) as caught:
        open_archive(f"docker-archive:{FIXTURES / 'test-estargz-image.tar'}")
    message = str(caught.value)
    assert "not an image archive" in message
    assert "manifest.json" in message and "index.json" in message
    assert "README.md" in message
