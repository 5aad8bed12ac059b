"""Image facts from a real registry (distribution 2.8 on loopback), counted at the registry.

Every request goes through the test registry's counting proxy, so the request
budgets the issue sets are asserted at the registry side.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path

import pytest

from ballast import AuthError, DigestMismatch, NotFound, RegistryUnavailable, TooLarge
from ballast.facts import Platform
from tests.registry.conftest import ServicesFactory
from tests.support.images import make_tar_layer, push_image, push_index
from tests.support.registry import LocalRegistry, skopeo_copy

DIVE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "dive"
HISTORY = [
    {"created_by": "/bin/sh -c #(nop) ADD file:abc in /", "created": "2024-01-01T00:00:00Z"},
    {"created_by": "/bin/sh -c #(nop)  ENV PATH=/usr/bin", "empty_layer": True},
    {"created_by": "RUN /bin/sh -c apt-get install -y gcc # buildkit"},
    {"created_by": 'CMD ["python"]', "empty_layer": True},
    {"created_by": "COPY . /app # buildkit"},
]


def registry_requests(reg: LocalRegistry) -> int:
    """Requests other than the token server's and 401 challenges (those are 'auth')."""
    return sum(1 for _, _, status in reg.requests if status != 401)


@pytest.mark.parametrize("media", ["oci", "docker"])
def test_single_arch_facts_match_what_was_pushed(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory, media: str
) -> None:
    pushed = push_image(
        registry,
        unique_repo,
        "1.0",
        layer_sizes=[300_000, 1000, 50_000],
        media=media,
        history=HISTORY,
        user="10001",
        entrypoint=["/app/run"],
        cmd=["--serve"],
        labels={"team": "payments"},
        annotations={
            "org.opencontainers.image.base.name": "docker.io/library/python:3.12",
            "org.opencontainers.image.base.digest": "sha256:" + "b" * 64,
        }
        if media == "oci"
        else None,
    )
    result = make_services(registry).lookup.resolve(pushed.tag_ref)
    (facts,) = result.platforms
    assert result.digest == facts.digest == pushed.digest
    assert facts.media_type == pushed.media_type
    assert facts.compressed_bytes == pushed.compressed_size
    assert [x.digest for x in facts.layers] == list(pushed.layer_digests)
    assert [x.compressed_bytes for x in facts.layers] == [300_000, 1000, 50_000]
    assert facts.largest_layer is not None and facts.largest_layer.compressed_bytes == 300_000
    # empty_layer history entries are skipped when pairing history with layers
    assert [x.created_by for x in facts.layers] == [
        HISTORY[0]["created_by"],
        HISTORY[2]["created_by"],
        HISTORY[4]["created_by"],
    ]
    assert facts.platform == Platform("linux", "amd64")
    assert (facts.user, facts.entrypoint, facts.cmd) == ("10001", ("/app/run",), ("--serve",))
    assert facts.labels == {"team": "payments"}
    if media == "oci":
        assert facts.base_name == "docker.io/library/python:3.12"
        assert facts.base_digest == "sha256:" + "b" * 64


@pytest.mark.parametrize("media", ["oci", "docker"])
def test_multi_arch_index_selects_the_platform_asked_for(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory, media: str
) -> None:
    amd = push_image(registry, unique_repo, None, layer_sizes=[40_000], media=media)
    arm = push_image(
        registry,
        unique_repo,
        None,
        layer_sizes=[30_000, 5_000],
        media=media,
        platform=("linux", "arm64", "v8"),
    )
    index = push_index(registry, unique_repo, "multi", [amd, arm], media=media)
    services = make_services(registry)

    default = services.lookup.resolve(index.tag_ref)
    assert default.digest == index.digest and default.index is not None
    assert [f.digest for f in default.platforms] == [amd.digest]

    arm64 = services.lookup.resolve(index.tag_ref, platforms=["linux/arm64"])
    assert [f.compressed_bytes for f in arm64.platforms] == [arm.compressed_size]

    every = services.lookup.resolve(index.tag_ref, platforms=["all"])
    assert {str(f.platform) for f in every.platforms} == {"linux/amd64", "linux/arm64/v8"}


