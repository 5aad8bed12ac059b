"""deploy/monitoring/ holds the very files the chart ships (dashboard, rules, rule tests)."""

from __future__ import annotations

from tests.monitoring.prometheus import CHART_DASHBOARDS, CHART_RULES, DEPLOY_MONITORING


def test_deploy_monitoring_has_identical_copies_of_the_charts_files() -> None:
    chart = {p.name: p.read_bytes() for d in (CHART_DASHBOARDS, CHART_RULES) for p in d.iterdir()}
    deploy = {p.name: p.read_bytes() for p in DEPLOY_MONITORING.iterdir()}
    assert (
        sorted(chart)
        == sorted(deploy)
        == [
            "ballast-alerts.test.yaml",
            "ballast-alerts.yaml",
            "ballast-images.json",
        ]
    )
    for name, content in chart.items():
        assert deploy[name] == content, f"deploy/monitoring/{name} differs from the chart's copy"
