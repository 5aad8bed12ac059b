"""Fixtures for the auditor tests: ballast services on the test registry, a local API server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ballast.services import Services, open_services
from ballast.settings import load_settings
from tests.auditor.apiserver import LocalApiServer, local_api_server
from tests.support.registry import LocalRegistry

TODAY = dt.date(2026, 6, 15)
NOW = dt.datetime(2026, 6, 15, 9, 30, tzinfo=dt.UTC)

ServicesFactory = Callable[..., Services]


@pytest.fixture
def make_services(tmp_path: Path) -> Iterator[ServicesFactory]:
    """``make_services(reg, *extra_hosts, **registry_overrides)``: real services that reach
    ``reg`` (and ``extra_hosts``) over plain HTTP, with a fresh SQLite cache."""
    opened: list[Services] = []

    def factory(reg: LocalRegistry, *extra_hosts: str, **registry_overrides: Any) -> Services:
        environ = {
            "HOME": str(tmp_path / "home"),
            "BALLAST_INSECURE_REGISTRIES": ",".join([reg.host, *extra_hosts]),
            "BALLAST_CACHE_PATH": str(tmp_path / f"facts-{len(opened)}.db"),
        }
        settings = load_settings(environ, overrides={"registry": registry_overrides})
        services = open_services(settings, environ)
        opened.append(services)
        return services

    yield factory
    for services in opened:
        services.close()


@pytest.fixture
def api_server() -> Iterator[LocalApiServer]:
    """A local server answering with real Kubernetes API shapes (see apiserver.py)."""
    with local_api_server() as server:
        yield server


@pytest.fixture
def kubeconfig(api_server: LocalApiServer, tmp_path: Path, refused_address: str) -> Path:
    """A kubeconfig whose current context ``local`` points at ``api_server``; its context
    ``elsewhere`` points where connections are refused."""
    return api_server.write_kubeconfig(tmp_path / "kubeconfig", elsewhere=refused_address)
