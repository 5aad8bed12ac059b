"""The auditor's HTTP endpoint: /metrics for Prometheus, /healthz and /readyz for Kubernetes.

A few requests a minute do not need a framework: the standard library's
WSGI server, one thread per request, no Flask (the auditor never imports it).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from auditor.runner import RunnerState

StartResponse = Callable[..., Any]


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not news
        return None


def readiness(state: RunnerState, *, stale_after_s: float) -> str | None:
    """None when ready: a pass has succeeded and not too long ago; else why not."""
    if state.last_success is None:
        return state.last_error or "no audit pass has completed yet"
    age = (dt.datetime.now(dt.UTC) - state.last_success).total_seconds()
    if age > stale_after_s:
        return f"last successful pass was {age:.0f}s ago ({state.last_error or 'no error'})"
    return None


def make_app(
    registry: CollectorRegistry, state: RunnerState, *, stale_after_s: float
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            body = generate_latest(registry)
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [body]
        if path == "/healthz":
            return _json(start_response, 200, {"status": "ok", "passes": state.passes})
        if path == "/readyz":
            problem = readiness(state, stale_after_s=stale_after_s)
            if problem:
                return _json(start_response, 503, {"status": "not ready", "reason": problem})
            return _json(start_response, 200, {"status": "ready"})
        return _json(start_response, 404, {"error": f"no such endpoint {path}"})

    return app


def _json(start_response: StartResponse, status: int, document: object) -> list[bytes]:
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json")])
    return [json.dumps(document).encode()]


def serve_in_background(
    bind: str, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
) -> WSGIServer:
    """Start serving ``app`` on ``HOST:PORT`` in a daemon thread; returns the server."""
    host, _, port = bind.rpartition(":")
    server = make_server(
        host.strip("[]") or "0.0.0.0",
        int(port),
        app,
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    threading.Thread(target=server.serve_forever, name="auditor-http", daemon=True).start()
    return server
