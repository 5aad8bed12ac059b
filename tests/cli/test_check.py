"""`ballast check` as a CI gate: exit codes, output formats, the webhook's policy."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ballast.cli import cli
from tests.support.images import push_image
from tests.support.registry import LocalRegistry, skopeo_copy

POLICY = """
apiVersion: ballast.dev/v1
kind: Policy
metadata: {name: ci}
spec:
  mode: enforce
  rules:
    maxCompressedSize: {limit: 1MB}
    maxLayerCount: {limit: 5, action: warn}
"""


def run(reg: LocalRegistry, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {
        "BALLAST_INSECURE_REGISTRIES": reg.host,
        "BALLAST_CACHE_PATH": str(tmp_path / "c.db"),
        "HOME": str(tmp_path),
    }
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def policy_file(tmp_path: Path, text: str = POLICY) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return str(path)


def test_slim_image_passes_and_bloated_image_fails_with_the_rule_and_numbers(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    slim = push_image(registry, unique_repo, "slim", layer_sizes=[200_000])
    fat = push_image(
        registry,
        unique_repo,
        "fat",
        layer_sizes=[900_000, 400_000],
        history=[
            {"created_by": "FROM debian:12"},
            {"created_by": "RUN apt-get install -y gcc make"},
        ],
    )
    policy = policy_file(tmp_path)
    code, out, _ = run(registry, tmp_path, "check", "--policy", policy, slim.tag_ref)
    assert code == 0, out
    code, out, _ = run(registry, tmp_path, "check", "--policy", policy, slim.tag_ref, fat.tag_ref)
    assert code == 1
    assert "DENY" in out and "maxCompressedSize" in out
    assert "1.3 MB" in out or "1,300" in out


def test_json_output_is_one_document_with_per_image_verdicts(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    fat = push_image(registry, unique_repo, "fat", layer_sizes=[1_500_000])
    code, out, _ = run(
        registry, tmp_path, "check", "--json", "--policy", policy_file(tmp_path), fat.tag_ref
    )
    assert code == 1
    document = json.loads(out)
    (image,) = document["images"]
    assert image["verdict"] == "deny" and image["digest"] == fat.digest
    failing = [f for f in image["findings"] if f["status"] == "fail"]
    assert failing[0]["rule"] == "maxCompressedSize"
    assert failing[0]["measured"]["value"] == fat.compressed_size


def test_markdown_output_is_a_pull_request_comment(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    fat = push_image(registry, unique_repo, "fat", layer_sizes=[1_500_000])
    code, out, _ = run(
        registry,
        tmp_path,
        "check",
        "--format",
        "markdown",
        "--policy",
        policy_file(tmp_path),
        fat.tag_ref,
    )
    assert code == 1
    assert out.startswith("### ballast image policy")
    assert "| image | verdict |" in out


def test_warn_only_passes_unless_fail_on_warn(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    many = push_image(registry, unique_repo, "many", layer_sizes=[1000] * 7)
    policy = policy_file(tmp_path)
    assert run(registry, tmp_path, "check", "--policy", policy, many.tag_ref)[0] == 0
    assert (
        run(registry, tmp_path, "check", "--fail-on", "warn", "--policy", policy, many.tag_ref)[0]
        == 1
    )


def test_policy_with_mistakes_exits_2_listing_every_problem(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    bad = policy_file(tmp_path, POLICY.replace("1MB", "lots").replace("limit: 5", "limit: -1"))
    code, out, err = run(registry, tmp_path, "check", "--policy", bad, "alpine")
    assert code == 2 and out == ""
    assert "maxCompressedSize" in err and "maxLayerCount" in err


def test_registry_error_exits_2(registry: LocalRegistry, unique_repo: str, tmp_path: Path) -> None:
    code, _, err = run(registry, tmp_path, "check", registry.ref(unique_repo, "missing"))
    assert code == 2 and "not found" in err


DIVE = Path(__file__).resolve().parents[3] / "shared/fixtures/dive"
RULES = DIVE / "image-multi-layer-dockerfile"


def test_dive_ci_rules_judge_dives_test_image_through_the_registry(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    skopeo_copy(
        f"docker-archive:{DIVE / 'test-docker-image.tar'}",
        registry,
        f"{unique_repo}:dive",
        format="v2s2",
    )
    image = registry.ref(unique_repo, "dive")
    code, out, err = run(
        registry, tmp_path, "check", "--dive-ci", str(RULES / "dive-pass.yaml"), image
    )
    assert code == 0, out + err
    code, out, _ = run(
        registry, tmp_path, "check", "--dive-ci", str(RULES / "dive-fail.yaml"), image
    )
    assert code == 1
    assert "UserWastedPercent" in out or "userWastedPercent" in out


def test_dive_ci_on_a_local_archive_replaces_dive_ci(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    archive = f"docker-archive:{DIVE / 'test-docker-image.tar'}"
    assert (
        run(registry, tmp_path, "check", "--dive-ci", str(RULES / "dive-pass.yaml"), archive)[0]
        == 0
    )
    assert (
        run(registry, tmp_path, "check", "--dive-ci", str(RULES / "dive-fail.yaml"), archive)[0]
        == 1
    )


def test_layers_that_are_not_tar_streams_are_an_error_not_a_pass(
    registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    junk = push_image(registry, unique_repo, "junk", layer_sizes=[1000])
    code, _, err = run(registry, tmp_path, "check", "--deep", junk.tag_ref)
    assert code == 2 and "not a valid tar stream" in err