def test_cold_single_arch_lookup_makes_two_requests_and_repeats_make_none(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory
) -> None:
    pushed = push_image(registry, unique_repo, "v1", layer_sizes=[10_000])
    registry.reset_counts()
    services = make_services(registry)
    services.lookup.resolve(pushed.tag_ref)
    # A tag never seen: GET by tag (hashed and checked against Docker-Content-Digest),
    # then the config; the budget is 3, a HEAD first would only repeat the GET's answer.
    assert registry.requests == [
        ("GET", f"/v2/{unique_repo}/manifests/v1", 200),
        ("GET", f"/v2/{unique_repo}/blobs/{pushed.config_digest}", 200),
    ]

    registry.reset_counts()
    services.lookup.resolve(pushed.tag_ref)  # within the tag TTL
    services.lookup.resolve(pushed.digest_ref)  # by digest
    assert registry.requests == []


def test_cold_multi_arch_lookup_makes_at_most_four_requests(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory
) -> None:
    amd = push_image(registry, unique_repo, None, layer_sizes=[1000])
    arm = push_image(
        registry, unique_repo, None, layer_sizes=[1000], platform=("linux", "arm64", None)
    )
    index = push_index(registry, unique_repo, "v1", [amd, arm])
    registry.reset_counts()
    make_services(registry).lookup.resolve(index.tag_ref)
    assert registry_requests(registry) <= 4


def test_stale_tag_is_revalidated_with_exactly_one_head(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory, tmp_path: Path
) -> None:
    pushed = push_image(registry, unique_repo, "v1", layer_sizes=[1000])
    cache = tmp_path / "ttl0.db"
    make_services(registry, cache=cache).lookup.resolve(pushed.tag_ref)
    registry.reset_counts()
    stale = make_services(registry, cache=cache, env={"BALLAST_CACHE__TAG_TTL_S": "0"})
    stale.lookup.resolve(pushed.tag_ref)
    assert registry.requests == [("HEAD", f"/v2/{unique_repo}/manifests/v1", 200)]


def test_moved_tag_is_noticed_after_the_ttl(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory
) -> None:
    services = make_services(registry, env={"BALLAST_CACHE__TAG_TTL_S": "0"})
    first = push_image(registry, unique_repo, "moving", layer_sizes=[1000])
    assert services.lookup.resolve(first.tag_ref).digest == first.digest
    second = push_image(registry, unique_repo, "moving", layer_sizes=[2000])
    assert services.lookup.resolve(first.tag_ref).digest == second.digest


def test_cache_survives_a_process_restart(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory, tmp_path: Path
) -> None:
    pushed = push_image(registry, unique_repo, "v1", layer_sizes=[1000])
    cache = tmp_path / "persist.db"
    first = make_services(registry, cache=cache)
    facts = first.lookup.resolve(pushed.tag_ref)
    first.close()
    registry.reset_counts()
    again = make_services(registry, cache=cache).lookup.resolve(pushed.tag_ref)
    assert again == facts
    assert registry.requests == []


def test_concurrent_lookups_of_one_uncached_image_share_one_set_of_requests(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory
) -> None:
    pushed = push_image(registry, unique_repo, "v1", layer_sizes=[1000])
    registry.reset_counts()
    registry.delay_s = 0.05  # keep the first lookup in flight while the others arrive
    services = make_services(registry)
    results: list[str] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(services.lookup.resolve(pushed.tag_ref).digest)
        )
        for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [pushed.digest] * 16
    assert registry_requests(registry) == 2


