"""Loopback sockets for failure tests: free ports, a server that never answers, a refused port.

Imports only the standard library.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"

_held_sockets: list[socket.socket] = []
"""Bound-but-not-listening sockets kept open for the whole process, so that the
ports handed out by :func:`refusing_address` stay refused (nobody else can take them)."""


def free_port() -> int:
    """Return a TCP port on loopback that was free a moment ago (the OS picked it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def refusing_address() -> str:
    """Return ``"127.0.0.1:PORT"`` where every connection attempt is refused (ECONNREFUSED).

    The port stays bound (but never listens) until the process exits, so no other
    server can grab it while a test relies on it being closed.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, 0))
    _held_sockets.append(sock)
    return f"{LOOPBACK}:{sock.getsockname()[1]}"


@dataclass
class StalledServer:
    """A TCP server that accepts connections, reads whatever arrives, and never answers."""

    host: str
    """``"127.0.0.1:PORT"``."""
    accepted: int = 0
    """Connections accepted so far."""
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}"


@contextlib.contextmanager
def stalled_server() -> Iterator[StalledServer]:
    """Run a server that accepts TCP connections and never sends a byte ("registry hangs").

    Incoming data is drained so clients never block on a full send buffer; every
    connection is closed when the context exits.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((LOOPBACK, 0))
    listener.listen(64)
    server = StalledServer(host=f"{LOOPBACK}:{listener.getsockname()[1]}")
    conns: list[socket.socket] = []

    def loop() -> None:
        while not server._stop.is_set():
            readable, _, _ = select.select([listener, *conns], [], [], 0.05)
            for sock in readable:
                if sock is listener:
                    conn, _ = listener.accept()
                    conns.append(conn)
                    server.accepted += 1
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:  # the client gave up: forget the connection
                    conns.remove(sock)
                    sock.close()

    thread = threading.Thread(target=loop, name=f"stalled-{server.host}", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server._stop.set()
        thread.join(timeout=5)
        for conn in conns:
            conn.close()
        listener.close()
