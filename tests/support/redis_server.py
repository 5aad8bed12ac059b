"""A real Redis server on loopback for tests: start, kill, restart, by PID.

:class:`LocalRedis` runs Debian's ``redis-server`` (REAL-SERVICES.md) on its own
port with no persistence (``--save '' --appendonly no``), in its own directory.
``kill()`` is a crash (SIGKILL, the data is gone, like a pod that was
rescheduled); ``start()`` brings it back on the same port. Processes are stopped
by PID on ``stop()``, on context exit and at interpreter exit, and (when
started from the main thread) die with the test process. Administration goes
through ``redis-cli``, so this module needs no Python Redis client and never
imports ``ballast``.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from tests.support.sockets import LOOPBACK, free_port

REDIS_BIN = "redis-server"
REDIS_CLI = "redis-cli"
STARTUP_TIMEOUT_S = 10.0

_live: set[LocalRedis] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_leftovers() -> None:
    """Last line of defence: a server whose fixture never tore down is stopped here."""
    with _live_lock:
        leftovers = list(_live)
    for server in leftovers:
        with contextlib.suppress(Exception):
            server.stop()


class LocalRedis:
    """One ``redis-server`` process; ``url`` is what the code under test is given."""

    def __init__(
        self,
        workdir: Path,
        *,
        password: str | None = None,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
    ) -> None:
        self.workdir = workdir
        self.password = password
        """``requirepass``: clients must send it (``redis://:PASSWORD@HOST:PORT/DB``)."""
        self.log_path = workdir / "redis.log"
        self.startup_timeout_s = startup_timeout_s
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"{LOOPBACK}:{self.port}"

    def url(self, db: int = 0) -> str:
        """``redis://[:PASSWORD@]127.0.0.1:PORT/DB``."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}/{db}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "redis-server is not running"
        return self.process.pid

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LocalRedis:
        """Start the server on its port (again, after ``kill``/``stop``); idempotent."""
        if self.is_running:
            return self
        self.workdir.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):
            if attempt:
                self.port = free_port()  # our port was taken while we were down
            cmd = [
                REDIS_BIN,
                "--bind",
                LOOPBACK,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--logfile",
                "",
            ]
            if self.password:
                cmd += ["--requirepass", self.password]
            if threading.current_thread() is threading.main_thread() and shutil.which("setpriv"):
                # Die with the test process even on SIGKILL (see tests.support.registry).
                cmd = ["setpriv", "--pdeathsig", "TERM", *cmd]
            with self.log_path.open("ab") as log:
                proc = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
                )
            if self._wait_ready(proc):
                self.process = proc
                with _live_lock:
                    _live.add(self)
                return self
            if proc.poll() is None:
                proc.kill()
                proc.wait()
                raise RuntimeError(
                    f"redis-server on {self.host} not ready after {self.startup_timeout_s}s:\n"
                    f"{self.log_tail()}"
                )
            proc.wait()
            if "address already in use" not in self.log_tail().lower():
                break
        raise RuntimeError(f"redis-server on {self.host} exited:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL by PID: a crash; every key is gone and clients see refused connections."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.kill()
        if proc is not None:
            proc.wait()

    def stop(self) -> None:
        """SIGTERM by PID (SIGKILL if it lingers)."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with _live_lock:
            _live.discard(self)

    def ensure_running(self) -> LocalRedis:
        return self.start()

    def __enter__(self) -> LocalRedis:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> bool:
        """Poll PING over a raw socket (``+PONG``) until the server answers."""
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    # -NOAUTH also means it is serving (with a password).
                    if sock.recv(64).startswith((b"+PONG", b"-NOAUTH")):
                        return True
            except OSError:
                pass
            time.sleep(0.005)
        return False

    # -- administration ----------------------------------------------------------------------

    def cli(self, *args: str) -> str:
        """Run ``redis-cli -p PORT ARGS…`` and return its output (raises if it fails)."""
        auth = ["--no-auth-warning", "-a", self.password] if self.password else []
        result = subprocess.run(
            [REDIS_CLI, "-h", LOOPBACK, "-p", str(self.port), *auth, *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        return result.stdout.strip()

    def flush(self) -> None:
        """Forget every key in every database."""
        self.cli("FLUSHALL")

    def keys(self, pattern: str = "*", *, db: int = 0) -> list[str]:
        output = self.cli("-n", str(db), "--scan", "--pattern", pattern)
        return sorted(line for line in output.splitlines() if line)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def start_redis(workdir: Path, *, password: str | None = None) -> Iterator[LocalRedis]:
    """A running :class:`LocalRedis` for the duration of the block, stopped by PID after."""
    server = LocalRedis(workdir, password=password)
    server.start()
    try:
        yield server
    finally:
        server.stop()
