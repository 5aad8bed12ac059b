"""Reading one layer blob: every compression, digests, and what is kept per entry."""

from __future__ import annotations

import bz2
import io

import pytest

from ballast import LayerError
from ballast.layers import Kind, LayerLimits, read_layer
from tests.layers.layerkit import (
    APK_INSTALLED,
    DPKG_STATUS,
    compress,
    directory,
    file,
    hardlink,
    opaque,
    sha256,
    symlink,
    tar_bytes,
    whiteout,
)

LAYER = tar_bytes(
    [
        directory("etc"),
        file("etc/hostname", b"box\n"),
        directory("usr/bin"),
        file("usr/bin/tool", 5000, mode=0o755),
        symlink("usr/bin/alias", "tool"),
        hardlink("usr/bin/copy", "usr/bin/tool"),
        whiteout("var/old"),
        opaque("opt/app"),
    ]
)


@pytest.mark.parametrize("how", ["none", "gzip", "zstd", "estargz"])
def test_every_compression_gives_the_same_entries(how: str) -> None:
    blob = compress(LAYER, how)
    facts = read_layer(io.BytesIO(blob), digest=sha256(blob), diff_id=sha256(LAYER))
    assert facts.compression == {"estargz": "gzip"}.get(how, how)
    assert facts.diff_id == sha256(LAYER)
    assert facts.compressed_bytes == len(blob)
    assert facts.stream_bytes == len(LAYER)
    assert [(e.path, e.size, e.kind) for e in facts.entries()] == [
        ("etc", 0, Kind.DIR),
        ("etc/hostname", 4, Kind.FILE),
        ("usr/bin", 0, Kind.DIR),
        ("usr/bin/tool", 5000, Kind.FILE),
        ("usr/bin/alias", 0, Kind.SYMLINK),
        ("usr/bin/copy", 0, Kind.HARDLINK),
        ("var/old", 0, Kind.WHITEOUT),
        ("opt/app", 0, Kind.OPAQUE),
    ]
    assert facts.hardlinks == (("usr/bin/copy", "usr/bin/tool"),)
    assert facts.size_bytes == 5004


def test_the_computed_digest_is_returned_when_none_was_given() -> None:
    blob = compress(LAYER, "gzip")
    assert read_layer(io.BytesIO(blob)).digest == sha256(blob)


def test_a_blob_that_does_not_match_its_digest_is_refused() -> None:
    blob = compress(LAYER, "gzip")
    wrong = "sha256:" + "0" * 64
    with pytest.raises(LayerError, match="does not match its digest") as caught:
        read_layer(io.BytesIO(blob), digest=wrong)
    assert caught.value.layer_digest == wrong


def test_a_layer_that_unpacks_to_another_diff_id_is_refused() -> None:
    blob = compress(LAYER, "zstd")
    with pytest.raises(LayerError, match="not to the diff_id"):
        read_layer(io.BytesIO(blob), diff_id="sha256:" + "1" * 64)


def test_an_uncompressed_layer_is_its_own_diff_id() -> None:
    facts = read_layer(io.BytesIO(LAYER), digest=sha256(LAYER), diff_id=sha256(LAYER))
    assert facts.diff_id == facts.digest == sha256(LAYER)


def test_a_source_longer_than_its_descriptor_is_stopped() -> None:
    blob = compress(LAYER, "gzip")
    with pytest.raises(LayerError, match="longer than the 10 bytes"):
        read_layer(io.BytesIO(blob), expected_size=10)


def test_bzip2_layers_are_refused_by_name() -> None:
    with pytest.raises(LayerError, match="bzip2"):
        read_layer(io.BytesIO(bz2.compress(LAYER)))


def test_an_empty_blob_is_refused() -> None:
    with pytest.raises(LayerError, match="empty"):
        read_layer(io.BytesIO(b""))


def test_long_names_from_gnu_and_pax_headers_are_kept_whole() -> None:
    import tarfile

    deep = "a/" * 80 + "file.txt"
    for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        facts = read_layer(io.BytesIO(tar_bytes([file(deep, 3)], fmt=fmt)))
        assert facts.paths == (deep,)


def test_absolute_and_dot_names_are_normalised() -> None:
    facts = read_layer(
        io.BytesIO(tar_bytes([file("/etc/a", 1), file("./etc/b", 2), file("etc//./c", 3)]))
    )
    assert facts.paths == ("etc/a", "etc/b", "etc/c")


def test_dpkg_and_apk_databases_are_captured_and_parsed() -> None:
    blob = compress(
        tar_bytes(
            [
                file("var/lib/dpkg/status", DPKG_STATUS),
                file("lib/apk/db/installed", APK_INSTALLED),
                file(
                    "var/lib/dpkg/status.d/base",
                    b"Package: base-files\nVersion: 12\nInstalled-Size: 100\n",
                ),
            ]
        ),
        "gzip",
    )
    facts = read_layer(io.BytesIO(blob))
    by_path = {db.path: db for db in facts.package_dbs}
    dpkg = by_path["var/lib/dpkg/status"]
    assert [(p.name, p.installed_bytes) for p in dpkg.packages] == [
        ("libc6", 12000 * 1024),
        ("gcc-12", 69632 * 1024),
        ("libssl-dev", 12288 * 1024),
    ]
    assert dpkg.packages[1].version == "12.2.0-14"
    apk = by_path["lib/apk/db/installed"]
    assert [(p.name, p.version, p.installed_bytes) for p in apk.packages] == [
        ("musl", "1.2.4-r2", 622592),
        ("gcc", "13.2.1_git20231014-r0", 104857600),
    ]
    assert [p.name for p in by_path["var/lib/dpkg/status.d/base"].packages] == ["base-files"]


def test_a_package_database_over_the_cap_keeps_its_whole_stanzas() -> None:
    blob = tar_bytes([file("var/lib/dpkg/status", DPKG_STATUS)])
    facts = read_layer(io.BytesIO(blob), limits=LayerLimits(max_capture_bytes=400))
    (db,) = facts.package_dbs
    assert not db.complete
    assert [p.name for p in db.packages] == ["libc6"]


def test_secret_contents_are_never_kept() -> None:
    key = (
        b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
        b"-----END OPENSSH PRIVATE KEY-----\n"
    )
    facts = read_layer(io.BytesIO(tar_bytes([file("root/.ssh/id_ed25519", key)])))
    assert [(s.path, s.kind, s.size) for s in facts.secrets] == [
        ("root/.ssh/id_ed25519", "private-key", len(key))
    ]
    from ballast.layers import facts_to_json

    assert b"b3BlbnNzaC1rZXkt" not in repr(facts_to_json(facts)).encode()


def test_a_chunk_iterator_reads_like_a_file() -> None:
    from ballast.layers import ChunkSource

    blob = compress(LAYER, "zstd")
    chunks = [blob[i : i + 7] for i in range(0, len(blob), 7)]
    facts = read_layer(ChunkSource(chunks), digest=sha256(blob))
    assert facts.size_bytes == 5004
