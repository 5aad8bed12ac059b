"""The self-contained HTML report: :func:`render_html`.

Owns one HTML page that opens from a file, a ConfigMap or an artefact store
with nothing else: inline CSS, charts as inline SVG (:mod:`svg_chart`), no
script, no fonts, no images, no external URL. A Content-Security-Policy meta
tag (``default-src 'none'``) makes the browser refuse any script or fetch, as a
second line behind escaping. Sections: summary cards, what changed since the
previous report, charts (largest images, pull footprint per namespace, failing
findings by category), largest images and workloads, namespaces, findings with
fix and savings, exceptions with expiry (expiring soon highlighted, not only by
colour), unknown images and notes. Long lists are cut; the CSV and JSON
reports have every row.

Every value from the cluster (image names, annotations, justifications, reasons)
is untrusted: it goes through :func:`html.escape` in :func:`_cell`/:func:`_e`,
and markup built here is marked :class:`_Markup` so the table helper never
escapes it twice nor leaves plain text unescaped. Pure; must not import Flask,
the Kubernetes client or :mod:`webhook`.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Iterable, Sequence
from typing import Final

from auditor.reports.changes import (
    Changes,
    ChangesStatus,
    FindingChange,
    ImageChangeKind,
    SummaryDelta,
)
from auditor.reports.svg_chart import Bar, bar_chart
from auditor.reports.view import (
    EXPIRY_NOTICE_DAYS,
    ReportView,
    count_delta_text,
    delta_text,
    size_text,
    time_text,
)
from ballast.units import format_bytes

__all__ = ["CONTENT_SECURITY_POLICY", "render_html"]

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)
"""No script, no fetch of any kind; only the page's own inline styles."""
MAX_ROWS: Final = 25
MAX_FINDINGS: Final = 200
MAX_NAMESPACES: Final = 100
MAX_CHART_BARS: Final = 10
MAX_CELL_CHARS: Final = 300


class _Markup(str):
    """HTML built by this module (already escaped); plain ``str`` cells are escaped."""

    __slots__ = ()


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _m(text: str) -> _Markup:
    return _Markup(text)


def _cell(value: str | _Markup) -> str:
    """A table cell's content: markup as is, text escaped and cut (whole text on hover)."""
    if isinstance(value, _Markup):
        return value
    text = " ".join(value.split())
    if len(text) <= MAX_CELL_CHARS:
        return _e(text)
    return f'<span title="{_e(text[:2000])}">{_e(text[: MAX_CELL_CHARS - 1])}…</span>'


def _code(text: str) -> _Markup:
    return _m(f"<code>{_cell(text)}</code>") if text else _m("")


def _badge(text: str, css: str) -> _Markup:
    return _m(f'<span class="badge {_e(css)}">{_e(text)}</span>')


def _verdict(verdict: str) -> _Markup:
    known = verdict if verdict in ("allow", "warn", "deny") else "unknown"
    return _badge(verdict, known)


