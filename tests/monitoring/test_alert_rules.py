"""The alert rules: promtool finds them valid, their unit tests pass, every alert is tested
firing and not firing, and they only name metrics the auditor exports."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.metrics import EVENT_METRICS, STATE_METRICS
from tests.monitoring.prometheus import (
    CHART_RULES,
    DEPLOY_MONITORING,
    PROMTOOL,
    RULES,
    RULES_TEST,
    metric_names,
)

ALERTS = {
    "BallastOversizedImageRunning",
    "BallastSecretsInImage",
    "BallastImagesUnknown",
    "BallastAuditFailing",
    "BallastAuditStale",
    "BallastAuditorMetricsMissing",
}


def exported_names() -> set[str]:
    names = set()
    for spec in (*STATE_METRICS, *EVENT_METRICS):
        names.add(spec.exposed_name)
        if spec.kind == "histogram":
            names.update(f"{spec.name}_{suffix}" for suffix in ("bucket", "sum", "count"))
    return names


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


@pytest.mark.parametrize("folder", [CHART_RULES, DEPLOY_MONITORING], ids=["charts", "deploy"])
def test_promtool_finds_the_rules_valid(folder: Path) -> None:
    result = promtool("check", "rules", "ballast-alerts.yaml", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


@pytest.mark.parametrize("folder", [CHART_RULES, DEPLOY_MONITORING], ids=["charts", "deploy"])
def test_promtool_unit_tests_pass(folder: Path) -> None:
    result = promtool("test", "rules", "ballast-alerts.test.yaml", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    assert {rule["alert"] for rule in rules()} == ALERTS
    document = yaml.safe_load(RULES_TEST.read_text())
    assert document["rule_files"] == [RULES.name]
    firing: set[str] = set()
    quiet: set[str] = set()
    for test in document["tests"]:
        for case in test.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    assert firing == ALERTS
    assert quiet == ALERTS


def test_every_alert_has_a_severity_a_summary_and_a_description() -> None:
    for rule in rules():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]


def test_the_rules_name_only_metrics_the_auditor_exports() -> None:
    used = set()
    for rule in rules():
        used |= metric_names(rule["expr"])
    assert used, "no ballast metric in the rules"
    assert used <= exported_names(), used - exported_names()


def test_a_broken_threshold_fails_the_unit_tests(tmp_path: Path) -> None:
    """The unit tests notice when the oversize rule changes (they are not vacuous)."""
    (tmp_path / RULES.name).write_text(RULES.read_text().replace("> 400e6", "> 700e6"))
    (tmp_path / RULES_TEST.name).write_text(RULES_TEST.read_text())
    result = promtool("test", "rules", RULES_TEST.name, cwd=tmp_path)
    assert result.returncode != 0
    assert "BallastOversizedImageRunning" in result.stdout + result.stderr
