"""Writing a report set to a directory: :func:`write_reports` (``ballast audit --output DIR``).

Owns the file side of reports: names that carry the audit's time
(:mod:`auditor.reports.naming`), finding the previous JSON report in the same
directory for the diff, atomic writes (a temporary file in the directory,
flushed and fsynced, then renamed over the target, so a reader, a
``kubectl cp`` or a crash never sees half a report), ``ballast-audit-latest.*``
symlinks to the newest set (copies where symlinks are not supported), and
optional pruning of old sets. OS errors become
:class:`~auditor.reports.errors.ReportWriteError` naming the path. Must not
import Flask, the Kubernetes client or :mod:`webhook`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from auditor.model import AuditSnapshot
from auditor.reports.changes import Changes
from auditor.reports.csv_report import CSV_TABLES
from auditor.reports.document import audit_document, report_document
from auditor.reports.errors import ReportWriteError
from auditor.reports.naming import (
    ReportName,
    find_previous,
    latest_name,
    next_name,
    report_sets,
    stamp_of,
)
from auditor.reports.previous import changes_since
from auditor.reports.render import FORMATS, Format, render_document
from auditor.reports.view import report_view

__all__ = ["AUTO", "FILE_MODE", "write_atomic", "write_reports"]

logger = logging.getLogger(__name__)

FILE_MODE: Final = 0o644
"""Reports are read by people and by whatever serves or collects them."""


class _Auto:
    """The ``previous=AUTO`` default of :func:`write_reports`: look in the output directory
    for the newest JSON report older than this one. Distinct from ``None``, which means
    "do not compare" (the report then has no what-changed section)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "AUTO"


AUTO: Final = _Auto()


def write_reports(
    source: AuditSnapshot | Mapping[str, Any],
    output_dir: Path | str,
    *,
    formats: Sequence[Format] = FORMATS,
    previous: Path | Mapping[str, Any] | _Auto | None = AUTO,
    keep: int | None = None,
    link_latest: bool = True,
) -> list[Path]:
    """Write the report of an audit in each format; return the files written, in order.

    ``output_dir`` is created if needed. Files are named after the audit's start
    time (``ballast-audit-20261127T165900Z.json``; CSV tables as
    ``…-images.csv``). ``previous``: ``AUTO`` compares with the newest older
    JSON report in ``output_dir``; a path or a document compares with that;
    ``None`` does not compare. A missing or corrupt previous report gives a note
    in the reports, never an error. ``keep`` prunes all but the newest ``keep``
    report sets (this one included); ``None`` keeps everything.

    Raises ReportWriteError when the directory or a file cannot be written,
    InvalidReport when a dict is not an audit report, ValueError for an unknown
    format or a ``keep`` below 1.
    """
    wanted = _formats(formats)
    if keep is not None and keep < 1:
        raise ValueError(f"keep must be at least 1 (got {keep}), or None to keep every report")
    directory = Path(output_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportWriteError(
            f"cannot create the report directory {directory}: {exc.strerror or exc}; "
            "check the path and its permissions",
            path=directory,
        ) from exc
    audit = audit_document(source)
    name = next_name(directory, stamp_of(str(audit["timing"]["started"])))
    changes = _changes(previous, audit, directory, name)
    document = report_document(audit, changes=changes)
    view = report_view(document)
    written: list[Path] = []
    for fmt in wanted:
        tables = CSV_TABLES if fmt == "csv" else (None,)
        for table in tables:
            path = directory / name.file(fmt, table)
            text = render_document(document, fmt, table=table or "images", view=view)
            write_atomic(path, text)
            written.append(path)
            if link_latest:
                _link_latest(path, directory / latest_name(fmt, table))
    if keep is not None:
        _prune(directory, keep)
    logger.info("wrote %d report files to %s (%s)", len(written), directory, name.base)
    return written


def _formats(formats: Sequence[str]) -> tuple[Format, ...]:
    """The formats asked for, each once, in :data:`FORMATS` order (a lone string is one)."""
    asked = (formats,) if isinstance(formats, str) else tuple(formats)
    unknown = [f for f in asked if f not in FORMATS]
    if unknown:
        raise ValueError(
            f"unknown report format {', '.join(map(repr, unknown))}: "
            f"choose from {', '.join(FORMATS)}"
        )
    return tuple(f for f in FORMATS if f in asked)


def _changes(
    previous: Path | Mapping[str, Any] | _Auto | None,
    audit: Mapping[str, Any],
    directory: Path,
    name: ReportName,
) -> Changes | None:
    if previous is None:
        return None
    if isinstance(previous, _Auto):
        found = find_previous(directory, before=name)
        if found is None:
            return None
        previous = found
    return changes_since(previous, audit)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, newlines untouched) in one rename.

    Raises ReportWriteError naming the path.
    """
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _write_error(path, exc) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise _write_error(path, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _write_error(path: Path, exc: OSError) -> ReportWriteError:
    return ReportWriteError(
        f"cannot write the report {path}: {exc.strerror or exc}; check that the directory "
        "is writable and has space",
        path=path,
    )


def _link_latest(target: Path, link: Path) -> None:
    """Point ``link`` at ``target`` (a relative symlink, swapped atomically); copy the file
    where the filesystem has no symlinks."""
    temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    try:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        temporary.symlink_to(target.name)
        os.replace(temporary, link)
        return
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        logger.debug("no symlink for %s (%s): copying instead", link, exc)
    write_atomic(link, target.read_text("utf-8"))


def _prune(directory: Path, keep: int) -> None:
    """Remove report sets older than the newest ``keep``; never touches other files."""
    sets = report_sets(directory)
    for name in list(sets)[: max(len(sets) - keep, 0)]:
        for path in sets[name]:
            try:
                path.unlink()
            except OSError as exc:
                logger.warning("could not remove old report %s: %s", path, exc)
