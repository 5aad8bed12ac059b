"""deploy/: generated from the chart, equal to what Helm installs, valid Kubernetes objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from deploy.render import DEPLOY, Rendering, deploy_files, without_helm_labels
from tests.deploy.conftest import CRD_KINDS, SUPPORTED_VERSIONS, by_key, key, only

MONITORING = DEPLOY / "monitoring"
CHART = Path(__file__).resolve().parents[2] / "charts" / "ballast"


def test_deploy_is_a_fresh_rendering_of_the_chart(deploy_rendering: Rendering) -> None:
    """One source of truth: deploy/ is what deploy/render.py makes of the chart today."""
    fresh = deploy_files(deploy_rendering)
    committed = {p.name: p.read_text(encoding="utf-8") for p in DEPLOY.glob("*.yaml")}
    assert sorted(committed) == sorted(fresh), "run .venv/bin/python deploy/render.py"
    for name, text in fresh.items():
        assert committed[name] == text, f"deploy/{name} is stale: run deploy/render.py"


def test_kustomize_builds_exactly_what_helm_installs(
    kustomized: list[dict[str, Any]], deploy_rendering: Rendering
) -> None:
    """``kubectl apply -k deploy/`` and ``helm install`` (with deploy/'s values) create the
    same objects, field for field, Helm's own labels aside; the dashboard ConfigMap comes from
    kustomize's generator over deploy/monitoring/ on one side and the chart's dashboards/ on
    the other."""
    from_kustomize = by_key(kustomized)
    from_helm = by_key(without_helm_labels(d) for d in deploy_rendering.documents)
    assert sorted(from_kustomize) == sorted(from_helm)
    for object_key, document in from_helm.items():
        assert from_kustomize[object_key] == document, object_key


def test_chart_defaults_describe_the_same_resources_as_deploy(
    kustomized: list[dict[str, Any]], chart_defaults: Rendering
) -> None:
    """Against the chart's *default* rendering: the same objects except the Namespace, which
    Helm users create with --create-namespace, and the same images, arguments, ports, probes,
    RBAC rules and webhook rules."""
    deployed = by_key(kustomized)
    helm = by_key(without_helm_labels(d) for d in chart_defaults.documents)
    assert set(deployed) - set(helm) == {("v1", "Namespace", "", "ballast")}
    assert set(helm) <= set(deployed)

    def essentials(document: dict[str, Any]) -> Any:
        kind = document["kind"]
        if kind in ("Deployment", "CronJob"):
            spec = document["spec"]
            template = (
                spec["jobTemplate"]["spec"]["template"] if kind == "CronJob" else spec["template"]
            )
            return [
                {
                    field: container.get(field)
                    for field in (
                        "image",
                        "args",
                        "env",
                        "ports",
                        "livenessProbe",
                        "readinessProbe",
                        "startupProbe",
                        "securityContext",
                        "volumeMounts",
                    )
                }
                for container in template["spec"]["containers"]
            ]
        if kind in ("ClusterRole", "Role"):
            return document["rules"]
        if kind == "ValidatingWebhookConfiguration":
            return document["webhooks"]
        if kind == "Service":
            return document["spec"]["ports"]
        return document.get("spec", document.get("data"))

    for object_key, document in helm.items():
        assert essentials(deployed[object_key]) == essentials(document), object_key


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_every_manifest_is_a_valid_kubernetes_object(
    version: str, kustomized: list[dict[str, Any]]
) -> None:
    """Strict schemas (unknown fields are errors) of each supported version. Custom resources
    (cert-manager, Prometheus Operator) have no schema in kubernetes-validate; they are
    checked for their shape by the tests that read them (test_chart, test_wiring)."""
    skipped = set()
    for document in kustomized:
        if (document["apiVersion"], document["kind"]) in CRD_KINDS:
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(document, version, strict=True)
            skipped.add(document["kind"])
            continue
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{key(document)} on {version}: {error.message} at {list(error.path)}")
    assert skipped == {kind for _, kind in CRD_KINDS}


def test_schema_validation_is_really_checking(kustomized: list[dict[str, Any]]) -> None:
    deployment = json.loads(json.dumps(only(kustomized, "Deployment", "ballast-webhook")))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"]["httpGet"]["schema"] = "HTTPS"  # a typo of scheme
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, SUPPORTED_VERSIONS[0], strict=True)


def test_the_prometheus_rule_wraps_the_rule_files(kustomized: list[dict[str, Any]]) -> None:
    rule = only(kustomized, "PrometheusRule")
    chart_groups = []
    for path in sorted((CHART / "rules").glob("*.yaml")):
        if not path.name.endswith(".test.yaml"):
            chart_groups += yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    assert chart_groups and rule["spec"]["groups"] == chart_groups
    # deploy/monitoring/ holds the same rules as plain files (for a Prometheus without the
    # operator); they must not drift from the chart's.
    deploy_groups = []
    for path in sorted(MONITORING.glob("*.yaml")):
        if not path.name.endswith(".test.yaml"):
            deploy_groups += yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    assert deploy_groups == chart_groups


def test_the_dashboard_configmap_carries_the_dashboards_for_the_grafana_sidecar(
    kustomized: list[dict[str, Any]],
) -> None:
    dashboard = only(kustomized, "ConfigMap", "ballast-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    expected = {p.name: p.read_text(encoding="utf-8") for p in MONITORING.glob("*.json")}
    assert expected and dashboard["data"] == expected
    chart_copies = {
        p.name: p.read_text(encoding="utf-8") for p in (CHART / "dashboards").glob("*.json")
    }
    assert chart_copies == expected
    for text in expected.values():
        assert json.loads(text)["uid"]
