"""Run the webhook under gunicorn over TLS, from Python (``ballast webhook``).

gthread workers keep TLS connections alive (the API server reuses them), and
their threads let one worker wait on registries for several admissions at
once. Graceful shutdown: on SIGTERM gunicorn stops accepting and lets
in-flight admissions finish within ``graceful_timeout``.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from webhook.tls import CertificatePair, ReloadingContext


def _forget_worker_metrics(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the shared metrics directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


class WebhookServer(BaseApplication):  # type: ignore[misc]
    """A gunicorn application whose WSGI app comes from a factory called in each worker."""

    def __init__(
        self,
        app_factory: Callable[[], Flask],
        *,
        bind: str,
        certificate: CertificatePair,
        workers: int = 2,
        threads: int = 8,
        graceful_timeout_s: int = 30,
    ) -> None:
        self._factory = app_factory
        self._tls = ReloadingContext(certificate)
        self._options: dict[str, Any] = {
            "bind": [bind],
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "certfile": str(certificate.cert),
            "keyfile": str(certificate.key),
            "ssl_context": self._ssl_context,
            "graceful_timeout": graceful_timeout_s,
            "timeout": 60,
            "keepalive": 75,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "ballast-webhook",
            # Build the app in each worker: thread pools and sockets do not survive fork.
            "preload_app": False,
            "child_exit": _forget_worker_metrics,
        }
        super().__init__()

    def _ssl_context(self, conf: Any, default_factory: Callable[[], ssl.SSLContext]) -> Any:
        return self._tls.current()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._factory()
