"""Words for users: admission warnings and the deny message.

Owns :func:`warnings_for` (AdmissionReview ``warnings``: each under 120
characters, a bounded number of them, as the API server and kubectl expect)
and :func:`deny_message` (the status message of a denial: each offending
image, rule, measured value against the limit, the layer or path
responsible and the fix, and how to ask for an exception), plus the small
formatters reports share (:func:`short_instruction`, :func:`short_image`,
:func:`finding_summary`). Imports the verdict models. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Final

from ballast._errors import InvalidReference
from ballast.policy.exception import EXCEPTION_ANNOTATION
from ballast.policy.finding import Finding, Location
from ballast.policy.history import parse_created_by
from ballast.policy.outcome import Action, Status, Verdict
from ballast.policy.rules import Bound, rule_spec
from ballast.policy.verdict import Decision, ImageVerdict
from ballast.reference import parse_reference
from ballast.units import format_bytes

MAX_WARNING_CHARS: Final = 120
"""kubectl prints each warning on one line; longer ones wrap badly."""
DEFAULT_MAX_WARNINGS: Final = 10
"""Warnings per response; the API server caps the total size, and people stop reading."""
EXPIRY_NOTICE_DAYS: Final = 14
"""Honoured exceptions expiring within this many days get a warning."""
MAX_DENY_IMAGES: Final = 10
MAX_DENY_FINDINGS: Final = 5


def _cut(text: str, limit: int) -> str:
    """One line, at most ``limit`` characters (an ellipsis marks the cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def short_instruction(created_by: str, limit: int = 80) -> str:
    """``RUN /bin/sh -c apt-get update ... # buildkit`` → ``RUN apt-get update ...``, cut."""
    keyword, body = parse_created_by(created_by)
    text = f"{keyword} {body}" if keyword else body
    return _cut(text, limit)


def short_image(image: str) -> str:
    """Docker's short form (``ghcr.io/acme/api:1.4``, ``nginx:1.27``), digest cut to 12."""
    try:
        reference = parse_reference(image)
    except (InvalidReference, TypeError, ValueError):
        return _cut(image, 60)
    text = reference.familiar
    if reference.digest is not None:
        text = text.replace(reference.digest, reference.digest[:19])
    return text


def _where(location: Location | None, *, limit: int = 80, said: str = "") -> str:
    """``layer 3 (301.7 MB): RUN apt-get install ...; /app/.env`` (paths in ``said`` omitted)."""
    if location is None or location.is_empty:
        return ""
    parts: list[str] = []
    if location.layer_index is not None:
        layer = f"layer {location.layer_index}"
        if location.layer_bytes is not None:
            layer += f" ({format_bytes(location.layer_bytes)})"
        if location.created_by:
            layer += f": {short_instruction(location.created_by, limit)}"
        parts.append(layer)
    paths = [p for p in location.paths[:3] if p not in said]
    if paths:
        parts.append(", ".join(paths))
    return "; ".join(parts)


def finding_summary(finding: Finding) -> str:
    """``maxCompressedSize 512.3 MB > 400.0 MB`` / ``build-tools: gcc kept`` (no image, no fix)."""
    spec = rule_spec(finding.rule)
    if finding.measured is not None and finding.limit is not None and spec is not None:
        sign = ">" if spec.bound is Bound.MAX else "<"
        if finding.status is not Status.FAIL:
            sign = "≤" if spec.bound is Bound.MAX else "≥"
        return f"{finding.rule} {finding.measured.short} {sign} {finding.limit.short}"
    return f"{finding.rule}: {finding.message}"


def _fit(prefix: str, summary: str, advice: str, limit: int) -> str:
    """``prefix: summary: advice`` within ``limit``, cutting the advice first, then the summary."""
    head = " ".join((f"{prefix}: {summary}" if prefix else summary).split())
    advice = " ".join(advice.split())
    if advice:
        for fix in (advice, re.sub(r"\s*\([^)]*\)", "", advice)):
            whole = f"{head}; {fix}"
            if len(whole) <= limit:
                return whole
        room = limit - len(head) - 2
        if room >= 24:
            return f"{head}; {_cut(fix, room)}"
    return _cut(head, limit)


def _verdicts(subject: ImageVerdict | Decision) -> tuple[ImageVerdict, ...]:
    return subject.images if isinstance(subject, Decision) else (subject,)


def warnings_for(
    subject: ImageVerdict | Decision,
    *,
    max_items: int = DEFAULT_MAX_WARNINGS,
    max_chars: int = MAX_WARNING_CHARS,
) -> list[str]:
    """The AdmissionReview warnings for a verdict or a decision.

    In order: images admitted by ``failureMode: warn`` without facts, failures whose
    action is ``warn``,
    rules that could not be evaluated, ignored exceptions (with the reason),
    and honoured exceptions about to expire. Each is one line of at most
    ``max_chars`` characters; at most ``max_items`` are returned, the last
    saying how many more there were. Enforced failures are not repeated
    here: they are in the deny message.
    """
    if max_items < 1:
        return []
    verdicts = _verdicts(subject)
    several = len({v.image for v in verdicts}) > 1
    items: list[str] = []
    for verdict in verdicts:
        prefix = short_image(verdict.image) if several or verdict.failure else ""
        if verdict.failure is not None and verdict.verdict is Verdict.WARN:
            # failureMode allow admits silently; deny is said in the deny message
            mode = verdict.verdict.value
            items.append(
                _fit(
                    short_image(verdict.image),
                    f"not checked ({verdict.failure})",
                    f"failureMode {mode}",
                    max_chars,
                )
            )
        for finding in verdict.failures_with(Action.WARN):
            items.append(_fit(prefix, finding_summary(finding), finding.advice, max_chars))
    for verdict in verdicts:
        prefix = short_image(verdict.image) if several else ""
        for finding in verdict.errors:
            if finding.rule != "facts":
                items.append(_fit(prefix, f"{finding.rule} {finding.message}", "", max_chars))
    exception_items: list[str] = []
    for verdict in verdicts:
        for ignored in verdict.ignored_exceptions:
            exception_items.append(
                _cut(f"{EXCEPTION_ANNOTATION} ignored: {ignored.reason}", max_chars)
            )
        for honoured in verdict.exceptions:
            days = honoured.days_left
            if days is not None and days <= EXPIRY_NOTICE_DAYS and honoured.expires is not None:
                rules = ", ".join(honoured.rules)
                when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
                exception_items.append(
                    _cut(
                        f"exception #{honoured.index + 1} for {rules} expires {when} "
                        f"({honoured.expires.isoformat()})",
                        max_chars,
                    )
                )
    items.extend(exception_items)
    unique = list(dict.fromkeys(items))
    if len(unique) <= max_items:
        return unique
    kept = unique[: max_items - 1]
    more = len(unique) - len(kept)
    kept.append(_cut(f"… and {more} more; run `ballast check IMAGE` for every finding", max_chars))
    return kept


def deny_message(
    decision: Decision,
    *,
    max_images: int = MAX_DENY_IMAGES,
    max_findings: int = MAX_DENY_FINDINGS,
) -> str:
    """The status message of a denial: what is wrong with which image, and the fix.

    Lists each denied image with its enforced failures: rule, measured value
    against the limit, the layer or path responsible, and the fix; then how to
    request an exception. Bounded in length (``max_images`` × ``max_findings``).
    Returns ``""`` when nothing is denied.
    """
    denied = [v for v in decision.images if v.verdict is Verdict.DENY]
    if not denied:
        return ""
    who = decision.workload or "the workload"
    total = len({v.image for v in decision.images})
    noun = "image" if len(denied) == 1 else "images"
    verb = "breaks" if len(denied) == 1 else "break"
    lines = [f"ballast denied {who}: {len(denied)} of {total} {noun} {verb} the image policy"]
    rules: list[str] = []
    for verdict in denied[:max_images]:
        digest = f" ({verdict.digest[:19]})" if verdict.digest else ""
        lines.append(f"- {short_image(verdict.image)}{digest}")
        if verdict.failure is not None:
            lines.append(f"  - facts not available in time ({verdict.failure}); failureMode deny")
            lines.append("    fix: retry in a moment, ballast is still fetching them")
            continue
        enforced = verdict.failures_with(Action.ENFORCE)
        for finding in enforced[:max_findings]:
            rules.append(finding.rule)
            lines.append(f"  - {_deny_line(finding)}")
            if finding.advice:
                lines.append(f"    fix: {_cut(finding.advice, 160)}")
        if len(enforced) > max_findings:
            lines.append(f"  - … and {len(enforced) - max_findings} more")
    if len(denied) > max_images:
        lines.append(f"- … and {len(denied) - max_images} more images")
    if rules:
        example = json.dumps(
            {
                "rules": list(dict.fromkeys(rules))[:3],
                "justification": "…",
                "expires": "YYYY-MM-DD",
            },
            ensure_ascii=False,
        )
        lines.append(
            f"To request an exception, annotate the workload: {EXCEPTION_ANNOTATION}: '{example}'"
        )
    return "\n".join(lines)


def _deny_line(finding: Finding) -> str:
    text = finding_summary(finding)
    if (
        finding.measured is not None
        and finding.limit is not None
        and finding.measured.unit.size_kind
    ):
        text += f" ({finding.measured.unit.size_kind})"
    where = _where(finding.where, said=text)
    if where:
        text += f"; {where}"
    if finding.savings_bytes:
        text += f"; saves {format_bytes(finding.savings_bytes)}"
    return _cut(text, 240)


def describe_findings(findings: Iterable[Finding]) -> list[str]:
    """``rule: summary; where`` for each finding (reports reuse the deny wording)."""
    return [_deny_line(f) for f in findings]
