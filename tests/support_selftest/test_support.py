"""Self-tests of the registry infrastructure: if these fail, every registry test is suspect."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import zstandard

from tests.support.registry import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    MANIFEST_ACCEPT,
    OCI_INDEX,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    OCI_LAYER_ZSTD,
    OCI_MANIFEST,
    STALLED,
    LocalRegistry,
    StalledServer,
    Symlink,
    make_tar_layer,
    push_blob,
    push_image,
    push_index,
    sha256_digest,
    skopeo_copy,
    skopeo_inspect,
    start_registry,
)

DIVE = Path("/work/shared/fixtures/dive")
ACCEPT = {"Accept": MANIFEST_ACCEPT}


def parse_bearer_challenge(header: str) -> dict[str, str]:
    scheme, _, params = header.partition(" ")
    assert scheme == "Bearer"
    out: dict[str, str] = {}
    for part in params.split('",'):
        key, _, value = part.partition("=")
        out[key.strip()] = value.strip().strip('"')
    return out


def fetch_token(challenge: dict[str, str], auth: tuple[str, str] | None = None) -> httpx.Response:
    params = {"service": challenge["service"], "scope": challenge["scope"]}
    return httpx.get(challenge["realm"], params=params, auth=auth)


# -- startup and auth modes -------------------------------------------------------------------


def test_anonymous_registry_answers_v2(registry: LocalRegistry) -> None:
    resp = httpx.get(f"{registry.url}/v2/")
    assert resp.status_code == 200
    assert resp.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    assert registry.host != registry.registry_host
    assert registry.requests == [("GET", "/v2/", 200)]


def test_basic_registry_challenges_and_accepts_credentials(basic_registry: LocalRegistry) -> None:
    anonymous = httpx.get(f"{basic_registry.url}/v2/")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic ")
    assert basic_registry.creds == ("ballast", "s3cret-pass")
    assert httpx.get(f"{basic_registry.url}/v2/", auth=basic_registry.creds).status_code == 200
    wrong = httpx.get(f"{basic_registry.url}/v2/", auth=("ballast", "nope"))
    assert wrong.status_code == 401


def test_token_registry_challenges_with_bearer(token_registry: LocalRegistry) -> None:
    resp = httpx.get(f"{token_registry.url}/v2/")
    assert resp.status_code == 401
    challenge = parse_bearer_challenge(resp.headers["WWW-Authenticate"])
    assert token_registry.token_server is not None
    assert challenge["realm"] == token_registry.token_server.realm
    assert challenge["service"] == "ballast-test-registry"


# -- pushing and reading back -----------------------------------------------------------------


def test_pushed_oci_image_reads_back_identically_through_proxy(
    registry: LocalRegistry, unique_repo: str
) -> None:
    image = push_image(
        registry,
        unique_repo,
        "v1",
        layer_sizes=[5000, 70_000],
        labels={"org.example": "yes"},
        user="1000",
        entrypoint=["/app"],
        annotations={"org.opencontainers.image.source": "https://example.test"},
    )
    assert registry.requests == []  # helpers bypass the proxy

    with httpx.Client(base_url=registry.url) as client:
        resp = client.get(f"/v2/{unique_repo}/manifests/{image.digest}", headers=ACCEPT)
        assert resp.status_code == 200
        assert resp.content == image.manifest
        assert resp.headers["Content-Type"] == OCI_MANIFEST
        assert resp.headers["Docker-Content-Digest"] == image.digest
        assert sha256_digest(resp.content) == image.digest

        config = client.get(f"/v2/{unique_repo}/blobs/{image.config_digest}")
        assert config.content == image.config
        doc = json.loads(config.content)
        assert doc["config"]["User"] == "1000"
        assert doc["config"]["Labels"] == {"org.example": "yes"}
        assert doc["rootfs"]["diff_ids"] == list(image.diff_ids)

        layer = client.get(f"/v2/{unique_repo}/blobs/{image.layer_digests[1]}")
        assert len(layer.content) == 70_000
        assert sha256_digest(layer.content) == image.layer_digests[1]

        by_tag = client.head(f"/v2/{unique_repo}/manifests/v1", headers=ACCEPT)
        assert by_tag.headers["Docker-Content-Digest"] == image.digest
        assert int(by_tag.headers["Content-Length"]) == len(image.manifest)

    manifest = json.loads(image.manifest)
    assert manifest["annotations"]["org.opencontainers.image.source"] == "https://example.test"
    assert [layer["mediaType"] for layer in manifest["layers"]] == [OCI_LAYER_GZIP] * 2
    assert image.compressed_size == 75_000 + image.config_size
    assert image.digest_ref == f"{registry.host}/{unique_repo}@{image.digest}"
    assert image.tag_ref == registry.ref(unique_repo, "v1")
    assert registry.count() == 4
    assert registry.count("GET", "/manifests/") == 1
    assert registry.count("head") == 1
    assert registry.count(path_contains="/blobs/") == 2


def test_docker_manifest_list_and_oci_index(registry: LocalRegistry, unique_repo: str) -> None:
    amd = push_image(registry, unique_repo, None, media="docker", layer_sizes=[100])
    arm = push_image(
        registry,
        unique_repo,
        None,
        media="docker",
        layer_sizes=[100],
        platform=("linux", "arm64", "v8"),
    )
    listing = push_index(registry, unique_repo, "multi", [amd, arm], media="docker")
    index = push_index(registry, unique_repo, "oci", [amd, arm])

    assert json.loads(amd.manifest)["config"]["mediaType"] == DOCKER_CONFIG
    assert amd.layer_media_types == (DOCKER_LAYER_GZIP,)
    with httpx.Client(base_url=registry.url) as client:
        got = client.get(f"/v2/{unique_repo}/manifests/multi", headers=ACCEPT)
        assert got.headers["Content-Type"] == DOCKER_MANIFEST_LIST
        assert got.content == listing.manifest
        entries = json.loads(got.content)["manifests"]
        assert [e["platform"] for e in entries] == [
            {"architecture": "amd64", "os": "linux"},
            {"architecture": "arm64", "os": "linux", "variant": "v8"},
        ]
        assert entries[1]["mediaType"] == DOCKER_MANIFEST
        got = client.get(f"/v2/{unique_repo}/manifests/oci", headers=ACCEPT)
        assert got.headers["Content-Type"] == OCI_INDEX
        assert got.headers["Docker-Content-Digest"] == index.digest


def test_tar_layers_are_real_and_reproducible(registry: LocalRegistry, unique_repo: str) -> None:
    files = {
        "etc/": None,
        "etc/motd": b"hi\n",
        "etc/.wh.passwd": b"",
        "bin/sh": Symlink("/bin/busybox"),
    }
    gz = make_tar_layer(files)
    assert gz == make_tar_layer(files)
    plain = make_tar_layer(files, compression="none")
    zst = make_tar_layer(files, compression="zstd")
    assert gzip.decompress(gz) == plain
    assert zstandard.ZstdDecompressor().decompressobj().decompress(zst) == plain
    with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert list(members) == ["etc", "etc/motd", "etc/.wh.passwd", "bin/sh"]
    assert members["etc"].isdir() and members["bin/sh"].issym()
    assert {m.mtime for m in members.values()} == {1_700_000_000}

    image = push_image(registry, unique_repo, "layers", layers=[gz, zst, plain])
    assert image.layer_media_types == (OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_LAYER)
    assert image.diff_ids == (sha256_digest(plain),) * 3


def test_history_is_written_as_given(registry: LocalRegistry, unique_repo: str) -> None:
    history: list[dict[str, Any]] = [
        {"created_by": "ADD rootfs.tar /"},
        {"created_by": "ENV A=1", "empty_layer": True},
        {"created_by": "RUN make"},
    ]
    image = push_image(registry, unique_repo, "h", layer_sizes=[10, 20], history=history)
    assert json.loads(image.config)["history"] == history


# -- auth flows end to end ----------------------------------------------------------------------


def test_basic_registry_push_and_pull(basic_registry: LocalRegistry, unique_repo: str) -> None:
    image = push_image(basic_registry, unique_repo, "v1")
    url = f"{basic_registry.url}/v2/{unique_repo}/manifests/v1"
    assert httpx.get(url, headers=ACCEPT).status_code == 401
    resp = httpx.get(url, headers=ACCEPT, auth=basic_registry.creds)
    assert resp.content == image.manifest


def test_token_flow_private_repo_needs_credentials(
    token_registry: LocalRegistry, unique_repo: str
) -> None:
    image = push_image(token_registry, unique_repo, "v1")
    assert token_registry.token_requests == []  # helpers mint their own tokens
    url = f"{token_registry.url}/v2/{unique_repo}/manifests/v1"
    scope = f"repository:{unique_repo}:pull"

    challenged = httpx.get(url, headers=ACCEPT)
    assert challenged.status_code == 401
    challenge = parse_bearer_challenge(challenged.headers["WWW-Authenticate"])
    assert challenge["scope"] == scope

    anonymous = fetch_token(challenge)
    assert anonymous.status_code == 200
    denied = httpx.get(
        url, headers={**ACCEPT, "Authorization": f"Bearer {anonymous.json()['token']}"}
    )
    assert denied.status_code == 401
    assert 'error="insufficient_scope"' in denied.headers["WWW-Authenticate"]

    assert fetch_token(challenge, ("ballast", "wrong")).status_code == 401

    granted = fetch_token(challenge, token_registry.creds)
    body = granted.json()
    assert body["token"] == body["access_token"] and body["expires_in"] == 300
    ok = httpx.get(url, headers={**ACCEPT, "Authorization": f"Bearer {body['token']}"})
    assert ok.status_code == 200
    assert ok.content == image.manifest
    assert token_registry.token_requests == [(scope, False), (scope, False), (scope, True)]
    assert token_registry.count("GET", "/manifests/") == 3


def test_token_flow_public_repo_pulls_anonymously(
    token_registry: LocalRegistry, unique_public_repo: str
) -> None:
    image = push_image(token_registry, unique_public_repo, "v1")
    url = f"{token_registry.url}/v2/{unique_public_repo}/manifests/{image.digest}"
    challenge = parse_bearer_challenge(httpx.get(url).headers["WWW-Authenticate"])
    token = fetch_token(challenge).json()["token"]
    resp = httpx.get(url, headers={**ACCEPT, "Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert resp.content == image.manifest
    assert token_registry.token_requests == [(f"repository:{unique_public_repo}:pull", False)]


# -- the proxy's counts and misbehaviour ---------------------------------------------------------


def test_counts_reset_between_tests_first(registry: LocalRegistry) -> None:
    httpx.get(f"{registry.url}/v2/")
    registry.fail_next = [500] * 10
    registry.stall_paths = {"/never"}
    assert registry.count() == 1


def test_counts_reset_between_tests_second(registry: LocalRegistry) -> None:
    assert registry.requests == []
    assert registry.fail_next == [] and registry.stall_paths == set()
    assert httpx.get(f"{registry.url}/v2/").status_code == 200
    registry.reset_counts()
    assert registry.count() == 0


def test_tamper_rewrites_bodies(registry: LocalRegistry, unique_repo: str) -> None:
    image = push_image(registry, unique_repo, "v1")

    def lie(method: str, path: str, body: bytes) -> bytes:
        return (
            body.replace(b'"schemaVersion"', b'"schemaVersion" ') if "/manifests/" in path else body
        )

    registry.tamper = lie
    resp = httpx.get(f"{registry.url}/v2/{unique_repo}/manifests/v1", headers=ACCEPT)
    assert resp.status_code == 200
    assert resp.headers["Docker-Content-Digest"] == image.digest
    assert sha256_digest(resp.content) != image.digest
    assert int(resp.headers["Content-Length"]) == len(image.manifest) + 1


def test_stalled_paths_never_answer(registry: LocalRegistry, unique_repo: str) -> None:
    image = push_image(registry, unique_repo, "v1")
    registry.stall_paths = {"/blobs/"}
    with httpx.Client(base_url=registry.url, timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get(f"/v2/{unique_repo}/blobs/{image.config_digest}")
        assert client.get(f"/v2/{unique_repo}/manifests/v1", headers=ACCEPT).status_code == 200
    assert registry.requests[0] == (
        "GET",
        f"/v2/{unique_repo}/blobs/{image.config_digest}",
        STALLED,
    )


def test_fail_next_answers_given_statuses_then_forwards(registry: LocalRegistry) -> None:
    registry.fail_next = [503, 429, (500, {"X-Why": "test"})]
    with httpx.Client(base_url=registry.url) as client:
        first = client.get("/v2/")
        assert first.status_code == 503
        assert first.json()["errors"][0]["code"] == "UNAVAILABLE"
        limited = client.get("/v2/")
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "1"
        assert limited.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
        assert client.get("/v2/").headers["X-Why"] == "test"
        assert client.head("/v2/").status_code == 200
    assert [status for *_, status in registry.requests] == [503, 429, 500, 200]


def test_delay_slows_every_request(registry: LocalRegistry) -> None:
    registry.delay_s = 0.1
    started = time.monotonic()
    assert httpx.get(f"{registry.url}/v2/").status_code == 200
    assert time.monotonic() - started >= 0.1


def test_truncated_body_breaks_the_download(registry: LocalRegistry, unique_repo: str) -> None:
    image = push_image(registry, unique_repo, "v1", layer_sizes=[100_000])
    registry.truncate_paths = {image.layer_digests[0]}
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{registry.url}/v2/{unique_repo}/blobs/{image.layer_digests[0]}")


def test_push_through_proxy_keeps_upload_locations_on_proxy(
    registry: LocalRegistry, unique_repo: str
) -> None:
    client = registry.api_client(via_proxy=True)
    started = client.post(f"/v2/{unique_repo}/blobs/uploads/")
    assert started.status_code == 202
    location = urlsplit(started.headers["Location"])
    assert location.netloc == registry.host  # absolute, and pointing at the proxy
    assert "_state=" in location.query

    image = push_image(registry, unique_repo, "v1", layer_sizes=[1000], via_proxy=True)
    assert registry.count("PUT", "/manifests/v1") == 1
    assert registry.count("PUT", "/blobs/uploads/") == 2
    with httpx.Client(base_url=registry.registry_url) as raw:
        assert raw.get(f"/v2/{unique_repo}/manifests/v1", headers=ACCEPT).content == image.manifest


def test_chunked_upload_through_proxy(registry: LocalRegistry, unique_repo: str) -> None:
    data = os.urandom(300_000)
    client = registry.api_client(via_proxy=True)
    location = client.post(f"/v2/{unique_repo}/blobs/uploads/").headers["Location"]
    put = client.put(
        f"{location}&digest={sha256_digest(data)}",
        content=iter([data[:1000], data[1000:]]),  # an iterator makes httpx send chunked
    )
    assert put.status_code == 201
    assert put.headers["Docker-Content-Digest"] == sha256_digest(data)


# -- lifecycle ------------------------------------------------------------------------------------


def test_restart_keeps_data_and_proxy_connections(
    registry: LocalRegistry, unique_repo: str
) -> None:
    image = push_image(registry, unique_repo, "v1")
    old_pid = registry.process.pid if registry.process else None
    with httpx.Client(base_url=registry.url) as client:
        assert client.get("/v2/").status_code == 200
        registry.restart()
        assert registry.process is not None and registry.process.pid != old_pid
        resp = client.get(f"/v2/{unique_repo}/manifests/v1", headers=ACCEPT)
    assert resp.content == image.manifest


def test_stop_leaves_no_process_and_refuses(tmp_path: Path) -> None:
    with start_registry(tmp_path, auth="token") as reg:
        assert reg.process is not None
        pid = reg.process.pid
        url = reg.url
        assert httpx.get(f"{url}/v2/").status_code == 401
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v2/")


def test_stalled_server_and_refused_address(
    stalled_address: StalledServer, refused_address: str
) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{stalled_address.url}/v2/", timeout=0.2)
    assert stalled_address.accepted == 1
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{refused_address}/v2/", timeout=1)


def test_unique_repo_names_are_valid(unique_repo: str, unique_public_repo: str) -> None:
    assert unique_repo.startswith("t/test-unique-repo-names-are-valid-")
    assert unique_public_repo.startswith("public/test-unique-repo-names-are-valid-")
    assert unique_repo != unique_public_repo.replace("public/", "t/")


# -- skopeo ---------------------------------------------------------------------------------------


def test_skopeo_pushes_docker_archive(registry: LocalRegistry, unique_repo: str) -> None:
    digest = skopeo_copy(
        f"docker-archive:{DIVE / 'test-docker-image.tar'}", registry, f"{unique_repo}:v1"
    )
    info = skopeo_inspect(registry, f"{unique_repo}:v1")
    assert info["Digest"] == digest
    assert len(info["Layers"]) == 14
    manifest = skopeo_inspect(registry, f"{unique_repo}@{digest}", raw=True)
    assert manifest["mediaType"] == DOCKER_MANIFEST
    resp = httpx.get(f"{registry.url}/v2/{unique_repo}/manifests/v1", headers=ACCEPT)
    assert hashlib.sha256(resp.content).hexdigest() == digest.removeprefix("sha256:")


def test_skopeo_pushes_oci_archive_to_token_registry(
    token_registry: LocalRegistry, unique_repo: str
) -> None:
    src = f"oci-archive:{DIVE / 'test-oci-zstd-image.tar'}"
    digest = skopeo_copy(src, token_registry, f"{unique_repo}:zstd")
    manifest = skopeo_inspect(token_registry, f"{unique_repo}@{digest}", raw=True)
    assert manifest["layers"][0]["mediaType"] == OCI_LAYER_ZSTD
    assert token_registry.token_requests == []  # skopeo used the uncounted internal account


def test_push_blob_is_idempotent(registry: LocalRegistry, unique_repo: str) -> None:
    data = b"same bytes"
    assert push_blob(registry, unique_repo, data) == push_blob(registry, unique_repo, data)


def test_crashed_registry_gives_502_until_restarted(registry: LocalRegistry) -> None:
    registry.crash()
    with httpx.Client(base_url=registry.url) as client:
        down = client.get("/v2/")
        assert down.status_code == 502
        assert down.json()["errors"][0]["code"] == "UNAVAILABLE"
        registry.restart()
        assert client.get("/v2/").status_code == 200


def test_skopeo_through_proxy_to_basic_registry(
    basic_registry: LocalRegistry, unique_repo: str
) -> None:
    src = f"oci-archive:{DIVE / 'test-oci-gzip-image.tar'}"
    digest = skopeo_copy(src, basic_registry, f"{unique_repo}:v1", via_proxy=True)
    assert basic_registry.count("PUT", f"/v2/{unique_repo}/manifests/v1") == 1
    info = skopeo_inspect(basic_registry, f"{unique_repo}:v1", via_proxy=True)
    assert info["Digest"] == digest
    assert info["Architecture"] == "arm64"
    with pytest.raises(RuntimeError, match="skopeo"):
        skopeo_inspect(basic_registry, f"{unique_repo}:v1", creds="ballast:wrong")
