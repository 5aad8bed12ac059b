"""A test registry (with its counting proxy) in a child process, for the benchmarks.

The proxy is Python: in the benchmark's own process it would compete for the
GIL with the code being measured, which no deployment does and which an
external baseline (skopeo, a ballast CLI child) does not pay. The child starts
the registry, runs ``populate(registry, *args)`` (which must be a picklable
top-level function), sends its result back, then answers requests over a pipe
(counts, resets, or ``call(fn, *args)`` to run another top-level function on the
registry there) until told to stop or until the parent goes away.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tests.support.registry import LocalRegistry, start_registry

Populate = Callable[..., Any]


def scratch_dir(prefix: str) -> Path:
    """A temporary directory in RAM when possible (keeps disk noise out of the numbers)."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix=prefix, dir=shm))
    return Path(tempfile.mkdtemp(prefix=prefix))


def _serve(
    conn: Connection, workdir: str, populate: Populate | None, args: tuple[Any, ...]
) -> None:
    try:
        with start_registry(Path(workdir)) as reg:
            populated = populate(reg, *args) if populate is not None else None
            conn.send(("ready", reg.host, reg.registry_host, populated))
            while True:
                try:
                    command = conn.recv()
                except EOFError:
                    return
                if isinstance(command, tuple):  # ("call", fn, args)
                    conn.send(command[1](reg, *command[2]))
                elif command == "count":
                    conn.send(reg.count())
                elif command == "requests":
                    conn.send(list(reg.requests))
                elif command == "reset":
                    reg.reset_counts()
                    conn.send(None)
                else:
                    conn.send(None)
                    return
    except BaseException as exc:
        conn.send(("error", repr(exc)))
        raise


class ChildRegistry:
    """A LocalRegistry running in a child process, driven over a pipe.

    ``populated`` holds what ``populate`` returned (the pushed images).
    """

    def __init__(self, workdir: Path, populate: Populate | None = None, *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child_conn, str(workdir), populate, args), daemon=True
        )
        self._process.start()
        child_conn.close()
        try:
            reply: Any = self._conn.recv()
        except EOFError:
            reply = ("error", "it exited before the registry was ready")
        if reply[0] != "ready":
            self.close()
            raise RuntimeError(
                f"the registry process failed ({reply[1]}, exit code {self._process.exitcode}); "
                "its traceback is above"
            )
        _, self.host, self.registry_host, self.populated = reply

    def call(self, function: Populate, *args: Any) -> Any:
        """Run ``function(registry, *args)`` in the child and return its result."""
        self._conn.send(("call", function, args))
        return self._conn.recv()

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        self._conn.send("requests")
        result: list[tuple[str, str, int]] = self._conn.recv()
        return result

    def count(self) -> int:
        self._conn.send("count")
        return int(self._conn.recv())

    def reset_counts(self) -> None:
        self._conn.send("reset")
        self._conn.recv()

    def close(self) -> None:
        if self._process.is_alive():
            try:
                self._conn.send("stop")
                self._conn.recv()
            except (EOFError, OSError):
                pass
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self._conn.close()


__all__ = ["ChildRegistry", "LocalRegistry", "scratch_dir"]
