"""Load the registry fixtures for the self-tests, unless the root conftest already did.

``pytest_plugins`` is only allowed in the root conftest, and a star import here would
duplicate the session registries when the root conftest loads the plugin too.
"""

from __future__ import annotations

import sys

import pytest

PLUGIN = "tests.support.fixtures"


def pytest_configure(config: pytest.Config) -> None:
    # Already a plugin (root ``pytest_plugins``) or star-imported into the root conftest.
    if not config.pluginmanager.has_plugin(PLUGIN) and PLUGIN not in sys.modules:
        config.pluginmanager.import_plugin(PLUGIN)
