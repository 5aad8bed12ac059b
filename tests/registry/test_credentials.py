"""Credentials from Docker config.json and Kubernetes pull secrets reach the right registry."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ballast import ConfigError
from ballast.registry.credentials import Credential, CredentialStore


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_docker_config_auth_field_is_decoded_for_its_host(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {"ghcr.io": {"auth": b64("octo:tok:with:colons")}}}))
    store = CredentialStore()
    store.add_docker_config_file(config)
    assert store.get("ghcr.io") == Credential("octo", "tok:with:colons")
    assert store.get("quay.io") is None


@pytest.mark.parametrize(
    "key", ["https://index.docker.io/v1/", "docker.io", "index.docker.io", "registry-1.docker.io"]
)
def test_every_spelling_of_docker_hub_means_docker_io(key: str) -> None:
    store = CredentialStore()
    store.add_docker_config({"auths": {key: {"username": "u", "password": "p"}}}, source="t")
    assert store.get("docker.io") == Credential("u", "p")
    assert store.get("registry-1.docker.io") == Credential("u", "p")


def test_url_keys_with_scheme_and_path_resolve_to_host_and_port() -> None:
    store = CredentialStore()
    store.add_docker_config(
        {"auths": {"https://registry.example.com:5000/v2/": {"auth": b64("a:b")}}}, source="t"
    )
    assert store.get("registry.example.com:5000") == Credential("a", "b")


def test_kubernetes_dockerconfigjson_secret_data_is_read() -> None:
    config = {"auths": {"registry.acme.io": {"auth": b64("robot:s3cret")}}}
    data = {".dockerconfigjson": b64(json.dumps(config))}
    store = CredentialStore()
    store.add_pull_secret(data, source="secret default/pull")
    assert store.get("registry.acme.io") == Credential("robot", "s3cret")


def test_legacy_dockercfg_secret_without_auths_wrapper_is_read() -> None:
    data = {".dockercfg": b64(json.dumps({"quay.io": {"auth": b64("q:w")}}))}
    store = CredentialStore()
    store.add_pull_secret(data, source="secret x")
    assert store.get("quay.io") == Credential("q", "w")


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        ({".dockerconfigjson": "not base64!!"}, "not base64-encoded JSON"),
        ({"token": "x"}, "no .dockerconfigjson"),
        (
            {".dockerconfigjson": b64(json.dumps({"auths": {"h": {"auth": b64("nocolon")}}}))},
            "no ':' separator",
        ),
        (
            {".dockerconfigjson": b64(json.dumps({"auths": {"h": {"credsStore": "x"}}}))},
            "credential helpers are not supported",
        ),
    ],
)
def test_broken_secret_data_is_a_config_error_that_says_what_is_wrong(
    data: dict[str, str], phrase: str
) -> None:
    with pytest.raises(ConfigError, match=phrase) as caught:
        CredentialStore().add_pull_secret(data, source="secret ns/name")
    assert "secret ns/name" in str(caught.value)


def test_secret_values_never_appear_in_repr_or_errors() -> None:
    credential = Credential("user", "hunter2")
    assert "hunter2" not in repr(credential)
    bad = {".dockerconfigjson": b64(json.dumps({"auths": {"h": {"auth": "hunter2***"}}}))}
    with pytest.raises(ConfigError) as caught:
        CredentialStore().add_pull_secret(bad, source="s")
    assert "hunter2" not in str(caught.value)


def test_missing_config_file_adds_nothing(tmp_path: Path) -> None:
    store = CredentialStore()
    store.add_docker_config_file(tmp_path / "absent.json")
    assert len(store) == 0


def test_unreadable_config_file_says_what_was_expected(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text("{not json")
    with pytest.raises(ConfigError, match="expected Docker config.json"):
        CredentialStore().add_docker_config_file(config)


def test_a_pull_secret_manifest_can_be_used_as_the_auth_file(tmp_path: Path) -> None:
    config = {"auths": {"registry.acme.io": {"auth": b64("robot:s3cret")}}}
    secret = tmp_path / "regcred.yaml"
    secret.write_text(
        "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\n"
        "metadata: {name: regcred}\n"
        f"data:\n  .dockerconfigjson: {b64(json.dumps(config))}\n"
    )
    store = CredentialStore()
    store.add_docker_config_file(secret)
    assert store.get("registry.acme.io") == Credential("robot", "s3cret")
