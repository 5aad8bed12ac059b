"""The manifests agree with the code they run: commands and flags, settings, endpoints, the
kinds the webhook judges, what the auditor lists, the policy, and the restricted profile."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click
import pytest
import yaml
from prometheus_client import CollectorRegistry

from auditor.endpoint import make_app
from auditor.kube import NAMESPACES, OWNER_RESOURCES, PODS
from auditor.runner import RunnerState
from ballast.cli import cli
from ballast.policy import load_policy
from ballast.settings import load_settings
from deploy.render import Rendering, render_chart
from tests.deploy.conftest import only, pod_specs
from webhook.app import create_app
from webhook.metrics import WebhookMetrics
from webhook.workloads import _KINDS, ObjectKind, locate_pod_spec

SERVED_VERSIONS = {"": {"v1"}, "apps": {"v1"}, "batch": {"v1"}}
"""API versions Kubernetes 1.30+ serves for the groups the webhook judges (the beta versions
in webhook/workloads.py were removed by 1.25; matchPolicy Equivalent converts anyway)."""
PLURALS = {
    "Pod": "pods",
    "PodTemplate": "podtemplates",
    "ReplicationController": "replicationcontrollers",
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "DaemonSet": "daemonsets",
    "ReplicaSet": "replicasets",
    "Job": "jobs",
    "CronJob": "cronjobs",
}


def containers(documents: Any) -> dict[str, Mapping[str, Any]]:
    found = {}
    for workload, spec in pod_specs(documents).items():
        for container in spec["containers"]:
            found[f"{workload}/{container['name']}"] = container
    return found


# -- the webhook's rules ----------------------------------------------------------------------


def test_webhook_rules_cover_every_kind_the_webhook_judges(
    kustomized: list[dict[str, Any]],
) -> None:
    (webhook,) = only(kustomized, "ValidatingWebhookConfiguration")["webhooks"]
    covered = {
        (group, version, resource, operation)
        for rule in webhook["rules"]
        for group in rule["apiGroups"]
        for version in rule["apiVersions"]
        for resource in rule["resources"]
        for operation in rule["operations"]
    }
    judged = set()
    for (group, kind), (versions, _) in _KINDS.items():
        if kind == "EphemeralContainers":
            continue  # the pods/ephemeralcontainers subresource, below
        for version in versions & SERVED_VERSIONS.get(group, set()):
            assert locate_pod_spec(ObjectKind(group, version, kind)) is not None
            judged |= {(group, version, PLURALS[kind], op) for op in ("CREATE", "UPDATE")}
    judged.add(("", "v1", "pods/ephemeralcontainers", "UPDATE"))
    assert judged - covered == set()
    assert covered - judged == set(), "rules for kinds the webhook would only skip"


def test_webhook_configuration_is_safe_by_default(kustomized: list[dict[str, Any]]) -> None:
    (webhook,) = only(kustomized, "ValidatingWebhookConfiguration")["webhooks"]
    assert webhook["admissionReviewVersions"] == ["v1"]
    assert webhook["sideEffects"] == "None"
    assert webhook["failurePolicy"] == "Ignore"
    assert 1 <= webhook["timeoutSeconds"] <= 10
    (expression,) = webhook["namespaceSelector"]["matchExpressions"]
    assert expression["key"] == "kubernetes.io/metadata.name"
    assert expression["operator"] == "NotIn"
    assert {"ballast", "kube-system"} <= set(expression["values"])
    (condition,) = webhook["matchConditions"]
    # CEL cannot be compiled here (no API server); at least every kind it names is judged.
    for kind in ("Pod", "PodTemplate", "CronJob"):
        assert f"'{kind}'" in condition["expression"]
    assert condition["expression"].startswith("request.operation != 'UPDATE'")
    service = webhook["clientConfig"]["service"]
    target = only(kustomized, "Service", service["name"])
    assert target["metadata"]["namespace"] == service["namespace"]
    assert service["port"] in [p["port"] for p in target["spec"]["ports"]]
    assert service["path"] == "/validate"


def test_fail_closed_and_no_match_conditions_are_switches() -> None:
    rendering = render_chart({"webhook": {"failurePolicy": "Fail", "skipUnchangedUpdates": False}})
    (webhook,) = only(rendering.documents, "ValidatingWebhookConfiguration")["webhooks"]
    assert webhook["failurePolicy"] == "Fail"
    assert "matchConditions" not in webhook


# -- RBAC ---------------------------------------------------------------------------------------


def test_auditor_may_list_exactly_what_it_lists(kustomized: list[dict[str, Any]]) -> None:
    role = only(kustomized, "ClusterRole", "ballast-auditor")
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    needed = {(r.group, r.plural, "list") for r in (PODS, NAMESPACES, *OWNER_RESOURCES)}
    assert granted == needed
    binding = only(kustomized, "ClusterRoleBinding", "ballast-auditor")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    (subject,) = binding["subjects"]
    assert (subject["kind"], subject["name"], subject["namespace"]) == (
        "ServiceAccount",
        "ballast-auditor",
        "ballast",
    )
    for name, spec in pod_specs(kustomized).items():
        if "auditor" in name or "reports" in name:
            assert spec["serviceAccountName"] == "ballast-auditor"


def test_webhook_has_no_api_access_unless_pull_secret_lookup_is_on(
    kustomized: list[dict[str, Any]],
) -> None:
    roles = [d for d in kustomized if d["kind"] in ("Role", "ClusterRole", "RoleBinding")]
    assert all("webhook" not in d["metadata"]["name"] for d in roles)
    account = only(kustomized, "ServiceAccount", "ballast-webhook")
    assert account["automountServiceAccountToken"] is False
    spec = pod_specs(kustomized)["Deployment/ballast-webhook"]
    assert spec["automountServiceAccountToken"] is False

    rendering = render_chart({"webhook": {"imagePullSecretsLookup": True}})
    role = only(rendering.documents, "ClusterRole", "ballast-webhook")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]
    binding = only(rendering.documents, "ClusterRoleBinding", "ballast-webhook")
    assert binding["subjects"][0]["name"] == "ballast-webhook"
    assert pod_specs(rendering.documents)["Deployment/ballast-webhook"][
        "automountServiceAccountToken"
    ]


# -- what the containers run ---------------------------------------------------------------------


def test_every_container_runs_a_ballast_command_with_flags_it_has(
    kustomized: list[dict[str, Any]],
) -> None:
    commands = {}
    for name, container in containers(kustomized).items():
        assert container["image"].startswith("ghcr.io/ballast-dev/ballast:")
        command_name, *rest = container["args"]
        parent = click.Context(cli, info_name="ballast")
        command = cli.get_command(parent, command_name)
        assert command is not None, f"{name}: ballast has no command {command_name}"
        try:
            command.make_context(command_name, list(rest), parent=parent)
        except click.ClickException as error:
            pytest.fail(f"{name}: {error.format_message()}")
        commands[name] = command_name
    assert commands == {
        "Deployment/ballast-webhook/webhook": "webhook",
        "Deployment/ballast-auditor/auditor": "auditor",
        "CronJob/ballast-reports/audit": "audit",
    }


def test_container_environment_is_settings_ballast_knows(kustomized: list[dict[str, Any]]) -> None:
    for name, container in containers(kustomized).items():
        env = {e["name"]: e["value"] for e in container["env"]}
        assert all(key.startswith("BALLAST_") for key in env), name
        settings = load_settings(env)  # raises ConfigError on an unknown setting
        assert settings.cache.resolved_path(env) == "/var/cache/ballast/facts.db"
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert "/var/cache/ballast" in mounts and "/tmp" in mounts


def test_ports_and_binds_line_up(kustomized: list[dict[str, Any]]) -> None:
    found = containers(kustomized)
    webhook = found["Deployment/ballast-webhook/webhook"]
    auditor = found["Deployment/ballast-auditor/auditor"]
    assert "--bind=0.0.0.0:8443" in webhook["args"]
    assert [p["containerPort"] for p in webhook["ports"]] == [8443]
    assert "--metrics-bind=0.0.0.0:9464" in auditor["args"]
    assert [p["containerPort"] for p in auditor["ports"]] == [9464]
    for service in (d for d in kustomized if d["kind"] == "Service"):
        selector = service["spec"]["selector"]
        (deployment,) = [
            d
            for d in kustomized
            if d["kind"] == "Deployment"
            and selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        port_names = {
            p["name"]
            for c in deployment["spec"]["template"]["spec"]["containers"]
            for p in c["ports"]
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, service["metadata"]["name"]
    (webhook_service_port,) = only(kustomized, "Service", "ballast-webhook")["spec"]["ports"]
    assert (webhook_service_port["port"], webhook_service_port["targetPort"]) == (443, "https")
    for monitor in (d for d in kustomized if d["kind"] == "ServiceMonitor"):
        wanted = monitor["spec"]["selector"]["matchLabels"]
        (service,) = [
            d
            for d in kustomized
            if d["kind"] == "Service" and wanted.items() <= d["metadata"]["labels"].items()
        ]
        names = {p["name"] for p in service["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in names
            assert endpoint["honorLabels"] is True  # keep the audited workloads' namespaces
    for document in kustomized:
        if document["kind"] in ("Deployment", "PodDisruptionBudget"):
            selector = document["spec"]["selector"]["matchLabels"]
            pods = only(kustomized, "Deployment", document["metadata"]["name"])
            assert selector.items() <= pods["spec"]["template"]["metadata"]["labels"].items()


def test_probes_ask_endpoints_that_answer(kustomized: list[dict[str, Any]]) -> None:
    found = containers(kustomized)
    webhook = found["Deployment/ballast-webhook/webhook"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert webhook[probe]["httpGet"]["scheme"] == "HTTPS"
        assert webhook[probe]["httpGet"]["port"] == "https"

    class Ready:
        def review(self, *args: Any, **kwargs: Any) -> Any:
            raise AssertionError("probes must not review anything")

        def readiness(self) -> str | None:
            return None

    client = create_app(Ready(), WebhookMetrics(CollectorRegistry())).test_client()
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        response = client.get(webhook[probe]["httpGet"]["path"])
        assert response.status_code == 200, probe

    auditor = found["Deployment/ballast-auditor/auditor"]
    app = make_app(CollectorRegistry(), RunnerState(), stale_after_s=600)
    statuses = {}
    for probe in ("livenessProbe", "readinessProbe"):
        path = auditor[probe]["httpGet"]["path"]
        codes: list[str] = []
        app(
            {"PATH_INFO": path, "REQUEST_METHOD": "GET"},
            lambda status, headers, codes=codes: codes.append(status),
        )
        statuses[probe] = codes[0]
    # Alive at once; ready only after the first successful pass.
    assert statuses == {"livenessProbe": "200 OK", "readinessProbe": "503 Service Unavailable"}


# -- the policy ----------------------------------------------------------------------------------


def test_default_policy_configmap_is_a_valid_policy(kustomized: list[dict[str, Any]]) -> None:
    configmap = only(kustomized, "ConfigMap", "ballast-policy")
    text = configmap["data"]["policy.yaml"]
    policy = load_policy(text, source="deploy/policy.yaml")
    assert policy is not None
    document = yaml.safe_load(text)
    assert document["spec"]["scope"]["webhookNamespace"] == "ballast"
    assert document["spec"]["mode"] == "warn"
    assert document["spec"]["rules"]["findings"]["secrets"] == "enforce"
    for name, container in containers(kustomized).items():
        assert "--policy=/etc/ballast/policy/policy.yaml" in container["args"], name
    for name, spec in pod_specs(kustomized).items():
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["policy"]["configMap"]["name"] == "ballast-policy", name


def test_policy_follows_the_release_namespace() -> None:
    rendering = render_chart(namespace="image-police")
    text = only(rendering.documents, "ConfigMap", "ballast-policy")["data"]["policy.yaml"]
    load_policy(text)
    assert yaml.safe_load(text)["spec"]["scope"]["webhookNamespace"] == "image-police"
    (webhook,) = only(rendering.documents, "ValidatingWebhookConfiguration")["webhooks"]
    excluded = webhook["namespaceSelector"]["matchExpressions"][0]["values"]
    assert excluded == ["image-police", "kube-system"]


# -- the restricted Pod Security Standard ----------------------------------------------------------


def _restricted(spec: Mapping[str, Any], name: str) -> None:
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True, name
    assert pod["runAsUser"] == 10001, name  # the image's USER
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
    assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")
    writable = {
        v["name"] for v in spec["volumes"] if "emptyDir" in v or "persistentVolumeClaim" in v
    }
    for container in spec["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["capabilities"] == {"drop": ["ALL"]}, name
        assert context["readOnlyRootFilesystem"] is True, name
        assert "privileged" not in context
        for mount in container["volumeMounts"]:
            if mount["name"] in writable:
                assert not mount.get("readOnly"), name
            else:
                assert mount.get("readOnly") is True, f"{name}: {mount['name']}"
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]


def test_every_pod_meets_the_restricted_profile(kustomized: list[dict[str, Any]]) -> None:
    specs = pod_specs(kustomized)
    assert set(specs) == {
        "Deployment/ballast-webhook",
        "Deployment/ballast-auditor",
        "CronJob/ballast-reports",
    }
    for name, spec in specs.items():
        _restricted(spec, name)
    namespace = only(kustomized, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_webhook_is_highly_available(kustomized: list[dict[str, Any]]) -> None:
    deployment = only(kustomized, "Deployment", "ballast-webhook")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    anti = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    (term,) = anti["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    budget = only(kustomized, "PodDisruptionBudget", "ballast-webhook")
    assert budget["spec"]["minAvailable"] == 1


def test_reports_cronjob_keeps_its_reports(kustomized: list[dict[str, Any]]) -> None:
    cronjob = only(kustomized, "CronJob", "ballast-reports")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    spec = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["args"][:1] == ["audit"] and "--output=/reports" in container["args"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    claim = volumes["reports"]["persistentVolumeClaim"]["claimName"]
    assert only(kustomized, "PersistentVolumeClaim", claim)
    assert {"name": "reports", "mountPath": "/reports"} in container["volumeMounts"]


def test_reports_without_a_volume_go_to_the_log() -> None:
    rendering: Rendering = render_chart({"reports": {"persistence": {"enabled": False}}})
    assert not [d for d in rendering.documents if d["kind"] == "PersistentVolumeClaim"]
    cronjob = only(rendering.documents, "CronJob", "ballast-reports")
    spec = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert {v["name"]: v for v in spec["volumes"]}["reports"] == {"name": "reports", "emptyDir": {}}
    assert "--format=markdown" in spec["containers"][0]["args"]