def _table(
    header: Sequence[str],
    rows: Iterable[Sequence[str | _Markup]],
    *,
    numeric: Collection[int] = (),
    row_classes: Sequence[str] = (),
) -> str:
    head = "".join(
        f'<th scope="col"{" class=num" if n in numeric else ""}>{_e(h)}</th>'
        for n, h in enumerate(header)
    )
    body = []
    for r, row in enumerate(rows):
        css = row_classes[r] if r < len(row_classes) and row_classes[r] else ""
        cells = "".join(
            f"<td{' class=num' if n in numeric else ''}>{_cell(value)}</td>"
            for n, value in enumerate(row)
        )
        body.append(f'<tr class="{_e(css)}">{cells}</tr>' if css else f"<tr>{cells}</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _more(shown: int, total: int, what: str) -> str:
    if total <= shown:
        return ""
    return (
        f'<p class="more">Showing {shown} of {total} {_e(what)}; '
        "the CSV and JSON reports have them all.</p>"
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def render_html(view: ReportView) -> str:
    """The whole report as one HTML5 document."""
    meta = view.meta
    title = f"ballast audit — {time_text(meta.started)}"
    sections = [
        _summary(view),
        _changes(view.changes) if view.changes is not None else "",
        _charts(view),
        _images(view),
        _workloads(view),
        _namespaces(view),
        _findings(view),
        _exceptions(view),
        _unknown(view),
        _notes(view),
    ]
    toc = [
        ("summary", "Summary"),
        *([("changes", "Changes")] if view.changes is not None else []),
        ("charts", "Charts"),
        ("images", "Images"),
        ("workloads", "Workloads"),
        ("namespaces", "Namespaces"),
        ("findings", "Findings"),
        ("exceptions", "Exceptions"),
        *([("unknown", "Unknown images")] if view.unknown_images else []),
        *([("notes", "Notes")] if view.notes else []),
    ]
    nav = " ".join(f'<a href="#{anchor}">{_e(label)}</a>' for anchor, label in toc)
    policy = meta.policy_name or "built-in policy"
    header = (
        f"<header><h1>ballast audit report</h1>"
        f'<p class="meta">Audited <strong>{_e(time_text(meta.started))}</strong> in '
        f"{meta.duration_s:.1f} s · source <code>{_e(meta.source or 'unknown')}</code> · "
        f"policy <strong>{_e(policy)}</strong> (mode {_e(meta.policy_mode)}, failure mode "
        f"{_e(meta.failure_mode)})"
        + (f" · platforms {_e(', '.join(meta.platforms))}" if meta.platforms else "")
        + f'</p><nav aria-label="sections">{nav}</nav></header>'
    )
    footer = (
        "<footer>Generated by ballast from audit report schemaVersion "
        f"{meta.schema_version}. Sizes are compressed (what nodes pull) unless marked "
        "uncompressed; pull footprint is size × nodes running the image; savings are "
        "uncompressed bytes per image copy.</footer>"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CONTENT_SECURITY_POLICY)}">'
        '<meta name="generator" content="ballast">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body>{header}<main>{''.join(sections)}</main>{footer}</body></html>\n"
    )


# -- sections ----------------------------------------------------------------------------------


def _card(value: str, label: str, sub: str = "", *, css: str = "") -> str:
    return (
        f'<div class="card {_e(css)}"><div class="value">{_e(value)}</div>'
        f'<div class="label">{_e(label)}</div>'
        + (f'<div class="sub">{_e(sub)}</div>' if sub else "")
        + "</div>"
    )


def _since(changes: Changes | None, key: str, *, is_size: bool) -> str:
    if changes is None or changes.status is ChangesStatus.UNAVAILABLE:
        return ""
    delta: SummaryDelta | None = changes.summary.get(key)
    if delta is None or delta.delta is None:
        return ""
    text = delta_text(delta.delta) if is_size else count_delta_text(delta.delta)
    return f"{text} since previous"


def _summary(view: ReportView) -> str:
    s, ch = view.summary, view.changes
    soon = len(view.expiring_soon)
    cards = [
        _card(str(s.pods), "pods", f"{s.containers} containers", css=""),
        _card(
            str(s.workloads),
            "workloads",
            f"{_plural(s.namespaces, 'namespace')}, {_plural(s.nodes, 'node')}",
        ),
        _card(
            str(s.unique_images),
            "unique images",
            _since(ch, "uniqueImages", is_size=False) or f"{s.unknown_images} unknown",
        ),
        _card(
            format_bytes(s.compressed_bytes),
            "compressed, unique images",
            _since(ch, "compressedSize", is_size=True),
        ),
        _card(
            format_bytes(s.pull_footprint_bytes),
            "pull footprint (size × nodes)",
            _since(ch, "pullFootprint", is_size=True),
        ),
        _card(
            str(s.failed_findings),
            "failing findings",
            _since(ch, "failedFindings", is_size=False),
            css="alert" if s.failed_findings else "",
        ),
        _card(
            format_bytes(s.savings_bytes),
            "estimated savings",
            "uncompressed, per image copy",
            css="good" if s.savings_bytes else "",
        ),
        _card(
            str(s.exceptions_honoured),
            "exceptions honoured",
            f"{soon} expiring within {EXPIRY_NOTICE_DAYS} days, {s.exceptions_ignored} ignored",
            css="soon" if soon else "",
        ),
    ]
    verdicts = " ".join(
        f"{_verdict(v)} {s.images_by_verdict.get(v, 0)}" for v in ("allow", "warn", "deny")
    )
    extra = ""
    if s.unknown_images:
        extra += (
            f" · {_badge('unknown', 'unknown')} {s.unknown_images} "
            f"({_plural(s.registry_errors, 'registry error')})"
        )
    if s.skipped_items:
        extra += f" · {s.skipped_items} list items could not be read (see notes)"
    empty = (
        '<p class="empty">No pods were found: nothing runs, or nothing could be listed.</p>'
        if s.pods == 0
        else ""
    )
    return (
        '<section id="summary"><h2>Summary</h2>'
        f'<div class="cards">{"".join(cards)}</div>'
        f'<p class="verdicts">Images by verdict: {verdicts}{extra}</p>{empty}</section>'
    )


