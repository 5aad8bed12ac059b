"""The CSV reports: one flat table per file, for spreadsheets: :func:`render_csv`.

Owns the tables a platform engineer sorts and filters:

- ``images``: one row per unique image (size, nodes, footprint, verdict, savings, change);
- ``workloads``: one row per workload (pods, nodes, images, footprint, verdict);
- ``namespaces``: per-namespace totals;
- ``findings``: one row per finding with the fix, savings and workloads (``new`` marks
  those that appeared since the previous report);
- ``exceptions``: honoured and ignored exceptions with justification and days left;
- ``changes``: images new, grown, shrunk, updated or gone, and findings new or resolved.

RFC 4180: comma-separated, CRLF line ends, fields quoted when they hold a comma,
quote or line break, a header row. Sizes are whole bytes (``*_bytes``) so they
sort and sum; lists are joined with ``"; "``. Text cells are formula-injection
safe: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a line
break gets a leading ``'`` so spreadsheets show it as text (OWASP "CSV
injection"); numbers are written as numbers (a negative size change stays a
number). Pure; must not import Flask, the Kubernetes client or :mod:`webhook`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Final, Literal, get_args

from auditor.reports.changes import Changes
from auditor.reports.view import ReportView

__all__ = ["CSV_TABLES", "CsvTable", "render_csv", "spreadsheet_safe"]

CsvTable = Literal["images", "workloads", "namespaces", "findings", "exceptions", "changes"]
CSV_TABLES: Final[tuple[CsvTable, ...]] = get_args(CsvTable)
"""Every table, in the order :func:`auditor.reports.writer.write_reports` writes them."""

Cell = str | int | float | None
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r", "\n")
_LIST_SEPARATOR: Final = "; "


def spreadsheet_safe(value: Cell) -> Cell:
    """Text that a spreadsheet would read as a formula gets a leading ``'``; numbers pass."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _join(values: Iterable[str]) -> str:
    return _LIST_SEPARATOR.join(values)


def _write(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, dialect="excel", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if cell is None else spreadsheet_safe(cell) for cell in row])
    return buffer.getvalue()


def render_csv(view: ReportView, table: CsvTable = "images") -> str:
    """One table as CSV text; raises ValueError for a table name not in :data:`CSV_TABLES`."""
    renderer = _TABLES.get(table)
    if renderer is None:
        raise ValueError(f"unknown CSV table {table!r}: choose one of {', '.join(CSV_TABLES)}")
    return renderer(view)


def _images(view: ReportView) -> str:
    changes = _image_changes(view.changes)
    header = (
        "image",
        "repository",
        "registry",
        "digest",
        "platform",
        "compressed_bytes",
        "layers",
        "pods",
        "containers",
        "nodes",
        "pull_footprint_bytes",
        "namespaces",
        "workloads",
        "verdict",
        "failing_rules",
        "savings_bytes",
        "uncompressed_bytes",
        "wasted_bytes",
        "hidden_bytes",
        "efficiency",
        "unknown",
        "unknown_reason",
        "change",
        "change_bytes",
    )
    rows = []
    for i in view.images:
        kind, delta = changes.get(i.key, ("", None))
        rows.append(
            (
                i.name,
                i.repository,
                i.registry,
                i.digest or i.key,
                i.platform,
                i.compressed_bytes,
                i.layer_count,
                i.pods,
                i.containers,
                i.node_count,
                i.pull_footprint_bytes,
                _join(i.namespaces),
                _join(i.workloads),
                i.verdict,
                _join(i.failed_rules),
                i.savings_bytes,
                i.uncompressed_bytes,
                i.wasted_bytes,
                i.hidden_bytes,
                i.efficiency,
                "yes" if i.unknown else "no",
                ((f"{i.error_type}: " if i.error_type else "") + (i.unknown_reason or ""))
                if i.unknown
                else "",
                kind,
                delta,
            )
        )
    return _write(header, rows)


def _image_changes(changes: Changes | None) -> dict[str, tuple[str, int | None]]:
    if changes is None:
        return {}
    return {c.key: (c.kind.value, c.delta_bytes) for c in changes.images if c.key is not None}


