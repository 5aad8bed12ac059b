"""Image archives: docker save (legacy, kaniko, blobs), OCI layouts (tar and directory)."""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path

import pytest

from ballast import LayerError
from ballast.layers import analyze_archive, open_archive
from tests.layers.layerkit import (
    PlatformImage,
    directory,
    docker_archive,
    file,
    oci_layout,
    tar_bytes,
    whiteout,
)

BASE = tar_bytes([directory("app"), file("app/a.txt", 1000), file("app/b.txt", 2000)])
MIDDLE = tar_bytes([directory("app"), file("app/a.txt", 1500)])
TOP = tar_bytes([directory("app"), whiteout("app/b.txt"), file("app/c.txt", 300)])
LAYERS = [BASE, MIDDLE, TOP]
HISTORY = ["COPY base /", "RUN grow a", "RUN rm b && add c"]


@pytest.mark.parametrize("style", ["legacy", "kaniko", "blobs"])
def test_docker_archives_of_every_style_give_the_same_report(tmp_path: Path, style: str) -> None:
    path = docker_archive(tmp_path / "image.tar", LAYERS, history=HISTORY, style=style)
    image = open_archive(f"docker-archive:{path}")
    assert image.kind == "docker-archive"
    assert image.history == HISTORY
    assert all(layer.digest for layer in image.layers)
    report = analyze_archive(f"docker-archive:{path}")
    assert [layer.uncompressed_bytes for layer in report.layers] == [3000, 1500, 300]
    assert report.visible_bytes == 1500 + 300
    assert report.hidden_bytes == 1000 + 2000
    assert {(h.path, h.reason) for h in report.hidden} == {
        ("/app/a.txt", "overwritten"),
        ("/app/b.txt", "deleted"),
    }
    assert [layer.created_by for layer in report.layers] == HISTORY


def test_layer_order_comes_from_the_manifest_not_the_archive(tmp_path: Path) -> None:
    forward = analyze_archive(str(docker_archive(tmp_path / "f.tar", LAYERS)))
    backward = analyze_archive(
        str(docker_archive(tmp_path / "b.tar", LAYERS, reverse_members=True))
    )
    assert backward == forward
    assert [layer.uncompressed_bytes for layer in backward.layers] == [3000, 1500, 300]


def test_a_layer_shared_through_a_symlink_is_read_once(tmp_path: Path) -> None:
    layer = tar_bytes([file("x", 10)])
    config = json.dumps(
        {"os": "linux", "architecture": "amd64", "rootfs": {"diff_ids": []}}
    ).encode()
    path = tmp_path / "dedup.tar"
    with tarfile.open(path, "w") as archive:
        for name, data in [("one/layer.tar", layer), ("c.json", config)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, __import__("io").BytesIO(data))
        link = tarfile.TarInfo("two/layer.tar")
        link.type = tarfile.SYMTYPE
        link.linkname = "../one/layer.tar"
        archive.addfile(link)
        manifest = json.dumps(
            [{"Config": "c.json", "Layers": ["one/layer.tar", "two/layer.tar"]}]
        ).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        archive.addfile(info, __import__("io").BytesIO(manifest))
    seen: list[int] = []
    report = analyze_archive(f"docker-archive:{path}", on_layer=lambda i, f: seen.append(i))
    assert seen == [0]
    assert [layer.uncompressed_bytes for layer in report.layers] == [10, 10]
    assert report.wasted_bytes == 20


@pytest.mark.parametrize("as_tar", [True, False])
@pytest.mark.parametrize("how", ["gzip", "zstd", "none", "estargz"])
def test_oci_layouts_as_tar_or_directory(tmp_path: Path, as_tar: bool, how: str) -> None:
    target = tmp_path / ("layout.tar" if as_tar else "layout")
    oci_layout(target, [PlatformImage(LAYERS, compression=how, history=HISTORY)], as_tar=as_tar)
    spec = f"oci-archive:{target}" if as_tar else f"oci:{target}"
    image = open_archive(spec)
    assert image.kind == ("oci-archive" if as_tar else "oci")
    assert image.manifest_digest.startswith("sha256:")
    report = analyze_archive(spec)
    assert report.visible_bytes == 1800
    assert report.layers[0].compression == {"estargz": "gzip"}.get(how, how)


def test_multi_platform_layout_picks_amd64_by_default_and_the_asked_one(tmp_path: Path) -> None:
    amd = PlatformImage([tar_bytes([file("amd", 1)])], architecture="amd64")
    arm = PlatformImage([tar_bytes([file("arm", 2)])], architecture="arm64")
    target = oci_layout(tmp_path / "multi", [arm, amd], as_tar=False, nested_index=True)
    assert analyze_archive(f"oci:{target}").largest_files[0].path == "/amd"
    assert analyze_archive(f"oci:{target}", platform="linux/arm64").largest_files[0].path == "/arm"
    with pytest.raises(
        LayerError, match=r"no image for linux/s390x; it offers linux/amd64, linux/arm64"
    ):
        open_archive(f"oci:{target}", platform="linux/s390x")