_CHANGE_CSS: Final = {
    ImageChangeKind.NEW: "new",
    ImageChangeKind.GROWN: "deny",
    ImageChangeKind.SHRUNK: "allow",
    ImageChangeKind.UPDATED: "unknown",
    ImageChangeKind.GONE: "gone",
}
_SUMMARY_LABELS: Final = {
    "uniqueImages": ("unique images", False),
    "compressedSize": ("compressed size", True),
    "pullFootprint": ("pull footprint", True),
    "failedFindings": ("failing findings", False),
    "savingsBytes": ("estimated savings (uncompressed)", True),
    "unknownImages": ("unknown images", False),
    "workloads": ("workloads", False),
    "pods": ("pods", False),
}


def _changes(changes: Changes) -> str:
    parts = ['<section id="changes"><h2>What changed since the previous report</h2>']
    notes = "".join(f'<p class="warning">⚠ {_e(note)}</p>' for note in changes.notes)
    if changes.status is ChangesStatus.UNAVAILABLE:
        return "".join(parts) + notes + "</section>"
    previous = changes.previous_file or "the previous report"
    when = f" ({time_text(changes.previous_started)})" if changes.previous_started else ""
    parts.append(f"<p>Compared with <code>{_e(previous)}</code>{_e(when)}.</p>{notes}")
    rows = []
    for key, delta in changes.summary.items():
        label, is_size = _SUMMARY_LABELS.get(key, (key, False))
        if is_size:
            row = (label, size_text(delta.previous), size_text(delta.current))
            moved = delta_text(delta.delta)
        else:
            before = str(delta.previous) if delta.previous is not None else "–"
            row = (label, before, str(delta.current))
            moved = count_delta_text(delta.delta)
        rows.append((*row, moved))
    if rows:
        parts.append(_table(("", "before", "now", "change"), rows, numeric={1, 2, 3}))
    counts = ", ".join(
        f"{changes.count(kind)} {kind.value}" for kind in ImageChangeKind if changes.count(kind)
    )
    parts.append(
        f"<p>Images: {_e(counts or 'no changes')} ({changes.unchanged_images} unchanged). "
        f"Findings: {len(changes.new_findings)} new, {len(changes.resolved_findings)} "
        "resolved.</p>"
    )
    if changes.images:
        shown = changes.images[:MAX_ROWS]
        parts.append(
            _table(
                ("change", "image", "before", "now", "change in size"),
                (
                    (
                        _badge(c.kind.value, _CHANGE_CSS[c.kind]),
                        _code(c.name),
                        size_text(c.previous_compressed_bytes),
                        size_text(c.compressed_bytes),
                        delta_text(c.delta_bytes),
                    )
                    for c in shown
                ),
                numeric={2, 3, 4},
            )
        )
        parts.append(_more(len(shown), len(changes.images), "changed images"))
    parts.append(_finding_changes("New findings", changes.new_findings))
    parts.append(_finding_changes("Resolved findings", changes.resolved_findings))
    parts.append("</section>")
    return "".join(parts)


def _finding_changes(title: str, findings: Sequence[FindingChange]) -> str:
    if not findings:
        return ""
    shown = findings[:MAX_ROWS]
    table = _table(
        ("image", "rule", "what", "fix"),
        (
            (
                _m(
                    _code(f.image_name)
                    + (" " + _badge("image gone", "gone") if f.image_gone else "")
                ),
                f.category or f.rule,
                f.message,
                f.advice,
            )
            for f in shown
        ),
    )
    return f"<h3>{_e(title)}</h3>{table}{_more(len(shown), len(findings), title.lower())}"


