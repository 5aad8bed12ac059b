"""Real OCI registries on loopback for tests and benchmarks: the one entry point.

:func:`start_registry` runs Debian's ``docker-registry`` (CNCF distribution 2.8.2) with its
own config, behind a :class:`~tests.support.proxy.CountingProxy`, optionally with Basic
(htpasswd) or token (:class:`~tests.support.token_server.TokenServer`) auth. Processes are
stopped by PID, on ``stop()``, on context exit and at interpreter exit, and (when started
from the main thread) die with the test process even if it is killed.

This module also re-exports the push helpers (``push_image`` …), the skopeo wrappers and
the socket helpers, so tests need one import. It never imports ``ballast``.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import httpx

from tests.support.images import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    MANIFEST_ACCEPT,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    OCI_LAYER_ZSTD,
    OCI_MANIFEST,
    FileEntry,
    Hardlink,
    PushedImage,
    PushedIndex,
    Symlink,
    build_config,
    make_tar_layer,
    push_blob,
    push_image,
    push_index,
    push_manifest,
    sha256_digest,
)
from tests.support.proxy import STALLED, CountingProxy, Failure, Tamper
from tests.support.sockets import (
    LOOPBACK,
    StalledServer,
    free_port,
    refusing_address,
    stalled_server,
)
from tests.support.token_server import DEFAULT_EXPIRES_IN_S, ISSUER, SERVICE, TokenServer

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_USERNAME",
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "DOCKER_LAYER_GZIP",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "MANIFEST_ACCEPT",
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_GZIP",
    "OCI_LAYER_ZSTD",
    "OCI_MANIFEST",
    "STALLED",
    "AuthMode",
    "CountingProxy",
    "Failure",
    "FileEntry",
    "Hardlink",
    "LocalRegistry",
    "PushedImage",
    "PushedIndex",
    "StalledServer",
    "Symlink",
    "Tamper",
    "TokenServer",
    "build_config",
    "make_tar_layer",
    "push_blob",
    "push_image",
    "push_index",
    "push_manifest",
    "refusing_address",
    "sha256_digest",
    "skopeo_copy",
    "skopeo_inspect",
    "stalled_server",
    "start_registry",
]

AuthMode = Literal["none", "basic", "token"]
DEFAULT_USERNAME = "ballast"
DEFAULT_PASSWORD = "s3cret-pass"
REGISTRY_BIN = "docker-registry"
HTPASSWD_COST = 4
"""The lowest bcrypt cost: the registry checks the password on every request, and the
default cost makes authenticated traffic CPU-bound (REAL-SERVICES.md, Pitfalls)."""

_live: set[LocalRegistry] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_leftovers() -> None:
    """Last line of defence: a registry whose fixture never tore down is stopped here."""
    with _live_lock:
        leftovers = list(_live)
    for reg in leftovers:
        with contextlib.suppress(Exception):
            reg.stop()


class LocalRegistry:
    """A running registry, its proxy and (token mode) its token server.

    ``host``/``url`` point at the counting proxy: give those to the code under test.
    ``registry_host``/``registry_url`` are the raw registry (uncounted).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        auth: AuthMode = "none",
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        startup_timeout_s: float = 10.0,
    ) -> None:
        self.auth: AuthMode = auth
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.config_path = workdir / "config.yml"
        self.log_path = workdir / "registry.log"
        self.startup_timeout_s = startup_timeout_s
        self.username: str | None = username if auth != "none" else None
        self.password: str | None = password if auth != "none" else None
        self.process: subprocess.Popen[bytes] | None = None
        self._registry_port = free_port()
        self._secret = secrets.token_hex(16)
        self.proxy = CountingProxy(self.registry_host)
        self.token_server: TokenServer | None = None
        if auth == "token":
            self.token_server = TokenServer(
                workdir / "token-root.pem", username=username, password=password
            )
        self._clients: dict[bool, httpx.Client] = {}
        self._clients_lock = threading.Lock()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT`` of the counting proxy."""
        return self.proxy.host

    @property
    def url(self) -> str:
        return f"http://{self.proxy.host}"

    @property
    def registry_host(self) -> str:
        return f"{LOOPBACK}:{self._registry_port}"

    @property
    def registry_url(self) -> str:
        return f"http://{self.registry_host}"

    @property
    def creds(self) -> tuple[str, str] | None:
        """``(username, password)`` for basic/token modes, else None."""
        if self.username is None or self.password is None:
            return None
        return self.username, self.password

    def ref(self, repo: str, ref: str = "latest") -> str:
        """An image reference through the proxy: ``ref`` is a tag or a ``sha256:`` digest."""
        sep = "@" if ref.startswith("sha256:") else ":"
        return f"{self.host}/{repo}{sep}{ref}"

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None and self.proxy.is_running

    def start(self) -> LocalRegistry:
        """Start whatever is not running (token server, registry, proxy); idempotent."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        if self.token_server is not None:
            self.token_server.start()
        if self.process is None or self.process.poll() is not None:
            self._start_process()
        self.proxy.upstream_host = self.registry_host
        self.proxy.start()
        with _live_lock:
            _live.add(self)
        return self

    def stop(self) -> None:
        """Stop the registry (by PID), the proxy and the token server; data stays on disk."""
        self._stop_process()
        self.proxy.stop()
        if self.token_server is not None:
            self.token_server.stop()
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
        with _live_lock:
            _live.discard(self)

    def restart(self) -> None:
        """Restart the registry process on the same port and data (the proxy keeps its port
        and its client connections; in-flight requests fail). Starts anything stopped."""
        self._stop_process()
        self.start()

    def crash(self) -> None:
        """SIGKILL the registry process but keep the proxy up: clients then get 502 from the
        proxy (a registry dead behind its load balancer). ``restart()`` brings it back."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.kill()
        if proc is not None:
            proc.wait()

    def ensure_running(self) -> None:
        if not self.is_running or (self.token_server and not self.token_server.is_running):
            self.start()

    def __enter__(self) -> LocalRegistry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _write_config(self) -> None:
        http: dict[str, Any] = {"addr": self.registry_host, "secret": self._secret}
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.data_dir)},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": http,
        }
        if self.auth == "basic":
            htpasswd = self.workdir / "htpasswd"
            assert self.username is not None and self.password is not None
            line = subprocess.run(
                ["htpasswd", "-Bbn", "-C", str(HTPASSWD_COST), self.username, self.password],
                check=True,
                capture_output=True,
            ).stdout
            htpasswd.write_bytes(line.strip() + b"\n")
            config["auth"] = {"htpasswd": {"realm": "ballast-test", "path": str(htpasswd)}}
        elif self.auth == "token":
            assert self.token_server is not None
            config["auth"] = {
                "token": {
                    "realm": self.token_server.realm,
                    "service": SERVICE,
                    "issuer": ISSUER,
                    "rootcertbundle": str(self.token_server.cert_path),
                }
            }
        # JSON is YAML: no quoting surprises with paths.
        self.config_path.write_text(json.dumps(config, indent=2))

    def _start_process(self) -> None:
        for attempt in range(3):
            if attempt:
                self._registry_port = free_port()  # our port was taken while we were down
            self._write_config()
            cmd = [REGISTRY_BIN, "serve", str(self.config_path)]
            if threading.current_thread() is threading.main_thread() and shutil.which("setpriv"):
                # Die with the test process even on SIGKILL. Only from the main thread: the
                # signal fires when the *thread* that forked exits.
                cmd = ["setpriv", "--pdeathsig", "TERM", *cmd]
            with self.log_path.open("ab") as log:
                proc = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
                )
            if self._wait_ready(proc):
                self.process = proc
                return
            if proc.poll() is None:
                proc.kill()
                proc.wait()
                raise RuntimeError(
                    f"registry on {self.registry_host} not ready after "
                    f"{self.startup_timeout_s}s:\n{self.log_tail()}"
                )
            proc.wait()
            if "address already in use" not in self.log_tail():
                break
        raise RuntimeError(f"registry on {self.registry_host} exited:\n{self.log_tail()}")

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> bool:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            conn = http.client.HTTPConnection(self.registry_host, timeout=1)
            try:
                conn.request("GET", "/v2/")
                status = conn.getresponse().status
                if status in (200, 401):
                    return True
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.005)
        return False

    def _stop_process(self) -> None:
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        """The end of the registry's own log (stdout and stderr), for failure messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- the proxy's counts and knobs ------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """``(method, path_with_query, status)`` for every request through the proxy."""
        return self.proxy.requests

    def count(self, method: str | None = None, path_contains: str | None = None) -> int:
        return self.proxy.count(method, path_contains)

    @property
    def token_requests(self) -> list[tuple[str, bool]]:
        """``(scope, authenticated)`` per token request (always empty unless token mode)."""
        return self.token_server.requests if self.token_server is not None else []

    def reset_counts(self) -> None:
        """Forget proxy and token-server counts (knobs untouched)."""
        self.proxy.reset_counts()
        if self.token_server is not None:
            self.token_server.requests.clear()

    def reset(self) -> None:
        """Counts and every misbehaviour knob back to normal; stalled requests released."""
        self.proxy.reset()
        if self.token_server is not None:
            self.token_server.requests.clear()
            self.token_server.expires_in_s = DEFAULT_EXPIRES_IN_S

    @property
    def tamper(self) -> Tamper | None:
        return self.proxy.tamper

    @tamper.setter
    def tamper(self, value: Tamper | None) -> None:
        self.proxy.tamper = value

    @property
    def stall_paths(self) -> set[str]:
        return self.proxy.stall_paths

    @stall_paths.setter
    def stall_paths(self, value: set[str]) -> None:
        self.proxy.stall_paths = value

    @property
    def fail_next(self) -> list[Failure]:
        return self.proxy.fail_next

    @fail_next.setter
    def fail_next(self, value: list[Failure]) -> None:
        self.proxy.fail_next = value

    @property
    def truncate_paths(self) -> set[str]:
        return self.proxy.truncate_paths

    @truncate_paths.setter
    def truncate_paths(self, value: set[str]) -> None:
        self.proxy.truncate_paths = value

    @property
    def delay_s(self) -> float:
        return self.proxy.delay_s

    @delay_s.setter
    def delay_s(self, value: float) -> None:
        self.proxy.delay_s = value

    # -- clients for the helpers -------------------------------------------------------------

    def api_client(self, *, via_proxy: bool = False) -> httpx.Client:
        """A kept-alive httpx client for the push helpers (Basic auth preset in basic mode;
        token mode uses :meth:`auth_headers`). Closed by ``stop()``."""
        with self._clients_lock:  # push_image uploads from several threads
            client = self._clients.get(via_proxy)
            if client is None:
                auth = httpx.BasicAuth(*self.creds) if self.auth == "basic" and self.creds else None
                client = httpx.Client(
                    base_url=self.url if via_proxy else self.registry_url,
                    auth=auth,
                    timeout=60,
                )
                self._clients[via_proxy] = client
            return client

    def auth_headers(self, repo: str) -> dict[str, str]:
        """Headers that let the helpers push to ``repo`` (a minted, uncounted bearer token
        in token mode; nothing otherwise)."""
        if self.token_server is None:
            return {}
        return {"Authorization": f"Bearer {self.token_server.mint_for(repo)}"}

    def __repr__(self) -> str:
        return (
            f"LocalRegistry(auth={self.auth!r}, host={self.host!r}, "
            f"registry={self.registry_host!r})"
        )


