"""Reports of a realistic audit against the real local registry: every format, read back.

The cluster is :func:`tests.auditor.podlists.realistic_cluster` (16 pods, 4 namespaces,
3 nodes) with its images pushed to the real registry, one of them built with
``apt-get install build-essential`` (category findings) and one with layer facts that
show 3 MB of hidden files (savings). The JSON report must validate against the
published schema, the CSV tables must parse back to the snapshot's numbers, and the
HTML report must render in headless Chromium with no console message and no external
asset.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor import SCHEMA_VERSION, snapshot_to_dict
from auditor.model import AuditSnapshot
from auditor.reports import (
    CSV_TABLES,
    FORMATS,
    configmap_manifest,
    render,
    report_problems,
    report_schema,
    write_reports,
)
from auditor.scan import audit
from ballast.facts import ImageFacts
from ballast.policy import load_policy
from ballast.services import Services, open_services
from ballast.settings import load_settings
from tests.auditor.conftest import NOW, TODAY
from tests.auditor.podlists import Img
from tests.auditor.test_report_support import (
    APT_RUN,
    markdown_tables,
    needs_chromium,
    png_size_and_colours,
    render_in_chromium,
    scan_html,
    screenshot_in_chromium,
)
from tests.auditor.test_scan_registry import HiddenPath, LayerReport, push_cluster, write_pods
from tests.support.registry import LocalRegistry, push_image

POLICY = load_policy(
    """
    apiVersion: ballast.dev/v1
    kind: Policy
    metadata: {name: audit-test}
    spec:
      mode: warn
      rules:
        maxCompressedSize: {limit: 200kB}
        maxLayerCount: {limit: 3, action: enforce}
        maxHiddenBytes: {limit: 1MB}
        findings: {build-tools: warn, package-cache: warn, secrets: enforce}
    """,
    source="audit-test.yaml",
)
HIDDEN_BYTES = 3_000_000


@dataclass(frozen=True)
class Realistic:
    snapshot: AuditSnapshot
    web_digest: str
    api_digest: str


@pytest.fixture(scope="module")
def realistic(
    registry_session: LocalRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Realistic]:
    """One audit pass over the realistic cluster, shared by the module (it only reads it)."""
    tmp = tmp_path_factory.mktemp("report-formats")
    repo = f"t/report-formats-{os.getpid()}"
    cluster = push_cluster(registry_session, repo)
    api = push_image(
        registry_session,
        f"{repo}/api",
        "2",
        layer_sizes=[50_000, 70_000],
        history=[
            {"created_by": "/bin/sh -c #(nop) ADD file:3b1d in / "},
            {"created_by": APT_RUN},
        ],
    )
    images = replace(cluster.images, web_next=Img(api.tag_ref, api.digest))
    web_digest = cluster.pushed["web"].digest

    def layer_report_for(facts: ImageFacts) -> LayerReport | None:
        if facts.digest != web_digest:
            return None
        hidden = HiddenPath("/var/cache/apt/archives/big.deb", HIDDEN_BYTES, 0, 1)
        return LayerReport(
            uncompressed_bytes=9_000_000, hidden_bytes=HIDDEN_BYTES, hidden=(hidden,)
        )

    environ = {
        "HOME": str(tmp / "home"),
        "BALLAST_INSECURE_REGISTRIES": registry_session.host,
        "BALLAST_CACHE_PATH": str(tmp / "facts.db"),
    }
    services: Services = open_services(load_settings(environ), environ)
    try:
        snapshot = audit(
            write_pods(tmp, images),
            services.lookup,
            policy=POLICY,
            now=lambda: NOW,
            today=TODAY,
            layer_report_for=layer_report_for,  # type: ignore[arg-type]
        )
    finally:
        services.close()
    yield Realistic(snapshot, web_digest, api.digest)


def _declared(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> list[str]:
    """Keys of ``value`` that the schema does not declare (``additionalProperties`` maps aside)."""
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        return min((_declared(value, option, root, path) for option in schema["anyOf"]), key=len)
    found: list[str] = []
    if isinstance(value, dict):
        properties = schema.get("properties")
        if properties is None:
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                for key, item in value.items():
                    found += _declared(item, extra, root, f"{path}.{key}")
            return found
        for key, item in value.items():
            if key not in properties:
                found.append(f"{path}.{key}")
            else:
                found += _declared(item, properties[key], root, f"{path}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            found += _declared(item, schema["items"], root, f"{path}[{n}]")
    return found


def test_json_report_validates_against_the_published_schema_and_declares_every_key(
    realistic: Realistic,
) -> None:
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schemaVersion"]["const"] == SCHEMA_VERSION

    document = json.loads(render(realistic.snapshot, "json"))
    jsonschema.validate(
        document, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    assert report_problems(document) == []
    assert _declared(document, schema, schema, "$") == []
    assert document["changes"] is None
    assert {k: v for k, v in document.items() if k != "changes"} == snapshot_to_dict(
        realistic.snapshot
    )
    # The snapshot document alone (no "changes" key) is a valid report too.
    assert report_problems(snapshot_to_dict(realistic.snapshot)) == []

    broken = json.loads(json.dumps(document))
    broken["images"][0]["compressedSize"] = -1
    broken["findings"][0]["status"] = "maybe"
    del broken["summary"]["pods"]
    problems = report_problems(broken)
    assert len(problems) == 3
    assert problems[0].startswith("$.findings[0].status: 'maybe' is not one of")
    assert problems[1].startswith("$.images[0].compressedSize: -1 is not valid")
    assert problems[2] == "$.summary: 'pods' is a required property"


def test_markdown_report_has_every_section_with_well_formed_tables(realistic: Realistic) -> None:
    snapshot = realistic.snapshot
    text = render(snapshot, "markdown")
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# ballast audit report",
        "## Summary",
        "## Largest images",
        "## Largest workloads (by pull footprint)",
        "## Namespaces",
        "## Findings",
        "## Exceptions",
        "### Ignored exceptions",
    ]
    tables = markdown_tables(text)
    assert len(tables) == 7
    for table in tables:
        assert {len(row) for row in table} == {len(table[0])}, table[0]
    images, workloads, namespaces, findings = tables[1], tables[2], tables[3], tables[4]
    assert len(images) - 2 == len(snapshot.images) == 8
    assert images[2][1].endswith("/web:1.4`") or images[2][1].endswith("/toolbox:3`")
    assert len(workloads) - 2 == 9 and workloads[2][0] == "`shop/web` (Deployment)"
    assert [row[0] for row in namespaces[2:]] == ["`shop`", "`tools`", "`kube-system`", "`batch`"]
    assert len(findings) - 2 == len(snapshot.findings)
    assert "| Estimated savings | 3.0 MB uncompressed per image copy |" in text
    assert "build-essential installed and kept" in text
    assert "use a multi-stage build (or purge them in the same RUN)" in text
    assert "3.0 MB (9.0 MB on 3 nodes)" in text  # the hidden apt cache, on every node
    assert "exception #1 expired on 2020-01-31" in text
    assert "the postgres image keeps its upstream layering until DB-17 lands" in text


def _csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))


def test_csv_tables_parse_back_to_the_snapshot_numbers(
    realistic: Realistic, tmp_path: Path
) -> None:
    snapshot = realistic.snapshot
    files = write_reports(snapshot, tmp_path, formats=["csv"], link_latest=False)
    assert [f.name for f in files] == [
        f"ballast-audit-20260615T093000Z-{table}.csv" for table in CSV_TABLES
    ]
    tables = {table: _csv(path) for table, path in zip(CSV_TABLES, files, strict=True)}

    images = tables["images"]
    assert [r["digest"] for r in images] == [i.key for i in snapshot.images]
    assert [int(r["compressed_bytes"]) for r in images] == [
        i.compressed_bytes for i in snapshot.images
    ]
    assert sum(int(r["pull_footprint_bytes"]) for r in images) == snapshot.pull_footprint_bytes
    web = next(r for r in images if r["digest"] == realistic.web_digest)
    assert (web["nodes"], web["pods"], web["verdict"]) == ("3", "3", "warn")
    assert web["failing_rules"] == "maxCompressedSize; maxHiddenBytes"
    assert (web["savings_bytes"], web["uncompressed_bytes"]) == (str(HIDDEN_BYTES), "9000000")
    api = next(r for r in images if r["digest"] == realistic.api_digest)
    assert api["failing_rules"] == "build-tools; package-cache"

    findings = tables["findings"]
    assert len(findings) == len(snapshot.findings)
    hidden = next(r for r in findings if r["rule"] == "maxHiddenBytes")
    assert (hidden["savings_bytes"], hidden["node_savings_bytes"], hidden["nodes"]) == (
        "3000000",
        "9000000",
        "3",
    )
    assert "/var/cache/apt/archives/big.deb" in hidden["where"] + hidden["message"]
    tools = next(r for r in findings if r["rule"] == "build-tools")
    assert (tools["category"], tools["severity"], tools["check"]) == (
        "build-tools",
        "medium",
        "history:compiler",
    )
    assert all(r["advice"] for r in findings)

    workloads = tables["workloads"]
    assert [f"{r['namespace']}/{r['kind']}/{r['name']}" for r in workloads] == [
        w.id.key for w in snapshot.workloads
    ]
    namespaces = {r["namespace"]: r for r in tables["namespaces"]}
    assert sum(int(r["pods"]) for r in namespaces.values()) == snapshot.counts.pods == 16
    assert namespaces["shop"]["savings_bytes"] == str(HIDDEN_BYTES)

    exceptions = tables["exceptions"]
    assert [(r["workload"], r["status"]) for r in exceptions] == [
        ("shop/StatefulSet/db", "honoured"),
        ("tools/Deployment/toolbox", "ignored"),
    ]
    assert exceptions[0]["expires"] == "2099-12-31" and exceptions[0]["expiring_soon"] == "no"
    assert exceptions[1]["reason"] == "exception #1 expired on 2020-01-31"
    assert tables["changes"] == []


@needs_chromium
def test_html_report_renders_in_chromium_with_no_console_message_and_no_external_asset(
    realistic: Realistic, tmp_path: Path
) -> None:
    (page,) = write_reports(realistic.snapshot, tmp_path / "out", formats=["html"])
    text = page.read_text("utf-8")
    scan = scan_html(text)
    assert scan.problems == [] and not scan.mentions_url
    assert "script" not in scan.tags
    assert scan.ids == [
        "summary",
        "charts",
        "images",
        "workloads",
        "namespaces",
        "findings",
        "exceptions",
    ]
    assert scan.tags.count("svg") == 3
    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src &#x27;none&#x27;;' in text
    )

    rendered = render_in_chromium(page, tmp_path)
    assert rendered.console == []
    assert '<section id="findings">' in rendered.dom
    # 8 images, 4 namespaces and 4 finding categories, each a bar.
    assert rendered.dom.count("<rect ") == 8 + 4 + 4
    assert "build-essential installed and kept" in rendered.dom

    png = screenshot_in_chromium(page, tmp_path / "report.png", tmp_path)
    width, height, colours = png_size_and_colours(png)
    assert (width, height) == (1200, 900)
    assert colours > 50  # text, badges, bars: a blank page has one colour


@needs_chromium
def test_the_console_check_catches_script_errors_and_blocked_assets(tmp_path: Path) -> None:
    """The negative control for the test above: a page that misbehaves is caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body>"
        "<script>undefinedFunction()</script><img src='https://example.invalid/x.png'>"
        "</body></html>"
    )
    rendered = render_in_chromium(page, tmp_path)
    assert any("Uncaught ReferenceError" in line for line in rendered.console)
    assert scan_html(page.read_text()).problems == [
        "<script> element",
        "<img> element",
        "src='https://example.invalid/x.png' on <img> is not an in-page link",
    ]


