"""`ballast inspect --deep`: layer facts through the registry path and from local archives."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from ballast.cli import cli
from tests.support.images import make_tar_layer, push_image
from tests.support.registry import LocalRegistry, skopeo_copy

DIVE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "dive"
APT_LIST = "deb.debian.org_dists_bookworm_main_binary-amd64_Packages"
DPKG_STATUS = b"""Package: gcc-12
Status: install ok installed
Installed-Size: 66000
Version: 12.2.0-14

Package: libc6
Status: install ok installed
Installed-Size: 12000
Version: 2.36-9

"""


def run(reg: LocalRegistry, cache: Path, *args: str) -> tuple[int, str, str]:
    env = {
        "BALLAST_INSECURE_REGISTRIES": reg.host,
        "BALLAST_CACHE_PATH": str(cache),
        "HOME": str(cache.parent),
    }
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def bloated_image(reg: LocalRegistry, repo: str) -> tuple[str, list[bytes]]:
    base = make_tar_layer({"etc/os-release": b"ID=debian\n", "bin/sh": os.urandom(1000)})
    tools = make_tar_layer(
        {
            "usr/bin/gcc-12": os.urandom(300_000),
            "var/lib/dpkg/status": DPKG_STATUS,
            f"var/lib/apt/lists/{APT_LIST}": os.urandom(200_000),
            "var/cache/apt/archives/gcc-12.deb": os.urandom(150_000),
        }
    )
    app = make_tar_layer(
        {"app/.env": b"DATABASE_PASSWORD=hunter2-not-for-print\n", "app/main.py": b"print('hi')\n"}
    )
    cleanup = make_tar_layer({"var/lib/apt/.wh.lists": b""})
    layers = [base, tools, app, cleanup]
    pushed = push_image(
        reg,
        repo,
        "bloated",
        layers=layers,
        history=[
            {"created_by": "ADD rootfs.tar / # buildkit"},
            {"created_by": "RUN /bin/sh -c apt-get update && apt-get install -y gcc # buildkit"},
            {"created_by": "COPY . /app # buildkit"},
            {"created_by": "RUN /bin/sh -c rm -rf /var/lib/apt/lists # buildkit"},
        ],
    )
    return pushed.tag_ref, layers


def test_deep_json_reports_findings_hidden_bytes_and_packages_from_the_registry(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    ref, _ = bloated_image(registry, unique_repo)
    code, out, err = run(registry, tmp_path / "c.db", "inspect", "--deep", "--json", ref)
    assert code == 0, err
    document = json.loads(out)
    categories = {f["category"] for f in document["findings"]}
    assert {"build-tools", "package-cache", "secrets"} <= categories
    for finding in document["findings"]:
        assert set(finding) >= {
            "category",
            "severity",
            "bytes",
            "paths",
            "layer",
            "createdBy",
            "advice",
        }
    secret = next(f for f in document["findings"] if f["category"] == "secrets")
    assert secret["severity"] == "high" and "/app/.env" in secret["paths"]
    assert "hunter2" not in out
    # the apt lists shipped in layer 2 and deleted in layer 4 are hidden, not free
    assert document["hiddenBytes"] >= 200_000
    hidden = document["layerReport"]["hiddenFiles"]
    assert any(
        h["path"].startswith("/var/lib/apt/lists") and h["removedByLayer"] == 3 for h in hidden
    )
    packages = {p["name"]: p["installedSize"] for p in document["layerReport"]["packages"]}
    assert packages["gcc-12"] == 66000 * 1024
    assert document["layers"][1]["uncompressedSize"] > 600_000


def test_layers_are_read_once_and_then_served_from_the_cache(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    ref, _ = bloated_image(registry, unique_repo)
    cache = tmp_path / "c.db"
    code, first, _ = run(registry, cache, "inspect", "--deep", "--json", ref)
    assert code == 0
    assert registry.count("GET", "/blobs/") == 5  # config + 4 layers
    registry.reset_counts()
    code, second, _ = run(registry, cache, "inspect", "--deep", "--json", ref)
    assert code == 0
    assert registry.requests == []
    assert json.loads(second)["layerReport"] == json.loads(first)["layerReport"]


def test_plain_inspect_has_history_findings_without_reading_layers(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    pushed = push_image(
        registry,
        unique_repo,
        "v1",
        layer_sizes=[5000, 900_000],
        history=[
            {"created_by": "ADD rootfs.tar / # buildkit"},
            {
                "created_by": "RUN /bin/sh -c apt-get update && apt-get install -y build-essential "
                "# buildkit"
            },
        ],
    )
    code, out, _ = run(registry, tmp_path / "c.db", "inspect", "--json", pushed.tag_ref)
    assert code == 0
    findings = json.loads(out)["findings"]
    by_category = {f["category"]: f for f in findings}
    assert "build-tools" in by_category and "package-cache" in by_category
    assert by_category["package-cache"]["layer"] == 1
    assert by_category["package-cache"]["bytes"] == 900_000
    assert "apt-get" in by_category["package-cache"]["createdBy"]
    assert registry.count("GET", "/blobs/") == 1  # the config only


def test_dive_test_image_through_the_registry_gives_dives_numbers(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    skopeo_copy(
        f"docker-archive:{DIVE / 'test-docker-image.tar'}",
        registry,
        f"{unique_repo}:dive",
        format="v2s2",
    )
    code, out, err = run(
        registry,
        tmp_path / "c.db",
        "inspect",
        "--deep",
        "--json",
        registry.ref(unique_repo, "dive"),
    )
    assert code == 0, err
    document = json.loads(out)
    assert document["efficiency"] == 0.9844212134184309
    assert document["wastedBytes"] == 32025
    assert document["userWastedPercent"] == 0.4834911001404049
    assert document["uncompressedSize"] == 1220598


@pytest.mark.parametrize(
    ("spec", "efficiency", "wasted", "size"),
    [
        ("docker-archive:test-docker-image.tar", 0.9844212134184309, 32025, 1220598),
        ("docker-archive:test-kaniko-image.tar", 0.9793688490216431, 46245, 1326410),
        ("oci-archive:test-oci-gzip-image.tar", 1, 0, 11189),
        ("oci-archive:test-oci-zstd-image.tar", 1, 0, 11189),
        ("oci-archive:test-oci-uncompressed-image.tar", 1, 0, 11189),
        ("oci-archive:test-oci-estargz-image.tar", 1, 0, 11189),
    ],
)
def test_local_archives_give_dives_numbers(
    registry: LocalRegistry, tmp_path: Path, spec: str, efficiency: float, wasted: int, size: int
) -> None:
    kind, _, name = spec.partition(":")
    code, out, err = run(
        registry, tmp_path / "c.db", "inspect", "--deep", "--json", f"{kind}:{DIVE / name}"
    )
    assert code == 0, err
    document = json.loads(out)
    assert (document["efficiency"], document["wastedBytes"], document["uncompressedSize"]) == (
        efficiency,
        wasted,
        size,
    )


def test_a_plain_rootfs_tar_is_refused_as_not_an_image(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    code, out, err = run(
        registry,
        tmp_path / "c.db",
        "inspect",
        "--deep",
        f"docker-archive:{DIVE / 'test-estargz-image.tar'}",
    )
    assert code == 7 and out == ""
    assert "manifest.json" in err
    assert "Traceback" not in err


def test_archive_without_deep_is_a_usage_error(registry: LocalRegistry, tmp_path: Path) -> None:
    code, _, err = run(
        registry, tmp_path / "c.db", "inspect", f"docker-archive:{DIVE / 'test-docker-image.tar'}"
    )
    assert code == 2 and "--deep" in err
