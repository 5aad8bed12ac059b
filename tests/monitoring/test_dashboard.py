"""The Grafana dashboard: Grafana 10 schema, the datasource and namespace variables, a
panel for each question people ask, and only metrics the auditor exports."""

from __future__ import annotations

import json
from typing import Any

from auditor.metrics import EVENT_METRICS, STATE_METRICS
from tests.monitoring.prometheus import DASHBOARD, dashboard_queries, metric_names
from tests.monitoring.test_alert_rules import exported_names

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> list[dict[str, Any]]:
    return [p for p in document()["panels"] if p["type"] != "row"]


def test_the_dashboard_is_a_grafana_10_document_with_a_stable_uid() -> None:
    dashboard = document()
    assert 36 <= dashboard["schemaVersion"] <= 39  # Grafana 10.0 … 10.4
    assert dashboard["uid"] == "ballast-images"
    assert dashboard["title"] and "ballast" in dashboard["tags"]
    assert "__inputs" not in dashboard  # provisioned as is, with a datasource variable


def test_the_datasource_and_namespace_are_template_variables() -> None:
    variables = {v["name"]: v for v in document()["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    namespace = variables["namespace"]
    assert namespace["type"] == "query"
    assert namespace["datasource"] == DATASOURCE
    assert namespace["query"]["query"].startswith("label_values(ballast_")
    assert namespace["query"]["query"].endswith(", namespace)")
    assert (namespace["multi"], namespace["includeAll"], namespace["allValue"]) == (
        True,
        True,
        ".*",
    )


def test_every_panel_and_target_reads_the_datasource_variable() -> None:
    for panel in panels():
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
            assert target["expr"].strip(), panel["title"]


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    everything = document()["panels"]
    ids = [p["id"] for p in everything]
    assert len(ids) == len(set(ids))
    cells: dict[tuple[int, int], str] = {}
    for panel in everything:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_there_is_a_panel_for_each_question() -> None:
    titles = " | ".join(p["title"].lower() for p in panels())
    for topic in (
        "largest images",
        "size distribution",
        "pull footprint per namespace",
        "cluster pull footprint",
        "failing findings by rule",
        "potential savings",
        "exceptions in force",
        "since the last successful audit",
        "last audit duration",
        "unknown images",
    ):
        assert topic in titles, topic
    # Every size says which one it is (STYLE.md): compressed, unpacked, or a pull footprint.
    for panel in panels():
        if panel["fieldConfig"]["defaults"].get("unit") == "decbytes":
            title = panel["title"].lower()
            assert any(k in title for k in ("compressed", "unpacked", "footprint")), title


def test_the_queries_name_only_metrics_the_auditor_exports() -> None:
    used: set[str] = set()
    for query in dashboard_queries():
        used |= metric_names(query.expr)
    assert used <= exported_names(), used - exported_names()
    # Every per-image size series is on the dashboard.
    assert {
        "ballast_image_compressed_bytes",
        "ballast_image_uncompressed_bytes",
        "ballast_image_wasted_bytes",
        "ballast_image_hidden_bytes",
        "ballast_image_pull_footprint_bytes",
    } <= used


def test_queries_of_namespaced_metrics_follow_the_namespace_variable() -> None:
    namespaced = {
        spec.exposed_name for spec in (*STATE_METRICS, *EVENT_METRICS) if "namespace" in spec.labels
    }
    for query in dashboard_queries():
        for name in metric_names(query.expr) & namespaced:
            assert f"{name}{{" in query.expr, (query.panel, name)
            selectors = query.expr.split(f"{name}{{")[1:]
            assert all('namespace=~"$namespace"' in s.split("}")[0] for s in selectors), (
                query.panel,
                name,
            )
