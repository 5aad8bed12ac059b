"""Reports of hand-made audits: an empty cluster, unknown images, exceptions about to expire,
hostile names and annotations, and the escaping each format relies on.

The pods are real pod documents (:mod:`tests.auditor.podlists`) audited by the real pass;
only the registry is replaced by :class:`TableResolver` so sizes and failures are exact.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.reports import (
    CSV_TABLES,
    InvalidReport,
    ReportError,
    ReportWriteError,
    configmap_manifest,
    render,
    report_problems,
    spreadsheet_safe,
    write_reports,
)
from auditor.reports.markdown_report import escape_markdown
from auditor.reports.svg_chart import Bar, bar_chart
from ballast._errors import RegistryUnavailable
from tests.auditor.conftest import TODAY
from tests.auditor.podlists import C, make_pod, owner
from tests.auditor.test_report_support import (
    APT_RUN,
    MB,
    FakeImage,
    TableResolver,
    markdown_tables,
    needs_chromium,
    render_in_chromium,
    scan_html,
    snapshot_of,
)

REG = "registry.example.com"
WEB = f"{REG}/shop/web:1.4"
API = f"{REG}/shop/api:2.0"
WORKER = f"{REG}/shop/worker:7"
BATCH = f"{REG}/batch/report:3"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def images() -> dict[str, FakeImage | Exception]:
    return {
        WEB: FakeImage((180 * MB, 150 * MB)),
        API: FakeImage((300 * MB, 150 * MB), history=("ADD rootfs.tar.xz / # buildkit", APT_RUN)),
        WORKER: FakeImage((90 * MB,)),
        BATCH: FakeImage((40 * MB, 5 * MB)),
    }


def deployment(
    name: str,
    namespace: str,
    tag_ref: str,
    resolver: TableResolver,
    *,
    replicas: int = 2,
    annotations: dict[str, str] | None = None,
    kind: str = "StatefulSet",
) -> list[dict[str, Any]]:
    """Pods of one workload, one per node, running ``tag_ref`` by its digest."""
    image_id = f"{tag_ref.rsplit(':', 1)[0]}@{resolver.digest_of(tag_ref)}"
    return [
        make_pod(
            f"{name}-{n}",
            namespace,
            containers=[C(name, tag_ref, image_id)],
            node=f"node-{n}",
            annotations=annotations,
            owners=[owner(kind, name)],
        )
        for n in range(replicas)
    ]


def exception(days: int | None, justification: str = "vendor image, tracked in OPS-12") -> str:
    expires = (
        f"  expires: {(TODAY + dt.timedelta(days=days)).isoformat()}\n" if days is not None else ""
    )
    return f"- rules: [maxCompressedSize]\n  justification: {json.dumps(justification)}\n{expires}"


def csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


# -- an empty cluster -----------------------------------------------------------------------------


@needs_chromium
def test_an_empty_cluster_gives_complete_reports_that_say_nothing_runs(tmp_path: Path) -> None:
    snapshot = snapshot_of([], TableResolver({}))
    files = write_reports(snapshot, tmp_path)
    by_suffix = {f.name.split("Z", 1)[1]: f for f in files}

    document = json.loads(by_suffix[".json"].read_text())
    assert report_problems(document) == []
    assert document["summary"]["pods"] == 0 and document["images"] == []

    markdown = by_suffix[".md"].read_text()
    assert "_No image with a known size._" in markdown and "_No findings._" in markdown
    assert "| Pods / containers | 0 / 0 |" in markdown

    for table in CSV_TABLES:
        rows = csv_rows(by_suffix[f"-{table}.csv"])
        assert len(rows) == 1 and rows[0], table  # the header alone

    page = by_suffix[".html"]
    text = page.read_text()
    assert "No pods were found" in text
    assert text.count(">No images<") == 1 and ">No failing findings<" in text
    rendered = render_in_chromium(page, tmp_path)
    assert rendered.console == []


# -- unknown images -------------------------------------------------------------------------------


def test_unknown_images_are_listed_with_why_and_left_out_of_sizes(tmp_path: Path) -> None:
    table = images()
    table[API] = RegistryUnavailable(
        "registry registry.example.com did not answer in 15 s", host=REG, image=API
    )
    resolver = TableResolver(table)
    pods = [
        *deployment("web", "shop", WEB, resolver),
        make_pod("api-0", "shop", containers=[C("api", API)], node="node-0"),
        make_pod("gone-0", "shop", containers=[C("gone", f"{REG}/shop/gone:1")], node="node-1"),
    ]
    snapshot = snapshot_of(pods, resolver)
    assert snapshot.counts.unknown_images == 2

    markdown = render(snapshot, "markdown")
    section = markdown.split("## Unknown images", 1)[1]
    assert "RegistryUnavailable: registry registry.example.com did not answer in 15 s" in section
    assert "NotFound: registry.example.com/shop/gone:1: manifest unknown" in section
    assert "| Unique images | 3 (2 unknown, 2 registry errors) |" in markdown

    rows = list(csv.DictReader(io.StringIO(render(snapshot, "csv"), newline="")))
    unknown = [r for r in rows if r["unknown"] == "yes"]
    assert [(r["image"], r["compressed_bytes"]) for r in unknown] == [
        ("registry.example.com/shop/api:2.0", ""),
        ("registry.example.com/shop/gone:1", ""),
    ]
    assert unknown[0]["unknown_reason"].startswith("RegistryUnavailable: registry")

    html = render(snapshot, "html")
    assert '<section id="unknown">' in html
    chart = html.split('<section id="charts">', 1)[1].split("</figure>", 1)[0]
    assert chart.count("<rect ") == 1  # only the web image has a size
    assert report_problems(json.loads(render(snapshot, "json"))) == []


# -- exceptions expiring soon ---------------------------------------------------------------------


def test_exceptions_expiring_soon_are_highlighted_in_every_format() -> None:
    resolver = TableResolver(images())
    pods = [
        *deployment(
            "web", "shop", WEB, resolver, annotations={"ballast.dev/exception": exception(0)}
        ),
        *deployment(
            "api", "shop", API, resolver, annotations={"ballast.dev/exception": exception(3)}
        ),
        *deployment(
            "worker", "jobs", WORKER, resolver, annotations={"ballast.dev/exception": exception(30)}
        ),
        *deployment(
            "report",
            "jobs",
            BATCH,
            resolver,
            annotations={"ballast.dev/exception": exception(None)},
        ),
    ]
    snapshot = snapshot_of(pods, resolver)
    assert sorted((e.workload.name, e.days_left) for e in snapshot.exceptions) == [
        ("api", 3),
        ("report", None),
        ("web", 0),
        ("worker", 30),
    ]

    markdown = render(snapshot, "markdown")
    (table,) = [t for t in markdown_tables(markdown) if t[0][0] == "workload" and len(t[0]) == 6]
    expiry = {row[0]: row[4] for row in table[2:]}
    assert expiry == {
        "`jobs/StatefulSet/report`": "never (never expires)",
        "`jobs/StatefulSet/worker`": "2026-07-15 (30 days left)",
        "`shop/StatefulSet/api`": "**⚠️ 2026-06-18 (3 days left)**",
        "`shop/StatefulSet/web`": "**⚠️ 2026-06-15 (last day)**",
    }
    assert "1 honoured" not in markdown and "4 honoured (2 expiring within 14 days)" in markdown

    html = render(snapshot, "html")
    section = html.split('<section id="exceptions">', 1)[1]
    soon_rows = re.findall(r'<tr class="soon">(.*?)</tr>', section)
    assert len(soon_rows) == 2
    assert "⚠ expires soon: 2026-06-18 · 3 days left" in soon_rows[0] + soon_rows[1]
    assert "⚠ expires soon: 2026-06-15 · last day" in soon_rows[0] + soon_rows[1]
    assert '<div class="card soon">' in html

    rows = list(csv.DictReader(io.StringIO(render(snapshot, "csv", table="exceptions"))))
    assert sorted((r["workload"], r["days_left"], r["expiring_soon"]) for r in rows) == [
        ("jobs/StatefulSet/report", "", "no"),
        ("jobs/StatefulSet/worker", "30", "no"),
        ("shop/StatefulSet/api", "3", "yes"),
        ("shop/StatefulSet/web", "0", "yes"),
    ]
    assert all(r["justification"] == "vendor image, tracked in OPS-12" for r in rows)


# -- hostile input --------------------------------------------------------------------------------

HOSTILE_JUSTIFICATION = (
    '</td></tr><script>alert("j")</script><img src=x onerror=alert(2)> | piped\n'
    'second line =HYPERLINK("http://evil.example/x","click") [link](javascript:alert(3))'
)
HOSTILE_POD = "=cmd|' /C calc'!A0"
HOSTILE_NAMESPACE = "@SUM(1+1)<b>ns</b>"
HOSTILE_IMAGE = "<script>alert(1)</script>"


REPORT_TAGS = set(
    [
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "h1",
        "h2",
        "h3",
        "p",
        "strong",
        "code",
        "nav",
        "a",
        "main",
        "section",
        "div",
        "span",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "figure",
        "figcaption",
        "svg",
        "g",
        "text",
        "rect",
        "ul",
        "li",
        "footer",
    ]
)
"""Every element the HTML report is made of."""


def hostile_snapshot() -> Any:
    resolver = TableResolver(images())
    annotations = {"ballast.dev/exception": exception(2, HOSTILE_JUSTIFICATION)}
    pods = [
        make_pod(
            HOSTILE_POD,
            HOSTILE_NAMESPACE,
            containers=[C("+evil", HOSTILE_IMAGE), C("-web", API)],
            node="<i>node</i>",
            annotations=annotations,
        ),
        *deployment("web", "shop", WEB, resolver),
    ]
    return snapshot_of(pods, resolver)


def _outside_code_spans(markdown: str) -> str:
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", markdown)


def test_hostile_names_and_annotations_cannot_inject_markup_into_markdown() -> None:
    snapshot = hostile_snapshot()
    markdown = render(snapshot, "markdown")
    for table in markdown_tables(markdown):
        assert {len(row) for row in table} == {len(table[0])}, table[0]
    plain = _outside_code_spans(markdown)
    assert re.findall(r"(?<!\\)[<>\[\]]", plain.replace("<details>", "")) == []
    assert '\\<script\\>alert("j")\\</script\\>' in markdown
    assert "\\| piped second line" in markdown  # the newline became a space, the pipe escaped
    assert f"`{HOSTILE_IMAGE}`" in markdown  # inside a code span: shown, never interpreted


def test_hostile_names_and_annotations_stay_text_in_csv_and_never_start_a_formula(
    tmp_path: Path,
) -> None:
    snapshot = hostile_snapshot()
    files = write_reports(snapshot, tmp_path, formats=["csv"], link_latest=False)
    cells: list[str] = []
    for path in files:
        rows = csv_rows(path)
        assert len({len(row) for row in rows}) == 1, path.name
        cells += [cell for row in rows for cell in row]
    numbers = re.compile(r"-?[0-9]+(\.[0-9]+)?")
    assert [c for c in cells if c.startswith(FORMULA_STARTS) and not numbers.fullmatch(c)] == []
    assert "'" + HOSTILE_POD in cells  # workloads.csv name column, shown as text
    assert "'" + HOSTILE_NAMESPACE in cells  # namespaces.csv first column
    (honoured,) = snapshot.exceptions
    assert honoured.justification in cells  # quoted whole: commas, quotes, pipes (RFC 4180)


@needs_chromium
def test_hostile_names_and_annotations_are_only_text_in_html(tmp_path: Path) -> None:
    snapshot = hostile_snapshot()
    (page,) = write_reports(snapshot, tmp_path, formats=["html"])
    text = page.read_text()
    scan = scan_html(text)
    assert scan.problems == []
    assert set(scan.tags) <= REPORT_TAGS  # no <script>, <img>, <b>, <i> from the input
    assert HOSTILE_IMAGE in scan.text and HOSTILE_POD in scan.text
    assert snapshot.exceptions[0].justification in scan.text
    rendered = render_in_chromium(page, tmp_path)
    assert rendered.console == []  # nothing ran, nothing was blocked by the CSP
    assert "<script" not in rendered.dom and "<img" not in rendered.dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.dom


def test_hostile_values_round_trip_unchanged_in_the_json_report() -> None:
    document = json.loads(render(hostile_snapshot(), "json"))
    assert report_problems(document) == []
    (honoured,) = document["exceptions"]["honoured"]
    assert honoured["justification"].startswith('</td></tr><script>alert("j")</script>')
    assert honoured["workload"] == f"{HOSTILE_NAMESPACE}/Pod/{HOSTILE_POD}"


# -- escaping, as properties ----------------------------------------------------------------------


@given(st.text())
def test_escaped_markdown_is_one_line_with_every_syntax_character_escaped(text: str) -> None:
    escaped = escape_markdown(text, limit=10_000)
    assert "\n" not in escaped and "\r" not in escaped
    assert re.findall(r"(?<!\\)(?:\\\\)*[|<>\[\]`*_~&]", escaped.replace("\\\\", "")) == []
    assert re.sub(r"\\(.)", r"\1", escaped) == " ".join(text.split())


@given(st.text())
def test_spreadsheet_safe_text_never_starts_a_formula_and_keeps_the_text(text: str) -> None:
    safe = spreadsheet_safe(text)
    assert isinstance(safe, str)
    assert not safe.startswith(FORMULA_STARTS)
    assert safe in (text, "'" + text)


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_chart_labels_never_become_markup(labels: list[str]) -> None:
    bars = [Bar(label=label, value=n + 1.0, text=label) for n, label in enumerate(labels)]
    scan = scan_html(bar_chart(bars, title=labels[0]))
    assert scan.problems == []
    assert set(scan.tags) <= {"svg", "title", "g", "text", "rect"}


# -- misuse ---------------------------------------------------------------------------------------


def test_a_document_that_is_not_a_report_is_refused_with_every_problem(tmp_path: Path) -> None:
    snapshot = snapshot_of([], TableResolver({}))
    document = json.loads(render(snapshot, "json"))
    document["summary"]["pods"] = "many"
    document["images"] = [{"key": ""}]
    with pytest.raises(InvalidReport) as caught:
        render(document, "html")
    assert caught.value.problems[0] == "$.images[0]: 'digest' is a required property"
    assert "$.summary.pods: 'many' is not of type 'integer'" in caught.value.problems
    with pytest.raises(InvalidReport, match="schemaVersion 1 .*schemaVersion 7"):
        render({**document, "schemaVersion": 7}, "json")
    with pytest.raises(ValueError, match="unknown report format 'pdf'"):
        render(snapshot, "pdf")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown CSV table 'pods'"):
        render(snapshot, "csv", table="pods")  # type: ignore[arg-type]
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ReportWriteError) as refused:
        write_reports(snapshot, blocker / "reports")
    assert refused.value.path == blocker / "reports"


def test_configmap_keeps_json_whole_and_cuts_markdown_at_a_line_when_too_big(
    tmp_path: Path,
) -> None:
    resolver = TableResolver(images())
    pods = [*deployment("web", "shop", WEB, resolver), *deployment("api", "shop", API, resolver)]
    files = write_reports(snapshot_of(pods, resolver), tmp_path, formats=["json", "markdown"])
    json_size, markdown_size = (len(f.read_bytes()) for f in files)

    # Room for the JSON and 64 KiB more: the Markdown is cut at a line, with a note.
    budget = json_size + 64 * 1024 + 100
    big = files[1].read_text() + "".join(f"| filler row {n} |\n" for n in range(20_000))
    files[1].write_text(big)
    manifest = configmap_manifest(files, "audit", "ballast", max_bytes=budget)
    data = manifest["data"]
    assert data["report.json"] == files[0].read_text()
    cut = data["report.md"]
    assert len(cut.encode()) <= budget - json_size
    assert cut.endswith(f"The whole report is {files[1].name}._\n")
    assert cut.splitlines()[-3].startswith("| filler row")  # whole lines only
    truncated = manifest["metadata"]["annotations"]["ballast.dev/truncated"]
    assert truncated.startswith("report.md cut to ") and files[1].name in truncated

    # No room for the JSON with a useful Markdown: the JSON is left out, never cut.
    manifest = configmap_manifest(files, "audit", "ballast", max_bytes=json_size + 1000)
    assert list(manifest["data"]) == ["report.md"]
    truncated = manifest["metadata"]["annotations"]["ballast.dev/truncated"]
    assert truncated.startswith("report.json left out (")
    assert markdown_size > 0

    with pytest.raises(ValueError, match="not a valid Kubernetes name"):
        configmap_manifest(files, "Audit_Report", "ballast")
    with pytest.raises(ValueError, match="no JSON or Markdown report"):
        configmap_manifest([tmp_path / "x.html"], "audit", "ballast")


def test_a_missing_schema_file_says_how_to_repair_the_installation(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from auditor.reports import schema

    schema.report_schema.cache_clear()
    monkeypatch.setattr(schema.resources, "files", lambda package: tmp_path)
    try:
        with pytest.raises(ReportError, match="missing from this installation"):
            schema.report_schema()
    finally:
        monkeypatch.undo()
        schema.report_schema.cache_clear()
    assert schema.report_schema()["title"] == "ballast audit report"
