"""Build ballast's real services against the test registries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ballast.services import Services, open_services
from ballast.settings import load_settings
from tests.support.registry import LocalRegistry

ServicesFactory = Callable[..., Services]


@pytest.fixture
def make_services(tmp_path: Path) -> Iterator[ServicesFactory]:
    """``make_services(reg, cache=PATH, env={...})``: services trusting ``reg`` over plain HTTP."""
    opened: list[Services] = []

    def factory(
        reg: LocalRegistry,
        *,
        cache: Path | str | None = None,
        env: dict[str, str] | None = None,
        **registry_overrides: Any,
    ) -> Services:
        environ = {
            "HOME": str(tmp_path / "home"),
            "BALLAST_INSECURE_REGISTRIES": reg.host,
            "BALLAST_CACHE_PATH": str(cache or tmp_path / "facts.db"),
            **(env or {}),
        }
        settings = load_settings(environ, overrides={"registry": registry_overrides})
        services = open_services(settings, environ)
        opened.append(services)
        return services

    yield factory
    for services in opened:
        services.close()
