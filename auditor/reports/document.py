"""The JSON report document: the audit's document plus what changed since the previous one.

Owns :func:`audit_document` (a snapshot becomes its ``schemaVersion``ed
document via :func:`auditor.snapshot_json.snapshot_to_dict`; a document given
as a dict is checked against the report schema first) and
:func:`report_document` (adds the ``changes`` object). The JSON report is
therefore the snapshot document with one more key, so the next pass can diff
against it and other tools can read it with the same schema. Pure; must not
import Flask, the Kubernetes client or :mod:`webhook`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from auditor.model import SCHEMA_VERSION, AuditSnapshot
from auditor.reports.changes import Changes, changes_to_dict
from auditor.reports.errors import InvalidReport
from auditor.reports.schema import report_problems
from auditor.snapshot_json import DOCUMENT_KIND, snapshot_to_dict

__all__ = ["audit_document", "report_document"]

_SHOWN_PROBLEMS: Final = 10


def audit_document(source: AuditSnapshot | Mapping[str, Any]) -> dict[str, Any]:
    """The audit's JSON document (a copy: the caller's dict is never changed).

    Raises InvalidReport when a dict is not an audit document of this schema
    version, listing every problem with its path.
    """
    if isinstance(source, AuditSnapshot):
        return snapshot_to_dict(source)
    if not isinstance(source, Mapping):
        raise TypeError(f"expected an AuditSnapshot or a report dict, got {type(source).__name__}")
    version = source.get("schemaVersion")
    if source.get("kind") != DOCUMENT_KIND or version != SCHEMA_VERSION:
        raise InvalidReport(
            f"not a ballast audit report of schemaVersion {SCHEMA_VERSION} (kind "
            f"{source.get('kind')!r}, schemaVersion {version!r}): render a report written by "
            "this version of ballast, or run the audit again",
            problems=(f"$.schemaVersion: {version!r} is not {SCHEMA_VERSION}",),
        )
    document = copy.deepcopy(dict(source))
    problems = report_problems(document)
    if problems:
        shown = "; ".join(problems[:_SHOWN_PROBLEMS])
        more = len(problems) - _SHOWN_PROBLEMS
        raise InvalidReport(
            f"the audit report does not match its schema ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}): {shown}"
            + (f"; and {more} more" if more > 0 else ""),
            problems=tuple(problems),
        )
    return document


def report_document(
    audit: Mapping[str, Any], *, changes: Changes | None, keep_changes: bool = True
) -> dict[str, Any]:
    """The JSON report: ``audit`` plus ``changes`` (``null`` when there was nothing to compare).

    With ``changes=None`` and ``keep_changes``, a ``changes`` object already in
    ``audit`` (a saved report rendered again) is kept.
    """
    document = dict(audit)
    if changes is not None:
        document["changes"] = changes_to_dict(changes)
    elif not keep_changes or "changes" not in document:
        document["changes"] = None
    return document
