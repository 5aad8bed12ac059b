"""Reading the previous report for the diff: :func:`changes_since`.

Owns the I/O side of "what changed": a previous report given as a file is read
and decoded here, and every way that can fail (missing, unreadable, too large,
not UTF-8, not JSON) becomes a :class:`~auditor.reports.changes.Changes` with
``status: unavailable`` and a note saying what happened and to which file, so a
bad previous report never fails the new one. Must not import Flask, the
Kubernetes client or :mod:`webhook`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from auditor.reports.changes import Changes
from auditor.reports.diff import diff_reports, unavailable_changes
from ballast.units import format_bytes

__all__ = ["MAX_PREVIOUS_BYTES", "changes_since"]

MAX_PREVIOUS_BYTES: Final = 256 * 1024 * 1024
"""A previous report larger than this is not read (a 20,000-pod report is about 60 MB)."""
_SHOWN: Final = "; changes since then are not shown"


def changes_since(previous: Path | Mapping[str, Any], current: Mapping[str, Any]) -> Changes:
    """Compare ``current`` with a previous report (a JSON file, or a document already read)."""
    if not isinstance(previous, Path):
        return diff_reports(previous, current)
    name = previous.name
    try:
        size = previous.stat().st_size
        if size > MAX_PREVIOUS_BYTES:
            return unavailable_changes(
                f"previous report {name} is {format_bytes(size)}, more than the "
                f"{format_bytes(MAX_PREVIOUS_BYTES)} read{_SHOWN}",
                previous_name=name,
            )
        raw = previous.read_bytes()
    except FileNotFoundError:
        return unavailable_changes(
            f"previous report {name} was not found in {previous.parent}{_SHOWN}",
            previous_name=name,
        )
    except OSError as exc:
        return unavailable_changes(
            f"previous report {name} could not be read ({exc.strerror or exc}){_SHOWN}",
            previous_name=name,
        )
    try:
        document: object = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return unavailable_changes(
            f"previous report {name} is not UTF-8 text (corrupt or not a report){_SHOWN}",
            previous_name=name,
        )
    except json.JSONDecodeError as exc:
        return unavailable_changes(
            f"previous report {name} is not valid JSON ({exc.msg}: line {exc.lineno} "
            f"column {exc.colno}; a truncated or corrupt file){_SHOWN}",
            previous_name=name,
        )
    except RecursionError:
        return unavailable_changes(
            f"previous report {name} is nested too deeply to read{_SHOWN}", previous_name=name
        )
    return diff_reports(document, current, previous_name=name)
