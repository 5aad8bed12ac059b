"""Secrets shipped in layers: which files are candidates and how they are confirmed.

Owns :class:`SecretHit` and the rules. A candidate is chosen by path or name
(``.env``, ``id_rsa``, ``*.pem``, ``.npmrc``, ``.docker/config.json``, cloud
credential files); where a name alone is ambiguous (a ``.pem`` is usually a
certificate) the first bytes of the file are looked at while the layer streams
and then dropped. Nothing of a secret's contents is ever stored, logged or
returned: a hit is a path and a kind. Library and test directories
(``node_modules``, ``site-packages``, ``tests``) are skipped: their keys are
fixtures, not leaks. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

KEY_NAMES: Final = frozenset(
    {"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk"}
)
KEY_SUFFIXES: Final = (".pem", ".key", ".p8")
ENV_TEMPLATES: Final = frozenset(
    {"example", "sample", "template", "dist", "defaults", "default", "tmpl", "tpl", "schema"}
)
_SKIPPED_DIRS: Final = (
    "node_modules/",
    "site-packages/",
    "dist-packages/",
    "/test/",
    "/tests/",
    "/testdata/",
    "/fixtures/",
    "usr/share/",
    "/gems/",
)
_SA_WORDS: Final = (
    "credential",
    "service-account",
    "service_account",
    "serviceaccount",
    "sa-key",
    "sa_key",
    "gcp-key",
    "keyfile",
)

_CONFIRM: Final[dict[str, re.Pattern[bytes]]] = {
    "private-key": re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"),
    "dotenv": re.compile(rb"(?m)^[ \t]*(?:export[ \t]+)?[A-Za-z_][A-Za-z0-9_.]*[ \t]*=[ \t]*\S"),
    "npmrc": re.compile(rb"(?m)(?:_authToken|_auth|_password)[ \t]*=[ \t]*\S"),
    "pypirc": re.compile(rb"(?m)^[ \t]*password[ \t]*[=:][ \t]*\S"),
    "docker-config": re.compile(rb'"(?:auth|identitytoken|registrytoken)"\s*:\s*"[^"]+"'),
    "aws-credentials": re.compile(rb"(?mi)^[ \t]*aws_secret_access_key[ \t]*=[ \t]*\S"),
    "cloud-credentials": re.compile(rb'"private_key"\s*:\s*"-----BEGIN|"refresh_token"\s*:\s*"'),
    "netrc": re.compile(rb"\bpassword\s+\S"),
    "git-credentials": re.compile(rb"://[^/\s:@]+:[^@\s]+@"),
    "kubeconfig": re.compile(rb"(?m)^\s*(?:token|client-key-data|password):\s*\S"),
}
"""Content checks run on the peeked bytes; a kind missing here is confirmed by name."""

DESCRIPTIONS: Final[dict[str, str]] = {
    "private-key": "private key",
    "dotenv": ".env file with values",
    "npmrc": ".npmrc with a registry token",
    "pypirc": ".pypirc with a password",
    "docker-config": "docker config.json with registry credentials",
    "aws-credentials": "AWS credentials file",
    "cloud-credentials": "cloud service-account credentials",
    "gcloud-credentials": "gcloud credential store",
    "netrc": ".netrc with a password",
    "git-credentials": "git credential store",
    "kubeconfig": "kubeconfig with credentials",
}


@dataclass(frozen=True, slots=True)
class SecretHit:
    """A file that holds a secret; never its contents."""

    path: str
    """Clean path of the file in the layer."""
    kind: str
    """One of the keys of :data:`DESCRIPTIONS`."""
    size: int
    """File size in bytes."""


def secret_candidate(path: str, base: str) -> str | None:
    """Return the secret kind a file could be, judged by its path, or ``None``."""
    if any(skipped in path for skipped in _SKIPPED_DIRS) or path.startswith(
        ("test/", "tests/", "usr/share/")
    ):
        return None
    if base in KEY_NAMES or base.endswith(KEY_SUFFIXES):
        return "private-key"
    if base == ".env" or (
        base.startswith(".env.") and base[5:].lower().rpartition(".")[2] not in ENV_TEMPLATES
    ):
        return "dotenv"
    if base == ".npmrc":
        return "npmrc"
    if base == ".pypirc":
        return "pypirc"
    if base in (".netrc", "_netrc"):
        return "netrc"
    if base == ".git-credentials":
        return "git-credentials"
    if base == "config.json" and path.endswith(".docker/config.json"):
        return "docker-config"
    if base == "credentials" and path.endswith(".aws/credentials"):
        return "aws-credentials"
    if base == "config" and path.endswith(".kube/config"):
        return "kubeconfig"
    if ".config/gcloud/" in path and (
        base in ("credentials.db", "access_tokens.db") or "/legacy_credentials/" in path
    ):
        return "gcloud-credentials"
    if base.endswith(".json"):
        lowered = base.lower()
        if lowered == "application_default_credentials.json" or any(
            word in lowered for word in _SA_WORDS
        ):
            return "cloud-credentials"
    return None


def confirm_secret(kind: str, head: bytes) -> bool:
    """Tell whether the first bytes of a candidate confirm it holds a secret.

    ``head`` must be dropped by the caller right after; it is never stored.
    """
    pattern = _CONFIRM.get(kind)
    if pattern is None:
        return True
    return pattern.search(head) is not None


def needs_content(kind: str) -> bool:
    """Tell whether a candidate kind is confirmed by looking at its bytes."""
    return kind in _CONFIRM
