"""`ballast inspect` as a user runs it: output, --json shape, exit codes per error class."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ballast.cli import cli
from tests.support.images import push_image, push_index
from tests.support.registry import LocalRegistry

HISTORY = [
    {"created_by": "ADD rootfs.tar.gz / # buildkit"},
    {"created_by": "ENV LANG=C.UTF-8", "empty_layer": True},
    {"created_by": "RUN apt-get update && apt-get install -y build-essential # buildkit"},
]


def run(reg: LocalRegistry, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {
        "BALLAST_INSECURE_REGISTRIES": reg.host,
        "BALLAST_CACHE_PATH": str(tmp_path / "cli.db"),
        "HOME": str(tmp_path),
    }
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_json_document_has_the_documented_fields(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    pushed = push_image(
        registry, unique_repo, "1.0", layer_sizes=[2_000_000, 30_000], history=HISTORY
    )
    code, out, err = run(registry, tmp_path, "inspect", "--json", pushed.tag_ref)
    assert code == 0, err
    document = json.loads(out)
    assert document["reference"] == pushed.tag_ref
    assert document["digest"] == pushed.digest
    assert document["platform"] == "linux/amd64"
    assert document["compressedSize"] == pushed.compressed_size
    assert [(x["digest"], x["size"]) for x in document["layers"]] == list(
        zip(pushed.layer_digests, pushed.layer_sizes, strict=True)
    )
    assert document["layers"][1]["createdBy"].startswith("RUN apt-get update")
    assert document["layers"][0]["mediaType"].startswith("application/vnd.oci.image.layer")
    assert [h["createdBy"] for h in document["history"]] == [h["created_by"] for h in HISTORY]


def test_several_images_give_a_json_list_and_all_platforms_each_an_entry(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    amd = push_image(registry, unique_repo, None, layer_sizes=[1000])
    arm = push_image(
        registry, unique_repo, None, layer_sizes=[2000], platform=("linux", "arm64", None)
    )
    index = push_index(registry, unique_repo, "multi", [amd, arm])
    code, out, _ = run(registry, tmp_path, "inspect", "--json", "--platform", "all", index.tag_ref)
    assert code == 0
    documents = json.loads(out)
    assert [d["platform"] for d in documents] == ["linux/amd64", "linux/arm64"]
    assert {d["indexDigest"] for d in documents} == {index.digest}


def test_human_output_shows_summary_and_layers_biggest_first(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    pushed = push_image(
        registry, unique_repo, "1.0", layer_sizes=[20_000, 3_500_000], history=HISTORY
    )
    code, out, _ = run(registry, tmp_path, "inspect", "--sort", "size", pushed.tag_ref)
    assert code == 0
    assert pushed.digest in out
    assert "3.5 MB compressed (pulled), 2 layers" in out
    layer_lines = [line for line in out.splitlines() if "MB" in line or "kB" in line][1:]
    assert "apt-get install" in layer_lines[0] and "3.5 MB" in layer_lines[0]


@pytest.mark.parametrize(
    ("image", "code", "phrase"),
    [
        ("Registry.example.com/UPPER/case:1", 3, "uppercase"),
        ("ubuntu:bad tag", 3, "tag"),
        ("alpine@sha512:" + "a" * 128, 3, "unsupported digest algorithm"),
    ],
)
def test_invalid_reference_exits_3_before_any_request(
    registry: LocalRegistry, tmp_path: Path, image: str, code: int, phrase: str
) -> None:
    exit_code, out, err = run(registry, tmp_path, "inspect", image)
    assert exit_code == code and out == ""
    assert phrase in err.lower()
    assert registry.requests == []


def test_not_found_exits_4(registry: LocalRegistry, unique_repo: str, tmp_path: Path) -> None:
    code, _, err = run(registry, tmp_path, "inspect", registry.ref(unique_repo, "missing"))
    assert code == 4 and "not found" in err


def test_unauthorized_exits_5(
    basic_registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    pushed = push_image(basic_registry, unique_repo, "1", layer_sizes=[100])
    code, _, err = run(basic_registry, tmp_path, "inspect", pushed.tag_ref)
    assert code == 5 and "imagePullSecret" in err


def test_unreachable_registry_exits_6(
    refused_address: str, registry: LocalRegistry, tmp_path: Path
) -> None:
    env = {
        "BALLAST_INSECURE_REGISTRIES": refused_address,
        "BALLAST_CACHE_PATH": str(tmp_path / "c.db"),
        "BALLAST_REGISTRY__RETRIES": "0",
    }
    result = CliRunner().invoke(cli, ["inspect", f"{refused_address}/a/b:1"], env=env)
    assert result.exit_code == 6 and "registry" in result.stderr


def test_private_address_is_refused_unless_configured_insecure(tmp_path: Path) -> None:
    env = {"BALLAST_CACHE_PATH": str(tmp_path / "c.db"), "BALLAST_INSECURE_REGISTRIES": ""}
    result = CliRunner().invoke(cli, ["inspect", "169.254.169.254/latest/meta-data:1"], env=env)
    assert result.exit_code == 6
    assert "BALLAST_INSECURE_REGISTRIES" in result.stderr


def test_one_failing_image_does_not_hide_the_others(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    pushed = push_image(registry, unique_repo, "ok", layer_sizes=[100])
    code, out, err = run(
        registry,
        tmp_path,
        "inspect",
        "--json",
        pushed.tag_ref,
        registry.ref(unique_repo, "missing"),
    )
    assert code == 4
    assert [d["digest"] for d in json.loads(out)] == [pushed.digest]
    assert "not found" in err


def test_bad_settings_are_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    env = {"BALLAST_CACHE_PATH": str(tmp_path / "c.db"), "BALLAST_REGISTRY__RETRIES": "many"}
    result = CliRunner().invoke(cli, ["inspect", "alpine"], env=env)
    assert result.exit_code == 8
    assert "registry.retries must be a number" in result.stderr


def test_two_processes_share_one_cache_file(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    images = [push_image(registry, unique_repo, f"v{i}", layer_sizes=[100]) for i in range(6)]
    env = {
        "BALLAST_INSECURE_REGISTRIES": registry.host,
        "BALLAST_CACHE_PATH": str(tmp_path / "shared.db"),
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    command = [sys.executable, "-m", "ballast", "inspect", "--json"]
    procs = [
        subprocess.Popen(
            [*command, *(i.tag_ref for i in images)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        assert [d["digest"] for d in json.loads(out)] == [i.digest for i in images]
    registry.reset_counts()
    again = subprocess.run([*command, images[0].tag_ref], env=env, capture_output=True, check=True)
    assert json.loads(again.stdout)["digest"] == images[0].digest
    assert registry.requests == []
