"""Policy-check output for ``ballast check``: human text, a JSON document and Markdown.

Owns :func:`format_text` (the terminal), :func:`decision_to_json` (one
camelCase document for ``--json``: sizes in bytes, each measured value and
limit with its unit and, for sizes, ``sizeKind`` compressed/uncompressed; NaN
becomes null) and :func:`format_markdown` (a pull-request comment: a summary
table, then one collapsible section per image). All pure functions of a
:class:`~ballast.policy.verdict.Decision`; the CLI prints them.
"""

from __future__ import annotations

import math
from typing import Any, Final

from ballast.policy.finding import Finding, Location, Quantity
from ballast.policy.message import finding_summary, short_image, short_instruction
from ballast.policy.outcome import Status, Verdict
from ballast.policy.verdict import Decision, HonouredException, ImageVerdict
from ballast.units import format_bytes

JSON_VERSION: Final = 1
"""Bumped when the meaning of a key of :func:`decision_to_json` changes."""
_BADGES: Final = {Verdict.ALLOW: "✅ allow", Verdict.WARN: "⚠️ warn", Verdict.DENY: "❌ deny"}


# -- JSON ------------------------------------------------------------------------------------


def _number(value: float) -> float | int | None:
    if isinstance(value, int):
        return value
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() and abs(value) >= 1 else value


def quantity_to_json(quantity: Quantity | None) -> dict[str, Any] | None:
    """``{"value": 412300000, "unit": "bytes", "sizeKind": "compressed"}``."""
    if quantity is None:
        return None
    unit = quantity.unit
    document: dict[str, Any] = {
        "value": _number(quantity.value),
        "unit": "bytes" if unit.is_bytes else unit.value,
    }
    if unit.size_kind is not None:
        document["sizeKind"] = unit.size_kind
    return document