def _workloads(view: ReportView) -> str:
    header = (
        "namespace",
        "kind",
        "name",
        "pods",
        "containers",
        "nodes",
        "images",
        "compressed_bytes",
        "pull_footprint_bytes",
        "unknown_images",
        "verdict",
        "failing_findings",
        "attributed_by",
    )
    rows = (
        (
            w.namespace,
            w.kind,
            w.name,
            w.pods,
            w.containers,
            w.node_count,
            _join(w.image_names),
            w.compressed_bytes,
            w.pull_footprint_bytes,
            w.unknown_images,
            w.verdict,
            w.failed_findings,
            w.attributed_by,
        )
        for w in view.workloads
    )
    return _write(header, rows)


def _namespaces(view: ReportView) -> str:
    header = (
        "namespace",
        "pods",
        "containers",
        "workloads",
        "images",
        "unknown_images",
        "compressed_bytes",
        "pull_footprint_bytes",
        "failing_findings",
        "savings_bytes",
    )
    rows = (
        (
            n.name,
            n.pods,
            n.containers,
            n.workloads,
            n.images,
            n.unknown_images,
            n.compressed_bytes,
            n.pull_footprint_bytes,
            n.failed_findings,
            n.savings_bytes,
        )
        for n in view.namespaces
    )
    return _write(header, rows)


def _findings(view: ReportView) -> str:
    new = (
        {(f.image, f.rule, f.detail) for f in view.changes.new_findings}
        if view.changes is not None
        else set()
    )
    header = (
        "status",
        "action",
        "severity",
        "category",
        "rule",
        "check",
        "image",
        "image_key",
        "message",
        "measured",
        "limit",
        "where",
        "advice",
        "savings_bytes",
        "node_savings_bytes",
        "nodes",
        "workloads",
        "namespaces",
        "exception",
        "new",
    )
    rows = (
        (
            f.status,
            f.action,
            f.severity,
            f.category,
            f.rule,
            f.detail,
            f.image_name,
            f.image,
            f.message,
            f.measured,
            f.limit,
            f.where,
            f.advice,
            f.savings_bytes,
            f.node_savings_bytes,
            f.node_count,
            _join(f.workloads),
            _join(f.namespaces),
            f.exception + 1 if f.exception is not None else None,
            "yes" if (f.image, f.rule, f.detail) in new else "",
        )
        for f in view.findings
    )
    return _write(header, rows)


def _exceptions(view: ReportView) -> str:
    header = (
        "workload",
        "status",
        "number",
        "rules",
        "justification",
        "limit",
        "expires",
        "days_left",
        "expiring_soon",
        "applied_to",
        "images",
        "reason",
    )
    honoured = [
        (
            e.workload,
            "honoured",
            e.index + 1,
            _join(e.rules),
            e.justification,
            e.limit or "waived",
            e.expires,
            e.days_left,
            "yes" if e.is_expiring_soon else "no",
            _join(e.applied_to),
            _join(e.applied_images),
            "",
        )
        for e in view.exceptions
    ]
    ignored = [
        (
            i.workload,
            "ignored",
            i.index + 1 if i.index is not None else None,
            _join(i.rules),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            i.reason,
        )
        for i in view.ignored_exceptions
    ]
    return _write(header, [*honoured, *ignored])


def _changes(view: ReportView) -> str:
    header = (
        "change",
        "image",
        "repository",
        "rule",
        "message",
        "compressed_bytes",
        "previous_compressed_bytes",
        "change_bytes",
        "key",
        "previous_key",
        "note",
    )
    changes = view.changes
    if changes is None:
        return _write(header, [])
    rows: list[Sequence[Cell]] = [
        (
            c.kind.value,
            c.name,
            c.repository,
            None,
            None,
            c.compressed_bytes,
            c.previous_compressed_bytes,
            c.delta_bytes,
            c.key,
            c.previous_key,
            None,
        )
        for c in changes.images
    ]
    for kind, findings in (
        ("new-finding", changes.new_findings),
        ("resolved-finding", changes.resolved_findings),
    ):
        rows += [
            (
                kind,
                f.image_name,
                None,
                f.rule,
                f.message,
                None,
                None,
                None,
                f.image,
                None,
                "image gone" if f.image_gone else None,
            )
            for f in findings
        ]
    rows += [
        ("note", None, None, None, note, None, None, None, None, None, None)
        for note in changes.notes
    ]
    return _write(header, rows)


_TABLES: Final[dict[str, Callable[[ReportView], str]]] = {
    "images": _images,
    "workloads": _workloads,
    "namespaces": _namespaces,
    "findings": _findings,
    "exceptions": _exceptions,
    "changes": _changes,
}
