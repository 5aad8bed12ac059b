"""The current policy of a long-running service: built-in defaults or a watched file.

A ConfigMap update rewrites the mounted file (through a symlink swap); the
new policy is validated before it replaces the old one, and a broken one is
logged and ignored, so a typo never takes admission or auditing down. The
file is checked at most every two seconds, on use.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from ballast._errors import PolicyError
from ballast.policy.document import Policy
from ballast.policy.load import default_policy, load_policy_file

logger = logging.getLogger(__name__)

_POLICY_CHECK_INTERVAL_S = 2.0


class PolicySource:
    """The current policy: the built-in defaults, or a file reloaded when it changes."""

    def __init__(self, path: str | None) -> None:
        self._path = Path(path) if path else None
        self._lock = threading.Lock()
        self._checked_at = time.monotonic()
        self.last_error: str | None = None
        if self._path is None:
            self._policy = default_policy()
            self._stamp: tuple[float, int] | None = None
        else:
            self._stamp = self._file_stamp()
            self._policy = load_policy_file(self._path)  # PolicyError stops start-up

    def _file_stamp(self) -> tuple[float, int] | None:
        if self._path is None:
            return None
        try:
            stat = os.stat(self._path)
        except OSError:
            return None
        return (stat.st_mtime, stat.st_size)

    def current(self) -> Policy:
        now = time.monotonic()
        if self._path is None or now - self._checked_at < _POLICY_CHECK_INTERVAL_S:
            return self._policy
        with self._lock:
            self._checked_at = now
            stamp = self._file_stamp()
            if stamp is not None and stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._policy = load_policy_file(self._path)
                except PolicyError as exc:
                    self.last_error = str(exc)
                    logger.error("policy reload failed, keeping the previous policy: %s", exc)
                else:
                    self.last_error = None
                    logger.info("policy reloaded from %s", self._path)
        return self._policy
