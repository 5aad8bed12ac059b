"""Settings: precedence, env parsing, and errors that name what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from ballast import ConfigError
from ballast.settings import load_settings


def test_defaults_are_safe_without_any_configuration() -> None:
    settings = load_settings({})
    assert settings.registry.insecure_registries == ()
    assert settings.registry.manifest_max_bytes == 4 * 1024 * 1024
    assert settings.registry.platforms == ("linux/amd64",)
    assert settings.cache.tag_ttl_s == 300


def test_flag_beats_env_beats_file(tmp_path: Path) -> None:
    config = tmp_path / "ballast.yaml"
    config.write_text("cache: {tag_ttl_s: 10, negative_ttl_s: 7}\nregistry: {retries: 5}\n")
    env = {"BALLAST_CACHE__TAG_TTL_S": "20"}
    settings = load_settings(env, config_file=str(config), overrides={"registry": {"retries": 1}})
    assert settings.cache.tag_ttl_s == 20
    assert settings.cache.negative_ttl_s == 7
    assert settings.registry.retries == 1


def test_insecure_registries_is_a_comma_separated_list() -> None:
    env = {"BALLAST_INSECURE_REGISTRIES": "127.0.0.1:5000, registry.local:80"}
    assert load_settings(env).registry.insecure_registries == (
        "127.0.0.1:5000",
        "registry.local:80",
    )


def test_per_host_settings_from_the_file(tmp_path: Path) -> None:
    config = tmp_path / "ballast.yaml"
    config.write_text("registry:\n  hosts:\n    ghcr.io: {ca_bundle: /ca.pem, mirror: m.local}\n")
    hosts = load_settings({}, config_file=str(config)).registry.hosts
    assert hosts["ghcr.io"].ca_bundle == "/ca.pem" and hosts["ghcr.io"].mirror == "m.local"


@pytest.mark.parametrize(
    ("env", "phrase"),
    [
        ({"BALLAST_REGISTRY__RETRIES": "lots"}, "registry.retries must be a number"),
        ({"BALLAST_REGISTRY__NOPE": "1"}, "unknown registry setting"),
        ({"BALLAST_WEBHOOKS__X": "1"}, "unknown settings group"),
        ({"BALLAST_CACHE__TAG_TTL_S": "-1"}, "must not be negative"),
    ],
)
def test_bad_environment_names_the_variable_and_the_problem(
    env: dict[str, str], phrase: str
) -> None:
    with pytest.raises(ConfigError, match=phrase):
        load_settings(env)


def test_bad_config_file_is_reported_with_its_path(tmp_path: Path) -> None:
    config = tmp_path / "ballast.yaml"
    config.write_text("registry: [1, 2\n")
    with pytest.raises(ConfigError, match=str(config)):
        load_settings({}, config_file=str(config))
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings({}, config_file=str(tmp_path / "missing.yaml"))