def start_registry(
    tmpdir: Path | str,
    *,
    auth: AuthMode = "none",
    username: str = DEFAULT_USERNAME,
    password: str = DEFAULT_PASSWORD,
    startup_timeout_s: float = 10.0,
) -> LocalRegistry:
    """Start a registry (plus proxy and, for ``auth="token"``, a token server) whose data
    lives in ``tmpdir``; returns once ``GET /v2/`` answers (200, or 401 with auth).
    Use it as a context manager, or call ``stop()``. Raises RuntimeError with the
    registry's log when it cannot start."""
    reg = LocalRegistry(
        Path(tmpdir),
        auth=auth,
        username=username,
        password=password,
        startup_timeout_s=startup_timeout_s,
    )
    try:
        return reg.start()
    except BaseException:
        reg.stop()
        raise


# -- skopeo -----------------------------------------------------------------------------------


def _skopeo_creds(reg: LocalRegistry, creds: str | None) -> list[str]:
    if creds is not None:
        return [creds]
    if reg.token_server is not None:
        # The internal account: skopeo's token requests then stay out of token_requests.
        return [f"{reg.token_server.internal_username}:{reg.token_server.internal_password}"]
    if reg.creds is not None:
        return [f"{reg.creds[0]}:{reg.creds[1]}"]
    return []


