"""The JSON Schema of the audit report: :func:`report_schema` and :func:`report_problems`.

Owns loading ``auditor/schema/audit-report.schema.json`` (JSON Schema 2020-12,
one file per ``schemaVersion``) and checking documents against it, so a saved
report given back to the renderers is rejected with every problem and its path
rather than failing halfway through a table. Pure apart from reading the schema
file; must not import Flask, the Kubernetes client or :mod:`webhook`.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Final

from jsonschema import Draft202012Validator

from auditor.reports.errors import ReportError

__all__ = ["SCHEMA_FILE", "report_problems", "report_schema"]

SCHEMA_FILE: Final = "audit-report.schema.json"
"""The schema's file name under ``auditor/schema/``."""


@cache
def report_schema() -> dict[str, Any]:
    """The schema document (read once).

    Raises ReportError when the file is not installed (a wheel built without the
    package data ``auditor/schema/*.json``).
    """
    location = resources.files("auditor").joinpath("schema", SCHEMA_FILE)
    try:
        text = location.read_text("utf-8")
    except OSError as exc:
        raise ReportError(
            f"the audit report schema {SCHEMA_FILE} is missing from this installation "
            f"({exc}): reinstall ballast with its package data (auditor/schema/*.json)"
        ) from exc
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    schema = report_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def report_problems(document: object) -> list[str]:
    """Every schema violation of ``document``, as ``$.images[3].compressedSize: …``; empty
    when it is a valid report."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.path)))
    return [f"{_path(error.absolute_path)}: {error.message}" for error in errors]


def _path(parts: Any) -> str:
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text
