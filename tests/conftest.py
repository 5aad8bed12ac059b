"""Fixtures shared by every test folder: the real registries live in tests/support."""

from __future__ import annotations

pytest_plugins = ["tests.support.fixtures"]