def test_basic_auth_registry_with_credentials_from_docker_config(
    basic_registry: LocalRegistry,
    unique_repo: str,
    make_services: ServicesFactory,
    tmp_path: Path,
) -> None:
    pushed = push_image(basic_registry, unique_repo, "v1", layer_sizes=[1000])
    user, password = basic_registry.creds or ("", "")
    auth_file = tmp_path / "config.json"
    auth_file.write_text(
        json.dumps(
            {
                "auths": {
                    basic_registry.host: {
                        "auth": base64.b64encode(f"{user}:{password}".encode()).decode()
                    }
                }
            }
        )
    )
    services = make_services(basic_registry, env={"BALLAST_REGISTRY_AUTH_FILE": str(auth_file)})
    assert services.lookup.resolve(pushed.tag_ref).digest == pushed.digest


def test_basic_auth_registry_without_credentials_is_an_auth_error_with_advice(
    basic_registry: LocalRegistry,
    unique_repo: str,
    make_services: ServicesFactory,
) -> None:
    pushed = push_image(basic_registry, unique_repo, "v1", layer_sizes=[1000])
    with pytest.raises(AuthError, match="requires credentials.*imagePullSecret") as caught:
        make_services(basic_registry).lookup.resolve(pushed.tag_ref)
    assert caught.value.status == 401


def test_wrong_basic_credentials_are_reported_as_refused(
    basic_registry: LocalRegistry,
    unique_repo: str,
    make_services: ServicesFactory,
    tmp_path: Path,
) -> None:
    pushed = push_image(basic_registry, unique_repo, "v1", layer_sizes=[1000])
    auth_file = tmp_path / "config.json"
    auth_file.write_text(
        json.dumps(
            {"auths": {basic_registry.host: {"username": "ballast", "password": "wrong-password"}}}
        )
    )
    services = make_services(basic_registry, env={"BALLAST_REGISTRY_AUTH_FILE": str(auth_file)})
    with pytest.raises(AuthError, match="refused credentials") as caught:
        services.lookup.resolve(pushed.tag_ref)
    assert "wrong-password" not in str(caught.value)


def test_token_registry_anonymous_pull_of_a_public_repository(
    token_registry: LocalRegistry,
    unique_public_repo: str,
    make_services: ServicesFactory,
) -> None:
    pushed = push_image(token_registry, unique_public_repo, "v1", layer_sizes=[1000])
    token_registry.reset_counts()
    services = make_services(token_registry)
    assert services.lookup.resolve(pushed.tag_ref).digest == pushed.digest
    assert token_registry.token_requests == [(f"repository:{unique_public_repo}:pull", False)]
    assert registry_requests(token_registry) <= 3


def test_token_registry_private_repository_with_a_pull_secret(
    token_registry: LocalRegistry,
    unique_repo: str,
    make_services: ServicesFactory,
    tmp_path: Path,
) -> None:
    pushed = push_image(token_registry, unique_repo, "v1", layer_sizes=[1000])
    other = push_image(token_registry, unique_repo, "v2", layer_sizes=[2000])
    user, password = token_registry.creds or ("", "")
    auth_file = tmp_path / "config.json"
    auth_file.write_text(
        json.dumps(
            {
                "auths": {
                    token_registry.host: {
                        "auth": base64.b64encode(f"{user}:{password}".encode()).decode()
                    }
                }
            }
        )
    )
    token_registry.reset_counts()
    services = make_services(token_registry, env={"BALLAST_REGISTRY_AUTH_FILE": str(auth_file)})
    services.lookup.resolve(pushed.tag_ref)
    services.lookup.resolve(other.tag_ref)
    # one token for the repository scope, reused for the second image; no 401 the second time
    assert token_registry.token_requests == [(f"repository:{unique_repo}:pull", True)]
    assert token_registry.count() - registry_requests(token_registry) == 1


def test_token_registry_private_repository_without_credentials_fails_clearly(
    token_registry: LocalRegistry,
    unique_repo: str,
    make_services: ServicesFactory,
) -> None:
    pushed = push_image(token_registry, unique_repo, "v1", layer_sizes=[1000])
    with pytest.raises(AuthError):
        make_services(token_registry).lookup.resolve(pushed.tag_ref)


