"""The report as a ConfigMap: :func:`configmap_manifest` (``ballast audit --configmap NAME``).

Owns the ConfigMap object the CLI applies with the Kubernetes client: the JSON
and Markdown reports as ``data`` keys ``report.json`` and ``report.md``, so
``kubectl get configmap ballast-audit -o jsonpath='{.data.report\\.md}'``
shows the latest audit. The API server refuses ConfigMaps whose data exceed
1 MiB, so the manifest stays under :data:`CONFIGMAP_MAX_BYTES`:

1. both reports when they fit;
2. else the JSON report whole, with the Markdown cut at a line, when at least
   :data:`MIN_MARKDOWN_BYTES` of Markdown still fit;
3. else the Markdown alone, cut at a line when needed (JSON is never cut: half a
   JSON document is useless to the tools that read it).

Whatever was cut or left out is said in the annotation
``ballast.dev/truncated`` and at the end of the cut Markdown, which names the
report files on disk. HTML and CSV are not put in (the HTML is large, CSV is for
spreadsheets). Reads the report files; must not import Flask, the Kubernetes
client or :mod:`webhook`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from auditor.reports.errors import ReportWriteError
from auditor.reports.naming import ReportName, parse_name
from ballast.units import format_bytes

__all__ = [
    "CONFIGMAP_MAX_BYTES",
    "JSON_KEY",
    "MARKDOWN_KEY",
    "MIN_MARKDOWN_BYTES",
    "configmap_manifest",
]

CONFIGMAP_MAX_BYTES: Final = 1024 * 1024 - 16 * 1024
"""The API server's 1 MiB limit on ``data``, less room for keys and metadata."""
MIN_MARKDOWN_BYTES: Final = 64 * 1024
"""Below this the Markdown would lose its findings; the JSON is left out instead."""
JSON_KEY: Final = "report.json"
MARKDOWN_KEY: Final = "report.md"
TRUNCATED_ANNOTATION: Final = "ballast.dev/truncated"
FILES_ANNOTATION: Final = "ballast.dev/report-files"
STARTED_ANNOTATION: Final = "ballast.dev/audit-started"
_NAME_RE: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABELS: Final = {
    "app.kubernetes.io/name": "ballast",
    "app.kubernetes.io/component": "audit-report",
    "app.kubernetes.io/managed-by": "ballast",
}


def configmap_manifest(
    report_files: Sequence[Path],
    name: str,
    namespace: str,
    *,
    max_bytes: int = CONFIGMAP_MAX_BYTES,
) -> dict[str, Any]:
    """A ``v1`` ConfigMap holding the JSON and Markdown reports among ``report_files``.

    ``report_files`` is what :func:`~auditor.reports.writer.write_reports`
    returned (other formats are ignored; with several sets, the newest is used).
    Raises ValueError for a name or namespace Kubernetes would refuse or when
    there is neither a JSON nor a Markdown report, ReportWriteError when a file
    cannot be read.
    """
    for what, value, limit in (("name", name, 253), ("namespace", namespace, 63)):
        if len(value) > limit or not _NAME_RE.fullmatch(value):
            raise ValueError(
                f"ConfigMap {what} {value!r} is not a valid Kubernetes name: lowercase letters, "
                f"digits, '-' and '.', at most {limit} characters"
            )
    json_file = _newest(report_files, "json")
    markdown_file = _newest(report_files, "md")
    if json_file is None and markdown_file is None:
        raise ValueError(
            "no JSON or Markdown report among the files given: write the reports with "
            "formats including 'json' or 'markdown'"
        )
    json_text = _read(json_file) if json_file is not None else None
    markdown_text = _read(markdown_file) if markdown_file is not None else None
    data, truncated = _fit(json_text, markdown_text, json_file, markdown_file, max_bytes)
    annotations = {
        FILES_ANNOTATION: ",".join(p.name for p in (json_file, markdown_file) if p is not None),
        TRUNCATED_ANNOTATION: "; ".join(truncated) if truncated else "false",
    }
    started = _started(json_file or markdown_file)
    if started:
        annotations[STARTED_ANNOTATION] = started
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(_LABELS),
            "annotations": annotations,
        },
        "data": data,
    }


def _newest(files: Sequence[Path], extension: str) -> Path | None:
    """The newest report file with this extension (by the set name; else the last given)."""
    named: list[tuple[ReportName, Path]] = []
    other: list[Path] = []
    for path in files:
        parsed = parse_name(path.name)
        if parsed is not None and parsed[1] == extension:
            named.append((parsed[0], path))
        elif parsed is None and path.suffix == f".{extension}":
            other.append(path)
    if named:
        return max(named)[1]
    return other[-1] if other else None


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportWriteError(
            f"cannot read the report {path} for the ConfigMap: {exc}", path=path
        ) from exc


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _fit(
    json_text: str | None,
    markdown_text: str | None,
    json_file: Path | None,
    markdown_file: Path | None,
    max_bytes: int,
) -> tuple[dict[str, str], list[str]]:
    json_bytes = _size(json_text) if json_text is not None else 0
    markdown_bytes = _size(markdown_text) if markdown_text is not None else 0
    data: dict[str, str] = {}
    truncated: list[str] = []
    if json_bytes + markdown_bytes <= max_bytes:
        if json_text is not None:
            data[JSON_KEY] = json_text
        if markdown_text is not None:
            data[MARKDOWN_KEY] = markdown_text
        return data, truncated
    room = max_bytes
    if json_text is not None:
        leaves_room = markdown_text is None or max_bytes - json_bytes >= MIN_MARKDOWN_BYTES
        if leaves_room and json_bytes <= max_bytes:
            data[JSON_KEY] = json_text
            room -= json_bytes
        else:
            truncated.append(
                f"{JSON_KEY} left out ({format_bytes(json_bytes)} does not fit in a ConfigMap; "
                f"see {json_file.name if json_file else 'the JSON report'})"
            )
    if markdown_text is not None:
        whole = markdown_file.name if markdown_file else "the Markdown report"
        if markdown_bytes <= room:
            data[MARKDOWN_KEY] = markdown_text
        else:
            data[MARKDOWN_KEY] = _cut_markdown(markdown_text, room, whole)
            truncated.append(
                f"{MARKDOWN_KEY} cut to {format_bytes(_size(data[MARKDOWN_KEY]))} of "
                f"{format_bytes(markdown_bytes)} (see {whole})"
            )
    return data, truncated


def _cut_markdown(text: str, room: int, whole: str) -> str:
    """The first lines of ``text`` that fit in ``room`` bytes, then a line saying so."""
    note = f"\n\n_… cut here: a ConfigMap holds at most 1 MiB. The whole report is {whole}._\n"
    budget = room - _size(note)
    kept: list[str] = []
    used = 0
    for line in text.splitlines(keepends=True):
        size = _size(line)
        if used + size > budget:
            break
        kept.append(line)
        used += size
    return "".join(kept).rstrip("\n") + note


def _started(path: Path | None) -> str:
    """``2026-11-27T16:59:00Z`` from a report file name's stamp; empty for other names."""
    parsed = parse_name(path.name) if path is not None else None
    if parsed is None:
        return ""
    stamp = parsed[0].stamp
    return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"
