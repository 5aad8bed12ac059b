"""The reports' errors: a report document that cannot be used, a report that cannot be written.

They hang under :mod:`ballast._errors` so that a front end catching
:class:`~ballast._errors.BallastError` catches them too::

    BallastError
    └── ReportError                 a report could not be produced
        ├── InvalidReport           a document given to render is not an audit report (.problems)
        └── ReportWriteError        the output directory or a file could not be written (.path)

A previous report that is missing, corrupt or of another schema version is not
an error: the diff says so in a note (see :mod:`auditor.reports.diff`). Must not
import Flask, the Kubernetes client or :mod:`webhook`.
"""

from __future__ import annotations

from pathlib import Path

from ballast._errors import BallastError

__all__ = ["InvalidReport", "ReportError", "ReportWriteError"]


class ReportError(BallastError):
    """A report could not be produced."""


class InvalidReport(ReportError):
    """A document given to render is not an audit report of this version.

    ``problems`` lists every schema violation found, each with its JSON path.
    """

    def __init__(self, message: str, *, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class ReportWriteError(ReportError):
    """The output directory or a report file could not be written; ``path`` says which."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path
