"""pytest fixtures over :mod:`tests.support.registry`: one registry per auth mode per session.

Wire them in with ``pytest_plugins = ["tests.support.fixtures"]`` (or a star import) in a
conftest. The session-scoped ``*_session`` fixtures start each registry once; the
function-scoped ``registry`` / ``basic_registry`` / ``token_registry`` hand the same
registry to a test after resetting the proxy's counts and misbehaviour knobs (and again
after the test, which also releases stalled requests). A test that stopped its registry
gets it started again. Data lives in /dev/shm when there is one (blob uploads are about
twice as fast there) and is removed at the end of the session.
"""

from __future__ import annotations

import itertools
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.registry import (
    AuthMode,
    LocalRegistry,
    StalledServer,
    refusing_address,
    stalled_server,
    start_registry,
)

__all__ = [
    "basic_registry",
    "basic_registry_session",
    "refused_address",
    "registry",
    "registry_session",
    "stalled_address",
    "token_registry",
    "token_registry_session",
    "unique_public_repo",
    "unique_repo",
]

_FAST_TMP = Path("/dev/shm")
_repo_counter = itertools.count(1)


def _run_session_registry(
    tmp_path_factory: pytest.TempPathFactory, auth: AuthMode
) -> Iterator[LocalRegistry]:
    if _FAST_TMP.is_dir():
        workdir = Path(tempfile.mkdtemp(prefix=f"ballast-registry-{auth}-", dir=_FAST_TMP))
    else:
        workdir = tmp_path_factory.mktemp(f"registry-{auth}")
    try:
        with start_registry(workdir, auth=auth) as reg:
            yield reg
    finally:
        if workdir.is_relative_to(_FAST_TMP):
            shutil.rmtree(workdir, ignore_errors=True)


def _fresh(reg: LocalRegistry) -> Iterator[LocalRegistry]:
    reg.ensure_running()
    reg.reset()
    yield reg
    reg.reset()


@pytest.fixture(scope="session")
def registry_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """The anonymous registry, shared by the session (counts are *not* reset for you)."""
    yield from _run_session_registry(tmp_path_factory, "none")


@pytest.fixture(scope="session")
def basic_registry_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """The htpasswd registry (``ballast`` / ``s3cret-pass``), shared by the session."""
    yield from _run_session_registry(tmp_path_factory, "basic")


@pytest.fixture(scope="session")
def token_registry_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """The bearer-token registry (``public/*`` anonymous pull), shared by the session."""
    yield from _run_session_registry(tmp_path_factory, "token")


@pytest.fixture
def registry(registry_session: LocalRegistry) -> Iterator[LocalRegistry]:
    """The anonymous registry with zeroed counts and no misbehaviour."""
    yield from _fresh(registry_session)


@pytest.fixture
def basic_registry(basic_registry_session: LocalRegistry) -> Iterator[LocalRegistry]:
    """The Basic-auth registry with zeroed counts and no misbehaviour."""
    yield from _fresh(basic_registry_session)


@pytest.fixture
def token_registry(token_registry_session: LocalRegistry) -> Iterator[LocalRegistry]:
    """The token-auth registry with zeroed proxy and token-server counts."""
    yield from _fresh(token_registry_session)


def _repo_slug(request: pytest.FixtureRequest) -> str:
    """The test's name as a valid repository path component (lowercase, ``[a-z0-9-]``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60].strip("-")
    return f"{slug or 'test'}-{next(_repo_counter)}"


@pytest.fixture
def unique_repo(request: pytest.FixtureRequest) -> str:
    """A repository name no other test uses: ``t/<test-name>-<n>`` (private in token mode)."""
    return f"t/{_repo_slug(request)}"


@pytest.fixture
def unique_public_repo(request: pytest.FixtureRequest) -> str:
    """Like ``unique_repo`` but under ``public/``: anonymously pullable in token mode."""
    return f"public/{_repo_slug(request)}"


@pytest.fixture
def stalled_address() -> Iterator[StalledServer]:
    """A server that accepts connections and never answers (``.host``, ``.url``)."""
    with stalled_server() as server:
        yield server


@pytest.fixture
def refused_address() -> str:
    """``127.0.0.1:PORT`` where connections are refused."""
    return refusing_address()
