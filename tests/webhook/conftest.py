"""Live webhook servers for the end-to-end tests: ``ballast webhook`` under gunicorn, real TLS.

:func:`launch_webhook` starts the real command line (``.venv/bin/ballast … webhook``) as a
subprocess with its own certificate, policy file, SQLite facts cache and Prometheus
multiprocess directory, all in one work directory, and returns a :class:`LiveWebhook` that
knows how to talk to it (an httpx client that verifies the server certificate), how to read
its metrics and how to stop it (SIGTERM by PID, SIGKILL only if it hangs). The
``webhook_launcher`` fixture stops whatever a module started when the module ends.

The unit tests of this folder (``test_admission*.py``, ``test_workloads.py``) use none of
this; it is only imported through fixtures.
"""

from __future__ import annotations

import contextlib
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.sockets import free_port

BALLAST_BIN = Path(sys.executable).with_name("ballast")
"""The console script next to the interpreter running the tests (``.venv/bin/ballast``)."""
STARTUP_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 15.0


def server_context(*cafiles: Path) -> ssl.SSLContext:
    """A client TLS context that trusts exactly ``cafiles`` (the self-signed certificates)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    for cafile in cafiles:
        context.load_verify_locations(cafile=str(cafile))
    return context


@dataclass
class LiveWebhook:
    """One ``ballast webhook`` process and everything it was given."""

    name: str
    workdir: Path
    port: int
    cert: Path
    key: Path
    policy: Path
    cache: Path
    metrics_dir: Path
    log_path: Path
    env: dict[str, str]
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    _clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, f"webhook {self.name} was never started"
        return self.process.pid

    def client(self, *, cafiles: tuple[Path, ...] = (), timeout_s: float = 15.0) -> httpx.Client:
        """An httpx client that verifies the server against its certificate (kept alive)."""
        client = httpx.Client(
            base_url=self.url,
            verify=server_context(*(cafiles or (self.cert,))),
            timeout=timeout_s,
        )
        self._clients.append(client)
        return client

    def start(self) -> LiveWebhook:
        """Spawn the process; returns at once (see :meth:`wait_ready`)."""
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                self.args,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        finally:
            log.close()
        return self

    def wait_ready(self, *, timeout_s: float = STARTUP_TIMEOUT_S) -> LiveWebhook:
        """Poll ``/healthz`` over TLS until it answers 200; fail with the log otherwise."""
        deadline = time.monotonic() + timeout_s
        with httpx.Client(verify=server_context(self.cert), timeout=2.0) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    pytest.fail(
                        f"webhook {self.name} exited with {self.process.returncode} at start:\n"
                        f"{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        return self
                time.sleep(0.05)
        pytest.fail(f"webhook {self.name} not healthy after {timeout_s}s:\n{self.log_tail()}")

    def ensure_running(self) -> LiveWebhook:
        """Start it again (same port, files and cache) if a test stopped it."""
        if self.process is None or self.process.poll() is not None:
            self.close_clients()
            self.start().wait_ready()
        return self

    def close_clients(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()

    def terminate(self) -> None:
        """Send SIGTERM (gunicorn's graceful stop) without waiting."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def stop(self, *, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM, wait, SIGKILL the group if it hangs; returns the exit code (None: killed)."""
        self.close_clients()
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                return proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL the master and its workers (children found through /proc, by PID)."""
        proc = self.process
        if proc is None:
            return
        for pid in [*child_pids(proc.pid), proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()

    def worker_pids(self) -> list[int]:
        return child_pids(self.pid)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (gunicorn's workers), from /proc."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children += [int(p) for p in (task / "children").read_text().split()]
    return children


def launch_webhook(
    workdir: Path,
    *,
    name: str,
    policy_text: str,
    insecure_registries: str,
    workers: int = 2,
    threads: int | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> LiveWebhook:
    """Write certificate, policy and env for one webhook in ``workdir`` and spawn it."""
    from webhook.tls import write_self_signed

    workdir.mkdir(parents=True, exist_ok=True)
    pair = write_self_signed(workdir / "tls")
    policy = workdir / "policy.yaml"
    policy.write_text(policy_text)
    metrics_dir = workdir / "metrics"
    metrics_dir.mkdir(exist_ok=True)
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BALLAST_") and key != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        {
            "HOME": str(workdir),  # no ~/.docker/config.json of the machine
            "BALLAST_INSECURE_REGISTRIES": insecure_registries,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            **(extra_env or {}),
        }
    )
    cache = workdir / "facts.db"
    args = [
        str(BALLAST_BIN),
        "--cache",
        str(cache),
        "webhook",
        "--bind",
        f"127.0.0.1:{port}",
        "--cert",
        str(pair.cert),
        "--key",
        str(pair.key),
        "--policy",
        str(policy),
        "--workers",
        str(workers),
    ]
    if threads is not None:
        args += ["--threads", str(threads)]
    live = LiveWebhook(
        name=name,
        workdir=workdir,
        port=port,
        cert=pair.cert,
        key=pair.key,
        policy=policy,
        cache=cache,
        metrics_dir=metrics_dir,
        log_path=workdir / "webhook.log",
        env=env,
        args=args,
    )
    return live.start()


class WebhookLauncher:
    """Starts webhooks for a module and stops every one of them at the end."""

    def __init__(self, base: Path) -> None:
        self._base = base
        self.started: list[LiveWebhook] = []

    def __call__(
        self,
        name: str,
        *,
        policy_text: str,
        insecure_registries: str,
        workers: int = 2,
        threads: int | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> LiveWebhook:
        live = launch_webhook(
            self._base / name,
            name=name,
            policy_text=policy_text,
            insecure_registries=insecure_registries,
            workers=workers,
            threads=threads,
            extra_env=extra_env,
        )
        self.started.append(live)
        return live

    def stop_all(self) -> None:
        """SIGTERM every one first, then wait: they stop in parallel."""
        for live in self.started:
            live.close_clients()
            if live.process is not None and live.process.poll() is None:
                live.terminate()
        for live in self.started:
            live.stop()


@pytest.fixture(scope="module")
def webhook_launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookLauncher]:
    """Call it to start ``ballast webhook`` processes; all are stopped when the module ends."""
    base = tmp_path_factory.mktemp("webhooks")
    launcher = WebhookLauncher(base)
    try:
        yield launcher
    finally:
        launcher.stop_all()
