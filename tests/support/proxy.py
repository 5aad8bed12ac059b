"""A counting, misbehaving reverse proxy that sits in front of every test registry.

Every request a client makes goes through it, so tests can assert *how many* calls the
code under test made (``count("GET", "/manifests/")``) and can make the registry lie
(``tamper``), hang (``stall_paths``), fail (``fail_next``), drop a body half-way
(``truncate_paths``) or slow down (``delay_s``). HTTP/1.1 with keep-alive on both sides;
request bodies may be chunked (skopeo and httpx streaming uploads send them that way).

The client's ``Host`` header is forwarded unchanged, so the registry builds its absolute
``Location`` upload URLs with the proxy's address; any ``Location`` that still names the
raw registry is rewritten to the proxy. Imports only the standard library.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import select
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.sockets import LOOPBACK

Tamper = Callable[[str, str, bytes], bytes]
"""``tamper(method, path_with_query, body) -> new_body``; called for every response that
has a body (not HEAD), error responses included. Content-Length is recomputed."""

Failure = int | tuple[int, dict[str, str]]
"""A status to answer instead of forwarding, optionally with extra response headers."""

STALLED = 0
"""The status recorded for a request the proxy swallowed because of ``stall_paths``."""

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "expect",
        "content-length",
    }
)
_STREAM_CHUNK = 256 * 1024
_ERROR_CODES = {
    401: "UNAUTHORIZED",
    403: "DENIED",
    404: "NAME_UNKNOWN",
    429: "TOOMANYREQUESTS",
}


class CountingProxy:
    """Reverse proxy to ``upstream_host`` on a loopback port; see the module docstring."""

    def __init__(self, upstream_host: str, *, port: int = 0) -> None:
        self.upstream_host = upstream_host
        self.requests: list[tuple[str, str, int]] = []
        """``(method, path_with_query, status)`` per request, in arrival order; recorded
        before the response is written, so it is complete once the client has its answer.
        Stalled requests are recorded with status ``STALLED`` (0) when they arrive."""
        self.tamper: Tamper | None = None
        self.stall_paths: set[str] = set()
        """Substrings of the path: a matching request is read and then never answered; the
        connection is dropped (still unanswered) when the client gives up, on ``reset()``
        or on ``stop()``."""
        self.fail_next: list[Failure] = []
        """Statuses to answer, one per incoming request, instead of forwarding. A 429 gets
        ``Retry-After: 1`` unless headers are given. The body is a registry error document."""
        self.truncate_paths: set[str] = set()
        """Substrings of the path: the response advertises the full Content-Length, sends
        half of the body and closes the connection."""
        self.delay_s: float = 0.0
        """Sleep before handling each request."""
        self.errors: list[str] = []
        """Exceptions raised by ``tamper`` (answered as 500), for debugging tests."""
        self._port = port
        self._lock = threading.Lock()
        self._generation = 0
        self._stopping = threading.Event()
        self._clients: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def host(self) -> str:
        return f"{LOOPBACK}:{self._port}"

    @property
    def is_running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self._server is not None:
            return
        owner = self

        class Handler(_ProxyHandler):
            proxy = owner

        self._stopping.clear()
        server = _ProxyServer((LOOPBACK, self._port), Handler)
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"proxy-{self._port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and cut every open client connection (stalled ones included)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            clients = list(self._clients)
        for sock in clients:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # -- counting and knobs ------------------------------------------------------------------

    def reset_counts(self) -> None:
        self.requests.clear()

    def reset(self) -> None:
        """Forget counts and misbehaviour, and release requests stalled by an earlier test."""
        self.requests.clear()
        self.errors.clear()
        self.tamper = None
        self.stall_paths = set()
        self.fail_next = []
        self.truncate_paths = set()
        self.delay_s = 0.0
        with self._lock:
            self._generation += 1

    def count(self, method: str | None = None, path_contains: str | None = None) -> int:
        """How many recorded requests match the method (case-insensitive) and path substring."""
        wanted = method.upper() if method else None
        return sum(
            1
            for m, path, _ in list(self.requests)
            if (wanted is None or m == wanted) and (path_contains is None or path_contains in path)
        )

    def _pop_failure(self) -> tuple[int, dict[str, str]] | None:
        with self._lock:
            if not self.fail_next:
                return None
            failure = self.fail_next.pop(0)
        if isinstance(failure, tuple):
            return failure
        return failure, ({"Retry-After": "1"} if failure == 429 else {})

    def _track(self, sock: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._clients.add(sock)
            else:
                self._clients.discard(sock)


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that vanish mid-request are normal in failure tests: stay quiet about
        connection errors, print anything else."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        super().handle_error(request, client_address)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: CountingProxy
    _upstream: http.client.HTTPConnection | None = None
    _upstream_reused = False

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.proxy._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.proxy._track(self.connection, add=False)
            if self._upstream is not None:
                self._upstream.close()
                self._upstream = None

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line."""

    # -- request handling --------------------------------------------------------------------

    def _handle(self) -> None:
        proxy = self.proxy
        method, path = self.command, self.path
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if proxy.delay_s:
            time.sleep(proxy.delay_s)
        if any(s in path for s in proxy.stall_paths):
            proxy.requests.append((method, path, STALLED))
            self._stall()
            return
        failure = proxy._pop_failure()
        if failure is not None:
            status, extra = failure
            proxy.requests.append((method, path, status))
            self._send_error_document(status, extra, with_body=method != "HEAD")
            return
        try:
            resp = self._forward(method, path, body)
        except (OSError, http.client.HTTPException) as exc:  # the registry is down or broken
            if self._upstream is not None:
                self._upstream.close()
            proxy.requests.append((method, path, 502))
            self._send_error_document(502, {}, with_body=method != "HEAD", message=repr(exc))
            return
        self._relay(method, path, resp)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers: dropped
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(3)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _stall(self) -> None:
        """Hold the request unanswered until the client leaves, the test ends or we stop."""
        proxy = self.proxy
        generation = proxy._generation
        sock = self.connection
        self.close_connection = True
        while not proxy._stopping.is_set() and proxy._generation == generation:
            readable, _, _ = select.select([sock], [], [], 0.05)
            if readable:
                try:
                    if not sock.recv(65536):
                        return
                except OSError:
                    return

    def _send_error_document(
        self,
        status: int,
        extra: dict[str, str],
        *,
        with_body: bool,
        message: str | None = None,
    ) -> None:
        code = _ERROR_CODES.get(status, "UNAVAILABLE" if status >= 500 else "UNKNOWN")
        text = message or http.client.responses.get(status, "error")
        data = json.dumps({"errors": [{"code": code, "message": text, "detail": None}]}).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        if with_body:
            self.wfile.write(data)

    def _forward(self, method: str, path: str, body: bytes) -> http.client.HTTPResponse:
        if self._upstream is None:
            self._upstream = http.client.HTTPConnection(self.proxy.upstream_host, timeout=120)
            self._upstream_reused = False
        conn = self._upstream
        for attempt in (1, 2):
            try:
                conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                if "Host" not in self.headers:
                    conn.putheader("Host", self.proxy.host)
                for name, value in self.headers.items():
                    if name.lower() not in _HOP_BY_HOP:
                        conn.putheader(name, value)
                if body or method in ("POST", "PUT", "PATCH"):
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body or None)
                if conn.sock is not None:
                    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                resp = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive upstream connection died (registry restarted): retry once on
                # a fresh one; a fresh connection failing means the registry is down.
                conn.close()
                if attempt == 2 or not self._upstream_reused:
                    raise
                self._upstream_reused = False
                continue
            self._upstream_reused = not resp.will_close
            return resp
        raise AssertionError("unreachable")

    def _relay(self, method: str, path: str, resp: http.client.HTTPResponse) -> None:
        proxy = self.proxy
        raw_prefix = f"http://{proxy.upstream_host}"
        headers: list[tuple[str, str]] = []
        for name, value in resp.getheaders():
            if name.lower() in _HOP_BY_HOP:
                continue
            if name.lower() == "location" and value.startswith(raw_prefix):
                value = f"http://{proxy.host}{value[len(raw_prefix) :]}"
            headers.append((name, value))
        length_header = resp.getheader("Content-Length")
        status = resp.status

        if method == "HEAD" or status in (204, 304) or status < 200:
            resp.read()
            proxy.requests.append((method, path, status))
            self._send_head(status, headers, length_header)
            return

        tamper = proxy.tamper
        truncate = any(s in path for s in proxy.truncate_paths)
        if tamper is None and not truncate and length_header is not None:
            proxy.requests.append((method, path, status))
            self._send_head(status, headers, length_header)
            remaining = int(length_header)
            while remaining > 0:
                chunk = resp.read(min(_STREAM_CHUNK, remaining))
                if not chunk:
                    self.close_connection = True
                    return
                self.wfile.write(chunk)
                remaining -= len(chunk)
            resp.read()  # marks the response done so the upstream connection can be reused
            return

        data = resp.read()
        if tamper is not None:
            try:
                data = tamper(method, path, data)
            except Exception as exc:  # a broken tamper must fail the test visibly
                proxy.errors.append(repr(exc))
                proxy.requests.append((method, path, 500))
                self._send_error_document(500, {}, with_body=True, message=f"tamper: {exc!r}")
                return
        proxy.requests.append((method, path, status))
        self._send_head(status, headers, str(len(data)))
        if truncate:
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)

    def _send_head(self, status: int, headers: list[tuple[str, str]], length: str | None) -> None:
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        if length is not None:
            self.send_header("Content-Length", length)
        self.end_headers()
