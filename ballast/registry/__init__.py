"""Registry access: the only part of ballast that speaks HTTP to registries.

``client`` owns the httpx client (timeouts, retries, redirects, size caps,
digest verification), ``auth`` the challenge/token dance, ``credentials``
where usernames and passwords come from, ``guard`` which hosts may be
contacted at all, and ``media`` the raw JSON shapes and media types.
"""

from __future__ import annotations

from ballast.registry.client import ManifestDocument, RegistryClient
from ballast.registry.credentials import CredentialStore

__all__ = ["CredentialStore", "ManifestDocument", "RegistryClient"]