def _location_to_json(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {
        "layerIndex": location.layer_index,
        "layerDigest": location.layer_digest or None,
        "layerCompressedSize": location.layer_bytes,
        "paths": list(location.paths),
        "createdBy": location.created_by or None,
    }


def finding_to_json(finding: Finding) -> dict[str, Any]:
    """One finding, camelCase."""
    return {
        "rule": finding.rule,
        "status": finding.status.value,
        "action": finding.action.value,
        "message": finding.message,
        "measured": quantity_to_json(finding.measured),
        "limit": quantity_to_json(finding.limit),
        "where": _location_to_json(finding.where),
        "advice": finding.advice or None,
        "savingsBytes": finding.savings_bytes,
        "category": finding.category.value if finding.category is not None else None,
        "severity": finding.severity.value if finding.severity is not None else None,
        "detail": finding.detail or None,
        "exception": finding.exception,
    }


def _honoured_to_json(exception: HonouredException) -> dict[str, Any]:
    return {
        "index": exception.index,
        "rules": list(exception.rules),
        "justification": exception.justification,
        "expires": exception.expires.isoformat() if exception.expires is not None else None,
        "limit": quantity_to_json(exception.limit),
        "images": list(exception.images),
        "appliedTo": list(exception.applied_to),
        "daysLeft": exception.days_left,
    }


def verdict_to_json(verdict: ImageVerdict) -> dict[str, Any]:
    """One image's verdict, camelCase."""
    return {
        "image": verdict.image,
        "digest": verdict.digest or None,
        "verdict": verdict.verdict.value,
        "policy": verdict.policy or None,
        "exempt": verdict.exempt,
        "failure": verdict.failure,
        "layersRead": verdict.layers_read,
        "findings": [finding_to_json(f) for f in verdict.findings],
        "exceptions": [_honoured_to_json(e) for e in verdict.exceptions],
        "ignoredExceptions": [
            {"index": i.index, "reason": i.reason, "rules": list(i.rules)}
            for i in verdict.ignored_exceptions
        ],
    }


def decision_to_json(decision: Decision) -> dict[str, Any]:
    """The ``ballast check --json`` document."""
    counts = {v: sum(1 for i in decision.images if i.verdict is v) for v in Verdict}
    return {
        "version": JSON_VERSION,
        "verdict": decision.verdict.value,
        "workload": decision.workload or None,
        "summary": {
            "images": len(decision.images),
            "denied": counts[Verdict.DENY],
            "warned": counts[Verdict.WARN],
            "allowed": counts[Verdict.ALLOW],
        },
        "images": [verdict_to_json(v) for v in decision.images],
    }


# -- text ------------------------------------------------------------------------------------


def _where_lines(location: Location | None) -> list[str]:
    if location is None or location.is_empty:
        return []
    lines: list[str] = []
    if location.layer_index is not None:
        size = (
            f" ({format_bytes(location.layer_bytes)})" if location.layer_bytes is not None else ""
        )
        instruction = short_instruction(location.created_by, 90) if location.created_by else ""
        lines.append(f"layer {location.layer_index}{size}: {instruction}".rstrip(": "))
    if location.paths:
        lines.append("paths: " + ", ".join(location.paths[:5]))
    return lines


def _skipped(verdict: ImageVerdict) -> list[str]:
    """Rules not evaluated because layer facts were not read: a pass must not hide them."""
    return [
        f.rule for f in verdict.findings if f.status is Status.SKIP and "layer facts" in f.message
    ]


def _shown(finding: Finding, verbose: bool) -> bool:
    return verbose or finding.status in (Status.FAIL, Status.WARN, Status.ERROR)


def format_text(decision: Decision, *, verbose: bool = False) -> str:
    """What ``ballast check`` prints for people: failures with where and fix; all with verbose."""
    lines: list[str] = []
    for verdict in decision.images:
        digest = f"  {verdict.digest[:19]}" if verdict.digest else ""
        header = f"{verdict.verdict.value.upper():5} {short_image(verdict.image)}{digest}"
        lines.append(header)
        if verdict.exempt is not None:
            lines.append(f"      not judged: {verdict.exempt}")
        if verdict.failure is not None:
            lines.append(
                f"      not checked: {verdict.failure} (failure mode {verdict.verdict.value})"
            )
        for finding in verdict.findings:
            if not _shown(finding, verbose):
                continue
            status = "waived" if finding.status is Status.WARN else finding.status.value
            lines.append(f"  {status:6} {finding.action.value:7} {finding_summary(finding)}")
            if finding.status in (Status.FAIL, Status.WARN):
                for extra in _where_lines(finding.where):
                    lines.append(f"{'':17}{extra}")
                if finding.advice:
                    saving = (
                        f" (saves {format_bytes(finding.savings_bytes)})"
                        if finding.savings_bytes
                        else ""
                    )
                    lines.append(f"{'':17}fix: {finding.advice}{saving}")
        skipped = _skipped(verdict)
        if skipped and not verbose:
            lines.append(f"  skip   {len(skipped)} rule(s) need layer facts: {', '.join(skipped)}")
        for honoured in verdict.exceptions:
            expiry = f", expires {honoured.expires.isoformat()}" if honoured.expires else ""
            applied = ", ".join(honoured.applied_to) or "nothing to waive"
            lines.append(
                f"  exception #{honoured.index + 1} ({', '.join(honoured.rules)}{expiry}): "
                f"{applied}; {honoured.justification}"
            )
        for ignored in verdict.ignored_exceptions:
            lines.append(f"  exception ignored: {ignored.reason}")
    counts = {v: sum(1 for i in decision.images if i.verdict is v) for v in Verdict}
    lines.append(
        f"{len(decision.images)} image{'s' if len(decision.images) != 1 else ''}: "
        f"{counts[Verdict.DENY]} denied, {counts[Verdict.WARN]} warned, "
        f"{counts[Verdict.ALLOW]} allowed"
    )
    return "\n".join(lines)


# -- Markdown --------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Table-cell safe: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    """An inline code span that survives backticks and pipes inside a table."""
    text = _cell(text)
    fence = "``" if "`" in text else "`"
    padding = " " if fence == "``" else ""
    return f"{fence}{padding}{text}{padding}{fence}" if text else ""


def format_markdown(decision: Decision, *, verbose: bool = False) -> str:
    """A pull-request comment: overall verdict, a table of images, details per image."""
    lines = [f"### ballast image policy: {_BADGES[decision.verdict]}", ""]
    lines += ["| image | verdict | failing rules |", "|---|---|---|"]
    for verdict in decision.images:
        failing = sorted({f.rule for f in verdict.failures})
        skipped = _skipped(verdict)
        note = verdict.exempt or verdict.failure or ""
        if skipped and not note:
            note = f"not evaluated (need layer facts): {', '.join(skipped)}"
        rules = ", ".join(failing) if failing else (_cell(note) or "–")
        if failing and skipped:
            rules += f"; not evaluated: {', '.join(skipped)}"
        lines.append(
            f"| {_code(short_image(verdict.image))} | {_BADGES[verdict.verdict]} | {rules} |"
        )
    for verdict in decision.images:
        shown = [f for f in verdict.findings if _shown(f, verbose)]
        if not shown and not verdict.exceptions and not verdict.ignored_exceptions:
            continue
        lines += [
            "",
            f"<details><summary>{_cell(short_image(verdict.image))}: {len(shown)} finding"
            f"{'s' if len(shown) != 1 else ''}</summary>",
            "",
            "| status | action | rule | measured | limit | where | fix |",
            "|---|---|---|---|---|---|---|",
        ]
        for finding in shown:
            measured = str(finding.measured) if finding.measured is not None else ""
            limit = str(finding.limit) if finding.limit is not None else ""
            where = "; ".join(_where_lines(finding.where))
            status = "waived" if finding.status is Status.WARN else finding.status.value
            message = finding.message if finding.category is not None else ""
            rule = f"{finding.rule}" + (f": {_cell(message)}" if message else "")
            lines.append(
                f"| {status} | {finding.action.value} | {rule} | {_cell(measured)} | "
                f"{_cell(limit)} | {_code(where)} | {_cell(finding.advice)} |"
            )
        for honoured in verdict.exceptions:
            expiry = f" (expires {honoured.expires.isoformat()})" if honoured.expires else ""
            lines.append("")
            lines.append(
                f"- exception #{honoured.index + 1} for {', '.join(honoured.rules)}{expiry}: "
                f"{_cell(honoured.justification)}"
            )
        for ignored in verdict.ignored_exceptions:
            lines.append("")
            lines.append(f"- exception ignored: {_cell(ignored.reason)}")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