def test_write_reports_names_files_by_audit_time_writes_atomically_and_links_latest(
    realistic: Realistic, tmp_path: Path
) -> None:
    snapshot = realistic.snapshot
    files = write_reports(snapshot, tmp_path)
    stamp = "ballast-audit-20260615T093000Z"
    assert [f.name for f in files] == [
        f"{stamp}.json",
        f"{stamp}.md",
        *(f"{stamp}-{table}.csv" for table in CSV_TABLES),
        f"{stamp}.html",
    ]
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o644
    links = sorted(p for p in tmp_path.iterdir() if p.is_symlink())
    assert [p.name for p in links] == sorted(
        [
            "ballast-audit-latest.json",
            "ballast-audit-latest.md",
            "ballast-audit-latest.html",
            *(f"ballast-audit-latest-{table}.csv" for table in CSV_TABLES),
        ]
    )
    assert all((tmp_path / os.readlink(link)).exists() for link in links)
    assert os.readlink(tmp_path / "ballast-audit-latest.json") == f"{stamp}.json"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

    # The files are what `ballast audit --format X` prints (no previous report here).
    by_name = {f.name: f.read_bytes().decode("utf-8") for f in files}
    for fmt in FORMATS:
        extension = {"json": "json", "markdown": "md", "csv": "csv", "html": "html"}[fmt]
        name = f"{stamp}-images.csv" if fmt == "csv" else f"{stamp}.{extension}"
        assert render(snapshot, fmt) == by_name[name], fmt
    assert render(snapshot, "csv", table="findings") == by_name[f"{stamp}-findings.csv"]

    # A saved JSON report renders again to the same reports.
    saved = json.loads(by_name[f"{stamp}.json"])
    assert render(saved, "markdown") == by_name[f"{stamp}.md"]
    assert render(saved, "html") == by_name[f"{stamp}.html"]


