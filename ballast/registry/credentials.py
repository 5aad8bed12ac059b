"""Where registry credentials come from: Docker config.json and pull secrets.

Accepts the Docker ``config.json`` shape (``{"auths": {host: {"auth": b64}}}``,
also ``username``/``password`` and ``identitytoken``), the legacy ``.dockercfg``
shape (hosts at the top level), and Kubernetes ``kubernetes.io/dockerconfigjson``
secret data (``{".dockerconfigjson": base64(config.json)}``). Credentials are
never logged and never appear in error messages.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ballast._errors import ConfigError

# Docker Hub is written many ways in config files; they all mean docker.io.
_DOCKER_HUB_KEYS = {
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "https://index.docker.io/v1/",
    "https://index.docker.io/v1",
    "https://index.docker.io/v2/",
    "https://registry-1.docker.io",
}


@dataclass(frozen=True, slots=True)
class Credential:
    """A username/password pair or an identity (refresh) token for one registry."""

    username: str = ""
    password: str = ""
    identity_token: str = ""

    def __repr__(self) -> str:  # keep secrets out of logs and tracebacks
        return f"Credential(username={self.username!r}, password=<redacted>)"


def normalise_host(key: str) -> str:
    """The ``host[:port]`` a config.json ``auths`` key refers to."""
    if key in _DOCKER_HUB_KEYS:
        return "docker.io"
    host = key.split("://", 1)[-1].split("/", 1)[0].lower()
    return "docker.io" if host in _DOCKER_HUB_KEYS else host


class CredentialStore:
    """Credentials keyed by registry host; the first source to name a host wins."""

    def __init__(self) -> None:
        self._by_host: dict[str, Credential] = {}

    def __len__(self) -> int:
        return len(self._by_host)

    def get(self, host: str) -> Credential | None:
        """Credentials for ``host`` (``docker.io`` for Docker Hub), if any."""
        return self._by_host.get(normalise_host(host))

    def add(self, host: str, credential: Credential) -> None:
        self._by_host.setdefault(normalise_host(host), credential)

    def add_docker_config(self, document: Mapping[str, Any], *, source: str) -> None:
        """Add every entry of a config.json (or legacy .dockercfg) document."""
        auths = document.get("auths", document)
        if not isinstance(auths, Mapping):
            raise ConfigError(f"{source}: 'auths' must be a mapping of registry to credentials")
        for key, entry in auths.items():
            if not isinstance(entry, Mapping):
                raise ConfigError(f"{source}: entry for {key!r} must be a mapping")
            self.add(str(key), _credential_from_entry(entry, key=str(key), source=source))

    def add_docker_config_file(self, path: str | Path) -> None:
        """Add credentials from a file; a missing file adds nothing.

        The file is a Docker config.json, or a Kubernetes Secret of type
        ``kubernetes.io/dockerconfigjson`` as ``kubectl get secret -o yaml|json``
        prints it, so a pull secret can be used as it is.
        """
        file = Path(path).expanduser()
        if not file.exists():
            return
        try:
            document = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(
                f"cannot read registry credentials from {file}: expected Docker config.json "
                f"or a Kubernetes pull secret ({exc.__class__.__name__})"
            ) from exc
        if not isinstance(document, Mapping):
            raise ConfigError(
                f"{file} must hold a JSON object like Docker's config.json, or a pull Secret"
            )
        if document.get("kind") == "Secret":
            data = document.get("data")
            if not isinstance(data, Mapping):
                raise ConfigError(f"{file}: the Secret has no data")
            self.add_pull_secret(data, source=str(file))
            return
        self.add_docker_config(document, source=str(file))

    def add_pull_secret(self, data: Mapping[str, str], *, source: str) -> None:
        """Add a ``kubernetes.io/dockerconfigjson`` (or ``dockercfg``) secret's ``data``."""
        for key in (".dockerconfigjson", ".dockercfg"):
            if key in data:
                try:
                    document = json.loads(base64.b64decode(data[key], validate=True))
                except (binascii.Error, ValueError) as exc:
                    raise ConfigError(
                        f"{source}: {key} is not base64-encoded JSON; recreate the secret with "
                        "kubectl create secret docker-registry"
                    ) from exc
                if not isinstance(document, Mapping):
                    raise ConfigError(f"{source}: {key} must decode to a JSON object")
                self.add_docker_config(document, source=source)
                return
        raise ConfigError(f"{source}: no .dockerconfigjson or .dockercfg key in the secret data")


def _credential_from_entry(entry: Mapping[str, Any], *, key: str, source: str) -> Credential:
    if entry.get("identitytoken"):
        return Credential(
            username=str(entry.get("username", "")), identity_token=str(entry["identitytoken"])
        )
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(str(entry["auth"]), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{source}: the 'auth' value for {key!r} is not base64 of user:password"
            ) from exc
        username, sep, password = decoded.partition(":")
        if not sep:
            raise ConfigError(f"{source}: the 'auth' value for {key!r} has no ':' separator")
        return Credential(username=username, password=password)
    if "username" in entry and "password" in entry:
        return Credential(username=str(entry["username"]), password=str(entry["password"]))
    raise ConfigError(
        f"{source}: entry for {key!r} has neither 'auth' nor 'username'/'password' "
        "(credential helpers are not supported; export the credentials into the file)"
    )