def _run_skopeo(args: list[str], timeout_s: float) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(
        ["skopeo", "--insecure-policy", *args], capture_output=True, timeout=timeout_s
    )
    if proc.returncode != 0:
        shown = [
            "***" if prev.endswith("creds") else arg
            for prev, arg in zip(["", *args[:-1]], args, strict=True)
        ]
        raise RuntimeError(
            f"skopeo {' '.join(shown)} failed ({proc.returncode}): "
            f"{proc.stderr.decode(errors='replace').strip()}"
        )
    return proc


def skopeo_copy(
    src: str,
    reg: LocalRegistry,
    dest_repo_tag: str,
    *,
    all_platforms: bool = False,
    format: Literal["oci", "v2s2"] | None = None,
    creds: str | None = None,
    via_proxy: bool = False,
    timeout_s: float = 120.0,
) -> str:
    """``skopeo copy SRC docker://REGISTRY/DEST_REPO_TAG``; returns the pushed manifest digest.

    ``src`` is any skopeo transport (``docker-archive:FILE.tar``, ``oci-archive:FILE.tar``,
    ``oci:DIR:TAG``). Goes to the raw registry unless ``via_proxy``; ``creds`` ("user:pass")
    defaults to the registry's own (in token mode an uncounted internal account).
    """
    host = reg.host if via_proxy else reg.registry_host
    with tempfile.TemporaryDirectory(prefix="skopeo-") as tmp:
        digest_file = Path(tmp) / "digest"
        args = ["copy", "--quiet", "--dest-tls-verify=false", "--digestfile", str(digest_file)]
        if all_platforms:
            args.append("--all")
        if format is not None:
            args += ["--format", format]
        for value in _skopeo_creds(reg, creds):
            args += ["--dest-creds", value]
        args += [src, f"docker://{host}/{dest_repo_tag}"]
        _run_skopeo(args, timeout_s)
        return digest_file.read_text().strip()


def skopeo_inspect(
    reg: LocalRegistry,
    repo_ref: str,
    *,
    raw: bool = False,
    config: bool = False,
    creds: str | None = None,
    via_proxy: bool = False,
    timeout_s: float = 60.0,
) -> Any:
    """``skopeo inspect docker://REGISTRY/REPO_REF`` parsed from JSON (``repo:tag`` or
    ``repo@sha256:…``); ``raw`` gives the manifest, ``config`` the image config."""
    host = reg.host if via_proxy else reg.registry_host
    args = ["inspect", "--tls-verify=false"]
    if raw:
        args.append("--raw")
    if config:
        args.append("--config")
    for value in _skopeo_creds(reg, creds):
        args += ["--creds", value]
    args.append(f"docker://{host}/{repo_ref}")
    return json.loads(_run_skopeo(args, timeout_s).stdout)