def _charts(view: ReportView) -> str:
    images = [
        Bar(
            label=i.name,
            value=float(i.compressed_bytes or 0),
            text=size_text(i.compressed_bytes),
            css_class=f"bar {i.verdict if i.verdict in ('allow', 'warn', 'deny') else ''}",
            tooltip=i.name,
        )
        for i in view.known_images[:MAX_CHART_BARS]
    ]
    namespaces = sorted(view.namespaces, key=lambda n: -n.pull_footprint_bytes)[:MAX_CHART_BARS]
    footprint = [
        Bar(
            label=n.name,
            value=float(n.pull_footprint_bytes),
            text=format_bytes(n.pull_footprint_bytes),
        )
        for n in namespaces
    ]
    findings = [
        Bar(
            label=group,
            value=float(count),
            text=f"{count}" + (f" · {format_bytes(saved)}" if saved else ""),
            css_class="bar finding",
        )
        for group, count, saved in view.findings_by_group()[:MAX_CHART_BARS]
    ]
    legend = (
        '<p class="legend"><span class="swatch allow"></span>allow '
        '<span class="swatch warn"></span>warn <span class="swatch deny"></span>deny</p>'
    )
    figures = [
        (
            "Largest images (compressed)",
            bar_chart(
                images,
                title="Largest images by compressed size",
                empty_text="No images",
                width_px=1000,
                label_chars=60,
            )
            + legend,
        ),
        (
            "Pull footprint per namespace",
            bar_chart(
                footprint,
                title="Pull footprint (compressed size × nodes) per namespace",
                empty_text="No namespaces",
            ),
        ),
        (
            "Failing findings by category",
            bar_chart(
                findings, title="Failing findings by category", empty_text="No failing findings"
            ),
        ),
    ]
    body = "".join(
        f"<figure><figcaption>{_e(caption)}</figcaption>{svg}</figure>" for caption, svg in figures
    )
    return f'<section id="charts"><h2>Charts</h2><div class="charts">{body}</div></section>'


def _images(view: ReportView) -> str:
    known = view.known_images
    head = '<section id="images"><h2>Largest images</h2>'
    if not known:
        return head + '<p class="empty">No image with a known size.</p></section>'
    changed = {c.key: c for c in view.changes.images if c.key is not None} if view.changes else {}
    shown = known[:MAX_ROWS]
    rows = []
    for n, i in enumerate(shown, start=1):
        change = changed.get(i.key)
        name = _code(i.name)
        if change is not None:
            name = _m(name + " " + _badge(change.kind.value, _CHANGE_CSS[change.kind]))
        rows.append(
            (
                str(n),
                name,
                size_text(i.compressed_bytes),
                str(i.layer_count) if i.layer_count is not None else "–",
                str(i.node_count),
                str(i.pods),
                size_text(i.pull_footprint_bytes),
                _verdict(i.verdict),
                ", ".join(i.failed_rules) or "–",
                format_bytes(i.savings_bytes) if i.savings_bytes else "–",
            )
        )
    table = _table(
        (
            "#",
            "image",
            "compressed",
            "layers",
            "nodes",
            "pods",
            "pull footprint",
            "verdict",
            "failing rules",
            "savings",
        ),
        rows,
        numeric={0, 2, 3, 4, 5, 6, 9},
    )
    return head + table + _more(len(shown), len(known), "images") + "</section>"


def _workloads(view: ReportView) -> str:
    head = '<section id="workloads"><h2>Largest workloads (by pull footprint)</h2>'
    if not view.workloads:
        return head + '<p class="empty">No workloads.</p></section>'
    shown = view.workloads[:MAX_ROWS]
    table = _table(
        (
            "namespace",
            "workload",
            "kind",
            "pods",
            "nodes",
            "images",
            "compressed",
            "pull footprint",
            "verdict",
        ),
        (
            (
                w.namespace,
                _code(w.name),
                w.kind,
                str(w.pods),
                str(w.node_count),
                _m(
                    " ".join(_code(name) for name in w.image_names[:5])
                    + (f" +{len(w.image_names) - 5}" if len(w.image_names) > 5 else "")
                ),
                format_bytes(w.compressed_bytes),
                format_bytes(w.pull_footprint_bytes),
                _verdict(w.verdict),
            )
            for w in shown
        ),
        numeric={3, 4, 6, 7},
    )
    return head + table + _more(len(shown), len(view.workloads), "workloads") + "</section>"