def test_missing_tag_and_repository_are_not_found(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory
) -> None:
    push_image(registry, unique_repo, "v1", layer_sizes=[1000])
    services = make_services(registry)
    with pytest.raises(NotFound, match="not found"):
        services.lookup.resolve(registry.ref(unique_repo, "nope"))
    with pytest.raises(NotFound):
        services.lookup.resolve(registry.ref("no/such/repo", "v1"))


def test_errors_are_remembered_briefly_so_a_broken_registry_is_not_hammered(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory
) -> None:
    services = make_services(registry)
    missing = registry.ref(unique_repo, "absent")
    for _ in range(5):
        with pytest.raises(NotFound):
            services.lookup.resolve(missing)
    assert registry.count() == 1


@pytest.mark.parametrize("by", ["tag", "digest"])
def test_tampered_manifest_is_rejected_as_digest_mismatch(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory, by: str
) -> None:
    pushed = push_image(registry, unique_repo, "v1", layer_sizes=[1000])
    registry.tamper = lambda method, path, body: (
        body.replace(b'"size"', b'"size" ') if "/manifests/" in path else body
    )
    with pytest.raises(DigestMismatch, match="altered"):
        make_services(registry).lookup.resolve(pushed.tag_ref if by == "tag" else pushed.digest_ref)


def test_tampered_config_blob_is_rejected_as_digest_mismatch(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory
) -> None:
    pushed = push_image(registry, unique_repo, "v1", layer_sizes=[1000])
    registry.tamper = lambda method, path, body: (
        body + b" " if pushed.config_digest in path else body
    )
    with pytest.raises(DigestMismatch, match="not trusting it"):
        make_services(registry).lookup.resolve(pushed.tag_ref)


def test_oversized_manifest_is_refused(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory
) -> None:
    pushed = push_image(registry, unique_repo, "v1", layer_sizes=[1000])
    registry.tamper = lambda method, path, body: (
        body + b" " * (5 * 1024 * 1024) if "/manifests/" in path and method == "GET" else body
    )
    with pytest.raises(TooLarge, match="cap"):
        make_services(registry).lookup.resolve(pushed.digest_ref)


def test_registry_that_stops_answering_fails_within_the_timeout(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory
) -> None:
    pushed = push_image(registry, unique_repo, "v1", layer_sizes=[1000])
    registry.stall_paths = {"/manifests/"}
    services = make_services(registry, read_timeout_s=0.5, retries=1, backoff_s=0.01)
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable, match="timed out"):
        services.lookup.resolve(pushed.tag_ref)
    assert time.monotonic() - started < 5


def test_registry_that_refuses_connections_is_unavailable(
    refused_address: str, make_services: ServicesFactory, registry: LocalRegistry
) -> None:
    services = make_services(registry, insecure_registries=[refused_address], retries=0)
    with pytest.raises(RegistryUnavailable, match="check that the registry is up"):
        services.lookup.resolve(f"{refused_address}/x/y:1")


def test_image_pushed_with_skopeo_from_a_docker_archive(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory
) -> None:
    skopeo_copy(f"docker-archive:{DIVE / 'test-docker-image.tar'}", registry, f"{unique_repo}:dive")
    (facts,) = make_services(registry).lookup.resolve(registry.ref(unique_repo, "dive")).platforms
    assert facts.layer_count == 14
    assert facts.layers[2].created_by == "/bin/sh -c mkdir -p /root/example/really/nested"
    assert facts.layers[-1].created_by == "/bin/sh -c chmod +x /root/saved.txt"


def test_real_tar_layers_report_their_compressed_sizes(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory
) -> None:
    layer = make_tar_layer({"app/main.py": b"print('hi')\n" * 1000})
    pushed = push_image(registry, unique_repo, "v1", layers=[layer])
    (facts,) = make_services(registry).lookup.resolve(pushed.tag_ref).platforms
    assert facts.layers[0].compressed_bytes == len(layer)
