"""Wire settings into the long-lived objects every front end uses.

One place builds the credential store, the registry client, the cache and
the lookup from Settings, so the CLI, the webhook and the auditor behave the
same way with the same configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ballast._errors import ConfigError
from ballast.cache import FactsCache, open_store
from ballast.layer_store import LayerStore
from ballast.lookup import FactsLookup
from ballast.registry.client import RegistryClient, ResponseObserver
from ballast.registry.credentials import CredentialStore
from ballast.settings import Settings

DEFAULT_DOCKER_CONFIG = "~/.docker/config.json"


@dataclass(slots=True)
class Services:
    """The objects shared by one process; close them when the process ends."""

    settings: Settings
    client: RegistryClient
    cache: FactsCache
    lookup: FactsLookup
    layers: LayerStore

    def close(self) -> None:
        self.client.close()
        self.cache.close()


def open_services(
    settings: Settings,
    environ: Mapping[str, str],
    *,
    observer: ResponseObserver | None = None,
) -> Services:
    """Build client, cache and lookup; raises ConfigError/CacheError with what to fix."""
    credentials = CredentialStore()
    auth_file = settings.registry.auth_file
    if auth_file:
        if not Path(auth_file).expanduser().exists():
            raise ConfigError(
                f"registry auth file {auth_file} does not exist; fix BALLAST_REGISTRY_AUTH_FILE"
            )
        credentials.add_docker_config_file(auth_file)
    else:
        home_config = Path(environ.get("HOME", "~")) / ".docker" / "config.json"
        credentials.add_docker_config_file(home_config)
    client = RegistryClient(settings.registry, credentials=credentials, observer=observer)
    cache = FactsCache(
        open_store(
            settings.cache.url or settings.cache.resolved_path(environ),
            local_path=settings.cache.resolved_path(environ),
        ),
        lru_entries=settings.cache.lru_entries,
    )
    lookup = FactsLookup(
        client,
        cache,
        platforms=settings.registry.platforms,
        tag_ttl_s=settings.cache.tag_ttl_s,
        negative_ttl_s=settings.cache.negative_ttl_s,
        config_max_bytes=settings.registry.config_max_bytes,
    )
    layers = LayerStore(client, cache)
    return Services(settings=settings, client=client, cache=cache, lookup=lookup, layers=layers)