def _namespaces(view: ReportView) -> str:
    head = '<section id="namespaces"><h2>Namespaces</h2>'
    if not view.namespaces:
        return head + '<p class="empty">No namespaces.</p></section>'
    shown = view.namespaces[:MAX_NAMESPACES]
    table = _table(
        (
            "namespace",
            "pods",
            "workloads",
            "images",
            "unknown",
            "compressed",
            "pull footprint",
            "failing findings",
            "savings",
        ),
        (
            (
                _code(n.name),
                str(n.pods),
                str(n.workloads),
                str(n.images),
                str(n.unknown_images) if n.unknown_images else "–",
                format_bytes(n.compressed_bytes),
                format_bytes(n.pull_footprint_bytes),
                str(n.failed_findings),
                format_bytes(n.savings_bytes) if n.savings_bytes else "–",
            )
            for n in shown
        ),
        numeric={1, 2, 3, 4, 5, 6, 7, 8},
    )
    return head + table + _more(len(shown), len(view.namespaces), "namespaces") + "</section>"


_STATUS_CSS: Final = {"fail": "deny", "warn": "waived", "error": "unknown"}


def _findings(view: ReportView) -> str:
    head = '<section id="findings"><h2>Findings</h2>'
    if not view.findings:
        return head + '<p class="empty">No findings.</p></section>'
    new = (
        {(f.image, f.rule, f.detail) for f in view.changes.new_findings}
        if view.changes is not None
        else set()
    )
    shown = view.findings[:MAX_FINDINGS]
    rows = []
    for f in shown:
        status = "waived" if f.status == "warn" else f.status
        badges: str = _badge(status, _STATUS_CSS.get(f.status, "unknown"))
        badges += f'<div class="sub">{_e(f.action)}</div>'
        if (f.image, f.rule, f.detail) in new:
            badges += " " + _badge("new", "new")
        what = _cell(f.message)
        if f.where:
            what += f'<div class="where"><code>{_cell(f.where)}</code></div>'
        savings = "–"
        if f.savings_bytes:
            savings = format_bytes(f.savings_bytes)
            if f.node_savings_bytes and f.node_count > 1:
                savings += f" ({format_bytes(f.node_savings_bytes)} on {f.node_count} nodes)"
        workloads = "".join(f"<div>{_cell(w)}</div>" for w in f.workloads[:3])
        if len(f.workloads) > 3:
            workloads += f'<div class="sub">+{len(f.workloads) - 3} more</div>'
        rows.append(
            (
                _m(badges),
                _code(f.image_name),
                f.rule + (f" ({f.severity})" if f.severity else ""),
                _m(what),
                f.advice,
                savings,
                _m(workloads),
            )
        )
    table = _table(
        ("status", "image", "rule", "what and where", "fix", "savings", "workloads"),
        rows,
        numeric={5},
    )
    return head + table + _more(len(shown), len(view.findings), "findings") + "</section>"


def _exceptions(view: ReportView) -> str:
    head = '<section id="exceptions"><h2>Exceptions</h2>'
    if not view.exceptions and not view.ignored_exceptions:
        return head + '<p class="empty">No exceptions.</p></section>'
    parts = [head]
    if view.exceptions:
        rows = []
        for e in view.exceptions:
            expiry = f"{e.expires or 'never'} · {e.expiry}"
            cell: str | _Markup = expiry
            if e.is_expiring_soon:
                cell = _m(f'<strong class="soon-text">⚠ expires soon: {_e(expiry)}</strong>')
            rows.append(
                (
                    _code(e.workload),
                    ", ".join(e.rules),
                    e.justification,
                    e.limit or "waived",
                    cell,
                    ", ".join(e.applied_to) or "nothing this pass",
                )
            )
        parts.append(
            _table(
                ("workload", "rules", "justification", "limit", "expires", "applied to"),
                rows,
                row_classes=["soon" if e.is_expiring_soon else "" for e in view.exceptions],
            )
        )
    if view.ignored_exceptions:
        parts.append("<h3>Ignored exceptions</h3>")
        parts.append(
            _table(
                ("workload", "rules", "why"),
                (
                    (_code(i.workload), ", ".join(i.rules), i.reason)
                    for i in view.ignored_exceptions
                ),
            )
        )
    parts.append("</section>")
    return "".join(parts)


