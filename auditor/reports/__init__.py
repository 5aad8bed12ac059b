"""Audit reports: JSON (versioned schema), Markdown, CSV and self-contained HTML.

The public names of the reports, and nothing else. :func:`render` gives one
report as text (``ballast audit --format``), :func:`write_reports` writes a
timestamped set to a directory with what changed since the previous report
(``ballast audit --output``), :func:`diff_reports` compares two JSON reports,
and :func:`configmap_manifest` packs the JSON and Markdown reports into a
ConfigMap. Reports are built from :class:`~auditor.model.AuditSnapshot` (or its
JSON document) only; never imports Flask, the Kubernetes client or
:mod:`webhook`.
"""

from __future__ import annotations

from auditor.reports.changes import (
    Changes,
    ChangesStatus,
    FindingChange,
    ImageChange,
    ImageChangeKind,
    SummaryDelta,
    changes_from_dict,
    changes_to_dict,
)
from auditor.reports.configmap import CONFIGMAP_MAX_BYTES, configmap_manifest
from auditor.reports.csv_report import CSV_TABLES, CsvTable, spreadsheet_safe
from auditor.reports.diff import diff_reports
from auditor.reports.document import audit_document, report_document
from auditor.reports.errors import InvalidReport, ReportError, ReportWriteError
from auditor.reports.naming import find_previous
from auditor.reports.render import FORMATS, Format, render, render_document
from auditor.reports.schema import report_problems, report_schema
from auditor.reports.writer import AUTO, write_reports

__all__ = [
    "AUTO",
    "CONFIGMAP_MAX_BYTES",
    "CSV_TABLES",
    "FORMATS",
    "Changes",
    "ChangesStatus",
    "CsvTable",
    "FindingChange",
    "Format",
    "ImageChange",
    "ImageChangeKind",
    "InvalidReport",
    "ReportError",
    "ReportWriteError",
    "SummaryDelta",
    "audit_document",
    "changes_from_dict",
    "changes_to_dict",
    "configmap_manifest",
    "diff_reports",
    "find_previous",
    "render",
    "render_document",
    "report_document",
    "report_problems",
    "report_schema",
    "spreadsheet_safe",
    "write_reports",
]