def test_a_single_platform_layout_is_used_whatever_its_platform(tmp_path: Path) -> None:
    target = oci_layout(
        tmp_path / "arm", [PlatformImage(LAYERS, architecture="arm64")], as_tar=True
    )
    assert str(open_archive(f"oci-archive:{target}").config.platform) == "linux/arm64"


def test_a_reference_picks_one_image_from_a_layout(tmp_path: Path) -> None:
    target = oci_layout(tmp_path / "ref", [PlatformImage(LAYERS)], as_tar=False, nested_index=True)
    assert open_archive(f"oci:{target}:latest").repo_tags == ("latest",)
    with pytest.raises(LayerError, match="no image named 'nope'"):
        open_archive(f"oci:{target}:nope")


def test_several_images_in_one_docker_archive_need_a_tag(tmp_path: Path) -> None:
    path = docker_archive(tmp_path / "one.tar", LAYERS)
    with tarfile.open(path) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
    manifest.append({**manifest[0], "RepoTags": ["other:1"]})
    double = tmp_path / "two.tar"
    with tarfile.open(path) as source, tarfile.open(double, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                data = json.dumps(manifest).encode()
                member.size = len(data)
            target.addfile(member, __import__("io").BytesIO(data))
    with pytest.raises(LayerError, match="holds 2 images"):
        open_archive(f"docker-archive:{double}")
    assert open_archive(f"docker-archive:{double}:other:1").repo_tags == ("other:1",)


def test_a_compressed_archive_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = docker_archive(tmp_path / "image.tar", LAYERS)
    zipped = tmp_path / "image.tar.gz"
    zipped.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(LayerError, match="decompress it first"):
        open_archive(f"docker-archive:{zipped}")


def test_an_oci_artifact_is_not_an_image(tmp_path: Path) -> None:
    target = oci_layout(tmp_path / "art", [PlatformImage(LAYERS)], as_tar=False)
    index = json.loads((target / "index.json").read_text())
    manifest_path = target / "blobs" / "sha256" / index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads(manifest_path.read_text())
    manifest["config"]["mediaType"] = "application/vnd.cncf.helm.config.v1+json"
    data = json.dumps(manifest).encode()
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    (target / "blobs" / "sha256" / digest).write_bytes(data)
    index["manifests"][0].update(digest=f"sha256:{digest}", size=len(data))
    (target / "index.json").write_text(json.dumps(index))
    with pytest.raises(LayerError, match="OCI artifact"):
        open_archive(f"oci:{target}")


def test_a_digest_that_tries_to_leave_the_layout_is_refused(tmp_path: Path) -> None:
    target = oci_layout(tmp_path / "evil", [PlatformImage(LAYERS)], as_tar=False)
    index = json.loads((target / "index.json").read_text())
    index["manifests"][0]["digest"] = "sha256:../../../../etc/passwd"
    (target / "index.json").write_text(json.dumps(index))
    with pytest.raises(LayerError, match="not a sha256/sha512 digest"):
        open_archive(f"oci:{target}")


def test_a_tampered_manifest_blob_is_refused(tmp_path: Path) -> None:
    target = oci_layout(tmp_path / "tamper", [PlatformImage(LAYERS)], as_tar=False)
    index = json.loads((target / "index.json").read_text())
    blob = target / "blobs" / "sha256" / index["manifests"][0]["digest"].split(":")[1]
    blob.write_bytes(blob.read_bytes().replace(b'"schemaVersion": 2', b'"schemaVersion":  2'))
    with pytest.raises(LayerError, match="corrupt"):
        open_archive(f"oci:{target}")


def test_a_tampered_layer_blob_is_refused(tmp_path: Path) -> None:
    target = oci_layout(
        tmp_path / "layer", [PlatformImage(LAYERS, compression="none")], as_tar=False
    )
    image = open_archive(f"oci:{target}")
    blob = target / image.layers[1].member
    data = bytearray(blob.read_bytes())
    data[600] ^= 1
    blob.write_bytes(bytes(data))
    with pytest.raises(LayerError, match="does not match its digest"):
        analyze_archive(f"oci:{target}")


def test_missing_paths_and_wrong_prefixes_are_explained(tmp_path: Path) -> None:
    with pytest.raises(LayerError, match="no such file"):
        open_archive(f"docker-archive:{tmp_path / 'absent.tar'}")
    with pytest.raises(LayerError, match="use oci:"):
        open_archive(f"oci-archive:{tmp_path}")
    path = docker_archive(tmp_path / "image.tar", LAYERS)
    with pytest.raises(LayerError, match="use oci-archive:"):
        open_archive(f"oci:{path}")


def test_a_docker_archive_holding_an_oci_layout_only_is_read_as_one(tmp_path: Path) -> None:
    target = oci_layout(tmp_path / "layout.tar", [PlatformImage(LAYERS)], as_tar=True)
    assert open_archive(f"docker-archive:{target}").kind == "oci-archive"
