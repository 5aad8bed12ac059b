"""Report file names: ``ballast-audit-20261127T165900Z.json`` and friends.

Owns the naming scheme of a report directory, so writing, finding the previous
report and pruning agree on it:

- ``ballast-audit-<stamp>.json`` / ``.md`` / ``.html`` and
  ``ballast-audit-<stamp>-<table>.csv``, where ``<stamp>`` is when the audit
  started, in UTC, to the second (``20261127T165900Z``): names sort by time;
- ``ballast-audit-<stamp>-<n>…`` (n ≥ 2) when a set with that stamp exists already;
- ``ballast-audit-latest.<ext>`` (and ``ballast-audit-latest-<table>.csv``):
  pointers to the newest set, never mistaken for a report.

Must not import Flask, the Kubernetes client or :mod:`webhook`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "EXTENSIONS",
    "PREFIX",
    "ReportName",
    "find_previous",
    "latest_name",
    "next_name",
    "parse_name",
    "report_sets",
    "stamp_of",
]

PREFIX: Final = "ballast-audit-"
EXTENSIONS: Final = {"json": "json", "markdown": "md", "csv": "csv", "html": "html"}
"""File extension per format."""
_NAME_RE: Final = re.compile(
    r"ballast-audit-(?P<stamp>[0-9]{8}T[0-9]{6}Z)(?:-(?P<seq>[0-9]+))?"
    r"(?:-(?P<table>[a-z]+))?\.(?P<ext>json|md|csv|html)"
)


@dataclass(frozen=True, slots=True, order=True)
class ReportName:
    """One report set's name: its stamp and, for a second set in the same second, a number."""

    stamp: str
    sequence: int = 0
    """0 for the first set with this stamp, then 2, 3 …"""

    @property
    def base(self) -> str:
        suffix = f"-{self.sequence}" if self.sequence else ""
        return f"{PREFIX}{self.stamp}{suffix}"

    def file(self, fmt: str, table: str | None = None) -> str:
        """The file name of one format (and CSV table) of this set."""
        extension = EXTENSIONS[fmt]
        return f"{self.base}-{table}.{extension}" if table else f"{self.base}.{extension}"


def stamp_of(started: str, *, fallback: dt.datetime | None = None) -> str:
    """``20261127T165900Z`` from an RFC 3339 time; ``fallback`` (default now) if it does not
    parse."""
    try:
        moment = dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
    except ValueError:
        moment = fallback or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def parse_name(name: str) -> tuple[ReportName, str, str | None] | None:
    """``(report name, extension, CSV table or None)`` for a report file name, else ``None``."""
    match = _NAME_RE.fullmatch(name)
    if match is None:
        return None
    sequence = int(match["seq"]) if match["seq"] else 0
    return ReportName(match["stamp"], sequence), match["ext"], match["table"]


def latest_name(fmt: str, table: str | None = None) -> str:
    """``ballast-audit-latest.json``, ``ballast-audit-latest-images.csv`` …"""
    extension = EXTENSIONS[fmt]
    return f"{PREFIX}latest-{table}.{extension}" if table else f"{PREFIX}latest.{extension}"


def report_sets(directory: Path) -> dict[ReportName, list[Path]]:
    """Every report file in ``directory``, grouped by set (oldest set first)."""
    sets: dict[ReportName, list[Path]] = {}
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return {}
    for path in entries:
        parsed = parse_name(path.name)
        if parsed is not None and not path.is_symlink():
            sets.setdefault(parsed[0], []).append(path)
    return dict(sorted(sets.items()))


def next_name(directory: Path, stamp: str) -> ReportName:
    """A set name with ``stamp`` that no file in ``directory`` uses yet."""
    taken = {name for name in report_sets(directory) if name.stamp == stamp}
    name = ReportName(stamp)
    sequence = 2
    while name in taken:
        name = ReportName(stamp, sequence)
        sequence += 1
    return name


def find_previous(directory: Path, *, before: ReportName) -> Path | None:
    """The newest JSON report in ``directory`` of a set older than ``before``."""
    newest: tuple[ReportName, Path] | None = None
    for name, paths in report_sets(directory).items():
        if name >= before:
            continue
        json_files = [p for p in paths if p.name == name.file("json")]
        if json_files and (newest is None or name > newest[0]):
            newest = (name, json_files[0])
    return newest[1] if newest is not None else None