def _unknown(view: ReportView) -> str:
    unknown = view.unknown_images
    if not unknown:
        return ""
    shown = unknown[:MAX_ROWS]
    table = _table(
        ("image", "pods", "error", "why"),
        ((_code(i.name), str(i.pods), i.error_type or "–", i.unknown_reason or "") for i in shown),
        numeric={1},
    )
    return (
        '<section id="unknown"><h2>Unknown images</h2>'
        "<p>No facts could be read for these images; the policy's failure mode judged them.</p>"
        + table
        + _more(len(shown), len(unknown), "unknown images")
        + "</section>"
    )


def _notes(view: ReportView) -> str:
    if not view.notes:
        return ""
    items = "".join(f"<li>{_cell(note)}</li>" for note in view.notes)
    return f'<section id="notes"><h2>Notes</h2><ul>{items}</ul></section>'


_CSS: Final = """
:root{--bg:#f6f7f9;--fg:#1c2230;--muted:#5d6678;--card:#fff;--line:#dde1e8;--accent:#2f6fde;
--allow:#2e8b57;--warn:#d48a00;--deny:#c8372d;--unknown:#7d8797;--new:#2f6fde;--soon:#fff3d1;
--soon-line:#e0a800}
@media (prefers-color-scheme:dark){:root{--bg:#14171d;--fg:#e6e9ef;--muted:#9aa3b2;
--card:#1d222b;--line:#323947;--soon:#3a3020}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header{background:var(--card);border-bottom:1px solid var(--line);padding:18px 28px 10px}
h1{margin:0 0 4px;font-size:22px}
h2{margin:28px 0 10px;font-size:18px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{margin:18px 0 8px;font-size:15px}
.meta{margin:0;color:var(--muted)}
nav{margin-top:8px;display:flex;flex-wrap:wrap;gap:4px 14px}
nav a{color:var(--accent);text-decoration:none}
nav a:hover{text-decoration:underline}
main{padding:4px 28px 28px;max-width:1400px}
code{font:12.5px/1.3 ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;
overflow-wrap:break-word}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(128px,1fr));gap:10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px;
border-top:4px solid var(--accent)}
.card.alert{border-top-color:var(--deny)}
.card.good{border-top-color:var(--allow)}
.card.soon{border-top-color:var(--warn);background:var(--soon)}
.card .value{font-size:20px;font-weight:650;white-space:nowrap}
.card .label{color:var(--muted)}
.card .sub{color:var(--muted);font-size:12px;margin-top:2px}
.verdicts{margin:12px 0 0}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;
color:#fff;background:var(--unknown);white-space:nowrap}
.badge.allow{background:var(--allow)}
.badge.warn,.badge.waived{background:var(--warn)}
.badge.deny{background:var(--deny)}
.badge.new{background:var(--new)}
.badge.gone{background:var(--unknown);text-decoration:line-through}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px}
.charts figure:first-child{grid-column:1/-1}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:10px 12px}
figcaption{font-weight:600;margin-bottom:6px}
.chart{display:block;max-width:100%;height:auto}
.chart text{font-size:12px;fill:var(--fg)}
.chart text.value,.chart text.empty{fill:var(--muted)}
.chart rect{fill:var(--accent)}
.chart rect.allow{fill:var(--allow)}
.chart rect.warn{fill:var(--warn)}
.chart rect.deny{fill:var(--deny)}
.chart rect.finding{fill:#8a5cd6}
.legend{margin:4px 0 0;color:var(--muted);font-size:12px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 8px;
background:var(--accent)}
.swatch.allow{background:var(--allow)}
.swatch.warn{background:var(--warn)}
.swatch.deny{background:var(--deny)}
.scroll{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%}
th,td{padding:5px 9px;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}
th{font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);
white-space:nowrap}
tbody tr:last-child td{border-bottom:none}
tbody tr:nth-child(even){background:rgba(127,127,127,.05)}
td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
tr.soon td{background:var(--soon)}
tr.soon td:first-child{box-shadow:inset 4px 0 var(--soon-line)}
.soon-text{color:inherit}
.warning{background:var(--soon);border-left:4px solid var(--soon-line);padding:8px 12px;
border-radius:4px}
td .sub,.where{color:var(--muted);font-size:12px;margin-top:2px}
.more,.empty{color:var(--muted);font-style:italic}
footer{padding:14px 28px 28px;color:var(--muted);font-size:12px}
@media print{nav{display:none}body{background:#fff}.scroll{overflow:visible}}
"""