def test_configmap_holds_the_json_and_markdown_reports_under_the_size_limit(
    realistic: Realistic, tmp_path: Path
) -> None:
    files = write_reports(realistic.snapshot, tmp_path)
    manifest = configmap_manifest(files, "ballast-audit", "ballast-system")
    assert (manifest["apiVersion"], manifest["kind"]) == ("v1", "ConfigMap")
    metadata = manifest["metadata"]
    assert (metadata["name"], metadata["namespace"]) == ("ballast-audit", "ballast-system")
    assert metadata["annotations"] == {
        "ballast.dev/report-files": (
            "ballast-audit-20260615T093000Z.json,ballast-audit-20260615T093000Z.md"
        ),
        "ballast.dev/truncated": "false",
        "ballast.dev/audit-started": "2026-06-15T09:30:00Z",
    }
    assert metadata["labels"]["app.kubernetes.io/managed-by"] == "ballast"
    data = manifest["data"]
    assert sorted(data) == ["report.json", "report.md"]
    assert data["report.md"] == files[1].read_text("utf-8")
    assert report_problems(json.loads(data["report.json"])) == []
    size = sum(len(k.encode()) + len(v.encode()) for k, v in data.items())
    assert size < 1024 * 1024
    json.dumps(manifest)  # what the kubernetes client will send


def test_reports_of_a_copied_directory_still_find_their_previous(
    realistic: Realistic, tmp_path: Path
) -> None:
    """Report sets are self-describing by name: a copied directory keeps working."""
    first = tmp_path / "a"
    write_reports(realistic.snapshot, first, formats=["json"])
    shutil.copytree(first, tmp_path / "b", symlinks=True)
    later = replace(
        realistic.snapshot,
        timing=replace(realistic.snapshot.timing, started=NOW.replace(hour=10)),
    )
    (path,) = write_reports(later, tmp_path / "b", formats=["json"])
    changes = json.loads(path.read_text())["changes"]
    assert changes["status"] == "compared"
    assert changes["previous"]["file"] == "ballast-audit-20260615T093000Z.json"
    assert changes["counts"]["unchanged"] == len(realistic.snapshot.images)
    assert changes["images"] == [] and changes["findings"] == {"new": [], "resolved": []}
