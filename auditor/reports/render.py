"""One report in one format, as text: :func:`render` (``ballast audit --format …``).

Owns the dispatch from a format name to its renderer and the steps every
report goes through: the audit document (:mod:`auditor.reports.document`),
what changed since a previous report when one is given
(:mod:`auditor.reports.previous`), the shared view (:mod:`auditor.reports.view`),
then JSON, Markdown, CSV or HTML text. :func:`auditor.reports.writer.write_reports`
uses the same steps for files. Must not import Flask, the Kubernetes client or
:mod:`webhook`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal, get_args

from auditor.model import AuditSnapshot
from auditor.reports.csv_report import CsvTable, render_csv
from auditor.reports.document import audit_document, report_document
from auditor.reports.html_report import render_html
from auditor.reports.json_report import render_json
from auditor.reports.markdown_report import render_markdown
from auditor.reports.previous import changes_since
from auditor.reports.view import ReportView, report_view

__all__ = ["FORMATS", "Format", "render", "render_document"]

Format = Literal["json", "markdown", "csv", "html"]
FORMATS: Final[tuple[Format, ...]] = get_args(Format)
"""Every report format, in the order reports are written."""


def render(
    source: AuditSnapshot | Mapping[str, Any],
    fmt: Format,
    *,
    previous: Path | Mapping[str, Any] | None = None,
    table: CsvTable = "images",
) -> str:
    """The report of an audit (a snapshot, or its JSON document) in one format.

    ``previous`` (a JSON report file or document) adds what changed since then;
    a missing or corrupt one gives a note, never an error. For ``csv``, ``table``
    picks the table (see :data:`auditor.reports.csv_report.CSV_TABLES`). Raises
    ValueError for an unknown format or table, InvalidReport for a dict that is
    not an audit report of this schema version.
    """
    _check_format(fmt)
    audit = audit_document(source)
    changes = changes_since(previous, audit) if previous is not None else None
    document = report_document(audit, changes=changes)
    return render_document(document, fmt, table=table)


def render_document(
    document: Mapping[str, Any],
    fmt: Format,
    *,
    table: CsvTable = "images",
    view: ReportView | None = None,
) -> str:
    """A report document (with ``changes``) in one format; ``view`` when already built."""
    _check_format(fmt)
    if fmt == "json":
        return render_json(document)
    shown = view if view is not None else report_view(document)
    if fmt == "markdown":
        return render_markdown(shown)
    if fmt == "csv":
        return render_csv(shown, table)
    return render_html(shown)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}: choose one of {', '.join(FORMATS)}")
