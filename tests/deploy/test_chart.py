"""charts/ballast with real Helm: lint, values schema, and every TLS mode rendered."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import helm_sdkpy
import kubernetes_validate
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from deploy.render import CHART, POLICY_DEF, Rendering, lint_chart, render_chart, values_schema
from tests.deploy.conftest import SUPPORTED_VERSIONS, key, only

ERROR = 3
WARNING = 2


def test_helm_lint_reports_no_errors_or_warnings() -> None:
    messages = lint_chart()
    assert [m for m in messages if m.severity >= WARNING] == []


def test_helm_lint_is_really_checking(tmp_path: Path) -> None:
    """A value the schema refuses makes lint report an error (the check above can fail)."""
    broken = tmp_path / "ballast"
    shutil.copytree(CHART, broken)
    values = yaml.safe_load((broken / "values.yaml").read_text())
    values["webhook"]["failurePolicy"] = "Sometimes"
    (broken / "values.yaml").write_text(yaml.safe_dump(values))
    messages = lint_chart(broken)
    assert any(m.severity >= ERROR and m.path == "values.yaml" for m in messages), messages


def test_helm_lint_passes_without_cert_manager(tmp_path: Path) -> None:
    """Lint takes no values, so lint a copy whose defaults are the no-cert-manager switch."""
    copy = tmp_path / "ballast"
    shutil.copytree(CHART, copy)
    values = yaml.safe_load((copy / "values.yaml").read_text())
    values["tls"]["mode"] = "generate"
    (copy / "values.yaml").write_text(yaml.safe_dump(values))
    assert [m for m in lint_chart(copy) if m.severity >= WARNING] == []


def test_values_schema_embeds_ballasts_policy_schema_unchanged() -> None:
    committed = json.loads((CHART / "values.schema.json").read_text())
    policy = json.loads((Path(__file__).parents[2] / "ballast/policy/schema.json").read_text())
    policy.pop("$schema")
    assert committed["$defs"][POLICY_DEF] == policy
    assert (CHART / "values.schema.json").read_text() == values_schema(), (
        "run .venv/bin/python deploy/render.py"
    )


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"policy": {"document": {"spec": {"mode": "deny"}}}}, "mode"),
        (
            {
                "policy": {
                    "document": {
                        "apiVersion": "ballast.dev/v1",
                        "kind": "Policy",
                        "spec": {"rules": {"maxCompressedSize": {"limit": "big"}}},
                    }
                }
            },
            "limit",
        ),
        ({"webhook": {"timeoutSeconds": 31}}, "timeoutSeconds"),
        ({"tls": {"mode": "letsencrypt"}}, "mode"),
        ({"webhook": {"replica": 3}}, "replica"),
    ],
)
def test_bad_values_fail_the_install_with_the_field_named(
    values: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(helm_sdkpy.HelmError) as caught:
        render_chart(values)
    assert complaint in str(caught.value)


def test_default_rendering_is_the_same_on_every_supported_kubernetes_version(
    chart_defaults: Rendering,
) -> None:
    for version in SUPPORTED_VERSIONS:
        assert render_chart(kube_version=version).manifest == chart_defaults.manifest, version


def test_older_kubernetes_is_refused() -> None:
    with pytest.raises(helm_sdkpy.HelmError, match="kubeVersion"):
        render_chart(kube_version="1.29.9")


def test_helm_creates_every_rendered_object(chart_defaults: Rendering) -> None:
    """The install went all the way: Helm mapped every kind and POSTed every object."""
    created = {key(d) for d in chart_defaults.api.created}
    rendered = {key(d) for d in chart_defaults.documents}
    assert rendered and created == rendered
    assert "ballast" in chart_defaults.notes


def test_default_tls_is_cert_manager_with_ca_injection(chart_defaults: Rendering) -> None:
    documents = chart_defaults.documents
    certificate = only(documents, "Certificate")
    issuer = only(documents, "Issuer")
    assert certificate["spec"]["issuerRef"]["name"] == issuer["metadata"]["name"]
    service = only(documents, "Service", "ballast-webhook")
    for name in ("ballast-webhook.ballast.svc", "ballast-webhook.ballast.svc.cluster.local"):
        assert name in certificate["spec"]["dnsNames"]
    configuration = only(documents, "ValidatingWebhookConfiguration")
    injected = configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
    assert injected == f"ballast/{certificate['metadata']['name']}"
    assert "caBundle" not in configuration["webhooks"][0]["clientConfig"]
    deployment = only(documents, "Deployment", "ballast-webhook")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == certificate["spec"]["secretName"]
    assert (
        service["metadata"]["name"]
        == configuration["webhooks"][0]["clientConfig"]["service"]["name"]
    )


def test_an_existing_issuer_can_be_used(chart_defaults: Rendering) -> None:
    rendering = render_chart(
        {"tls": {"certManager": {"issuerRef": {"kind": "ClusterIssuer", "name": "corp-ca"}}}}
    )
    assert not [d for d in rendering.documents if d["kind"] == "Issuer"]
    certificate = only(rendering.documents, "Certificate")
    assert certificate["spec"]["issuerRef"] == {"kind": "ClusterIssuer", "name": "corp-ca"}


def _certificates(rendering: Rendering) -> tuple[x509.Certificate, x509.Certificate, Any]:
    secret = only(rendering.documents, "Secret", "ballast-webhook-tls")
    configuration = only(rendering.documents, "ValidatingWebhookConfiguration")
    bundle = configuration["webhooks"][0]["clientConfig"]["caBundle"]
    assert bundle == secret["data"]["ca.crt"]
    ca = x509.load_pem_x509_certificate(base64.b64decode(bundle))
    leaf = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    return ca, leaf, secret


def test_without_cert_manager_the_chart_generates_a_ca_and_sets_the_ca_bundle() -> None:
    rendering = render_chart({"tls": {"mode": "generate"}})
    kinds = {d["kind"] for d in rendering.documents}
    assert not kinds & {"Certificate", "Issuer"}
    configuration = only(rendering.documents, "ValidatingWebhookConfiguration")
    assert "annotations" not in configuration["metadata"]
    ca, leaf, secret = _certificates(rendering)
    assert secret["type"] == "kubernetes.io/tls"
    # The serving certificate is signed by the CA in the caBundle, for the Service's names.
    public_key = ca.public_key()
    assert leaf.issuer == ca.subject
    if isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(
            leaf.signature,
            leaf.tbs_certificate_bytes,
            padding.PKCS1v15(),
            leaf.signature_hash_algorithm,  # type: ignore[arg-type]
        )
    else:
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        public_key.verify(
            leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(leaf.signature_hash_algorithm)
        )
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "ballast-webhook.ballast.svc" in names.get_values_for_type(x509.DNSName)
    assert leaf.not_valid_after_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=3000)


def test_generated_certificate_is_kept_on_upgrade() -> None:
    """Helm's lookup finds the Secret of the first install and the chart reuses it."""
    first = render_chart({"tls": {"mode": "generate"}})
    secret = only(first.documents, "Secret", "ballast-webhook-tls")
    # As the API server would return it: owned by the release.
    stored = {
        **secret,
        "metadata": {
            **secret["metadata"],
            "annotations": {
                "meta.helm.sh/release-name": "ballast",
                "meta.helm.sh/release-namespace": "ballast",
            },
        },
    }
    second = render_chart(
        {"tls": {"mode": "generate"}},
        existing={"/api/v1/namespaces/ballast/secrets/ballast-webhook-tls": stored},
    )
    again = only(second.documents, "Secret", "ballast-webhook-tls")
    assert again["data"] == secret["data"]
    configuration = only(second.documents, "ValidatingWebhookConfiguration")
    assert configuration["webhooks"][0]["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]


def test_own_secret_mode_needs_the_ca_bundle() -> None:
    with pytest.raises(helm_sdkpy.HelmError, match="caBundle"):
        render_chart({"tls": {"mode": "secret", "secretName": "mine"}})
    bundle = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()
    rendering = render_chart({"tls": {"mode": "secret", "secretName": "mine", "caBundle": bundle}})
    assert not [d for d in rendering.documents if d["kind"] in ("Secret", "Certificate")]
    configuration = only(rendering.documents, "ValidatingWebhookConfiguration")
    assert configuration["webhooks"][0]["clientConfig"]["caBundle"] == bundle
    deployment = only(rendering.documents, "Deployment", "ballast-webhook")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "mine"


def test_optional_parts_can_be_switched_off() -> None:
    rendering = render_chart(
        {
            "auditor": {"enabled": False},
            "reports": {"enabled": False},
            "metrics": {
                "serviceMonitor": {"enabled": False},
                "prometheusRule": {"enabled": False},
                "grafanaDashboard": {"enabled": False},
            },
        }
    )
    kinds = sorted({d["kind"] for d in rendering.documents})
    assert kinds == [
        "Certificate",
        "ConfigMap",
        "Deployment",
        "Issuer",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
        "ValidatingWebhookConfiguration",
    ]
    assert not [d for d in rendering.documents if d["kind"].startswith("ClusterRole")]


def test_registry_settings_reach_every_ballast_container() -> None:
    rendering = render_chart(
        {
            "registry": {
                "authSecret": "pull-creds",
                "platforms": ["linux/amd64", "linux/arm64"],
                "insecureRegistries": ["registry.local:5000"],
                "allowedPrivateRegistries": ["harbor.internal"],
            },
            "image": {"digest": "sha256:" + "ab" * 32},
        }
    )
    workloads = [d for d in rendering.documents if d["kind"] in ("Deployment", "CronJob")]
    assert len(workloads) == 3
    for workload in workloads:
        spec = workload["spec"]
        template = (
            spec["jobTemplate"]["spec"]["template"] if "jobTemplate" in spec else spec["template"]
        )
        (container,) = template["spec"]["containers"]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["BALLAST_REGISTRY_AUTH_FILE"] == "/etc/ballast/registry/.dockerconfigjson"
        assert env["BALLAST_PLATFORM"] == "linux/amd64,linux/arm64"
        assert env["BALLAST_INSECURE_REGISTRIES"] == "registry.local:5000"
        assert env["BALLAST_REGISTRY__ALLOWED_PRIVATE_REGISTRIES"] == "harbor.internal"
        assert container["image"] == "ghcr.io/ballast-dev/ballast@sha256:" + "ab" * 32
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        assert volumes["registry-auth"]["secret"]["secretName"] == "pull-creds"


EVERY_OPTION: dict[str, Any] = {
    "fullnameOverride": "image-police",
    "commonLabels": {"team": "platform"},
    "imagePullSecrets": [{"name": "ghcr"}],
    "registry": {"authSecret": "pull-creds", "platforms": ["all"]},
    "webhook": {
        "podLabels": {"tier": "admission"},
        "podAnnotations": {"note": "x"},
        "tolerations": [{"key": "dedicated", "operator": "Exists"}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "priorityClassName": "system-cluster-critical",
        "extraEnv": [{"name": "BALLAST_WEBHOOK__MARGIN_S", "value": "0.7"}],
        "affinity": {"nodeAffinity": {}},
        "excludeNamespaces": ["kube-system", "monitoring"],
        "imagePullSecretsLookup": True,
    },
    "auditor": {
        "namespaces": ["shop", "ml"],
        "podAnnotations": {"note": "x"},
        "tolerations": [{"key": "dedicated", "operator": "Exists"}],
        "affinity": {"nodeAffinity": {}},
        "extraEnv": [{"name": "BALLAST_AUDITOR__MAX_WORKERS", "value": "4"}],
    },
    "reports": {"nodeSelector": {"disk": "ssd"}, "persistence": {"storageClassName": "fast"}},
    "metrics": {
        "serviceMonitor": {"labels": {"release": "kube-prometheus-stack"}},
        "grafanaDashboard": {"annotations": {"grafana_folder": "ballast"}},
    },
    "policy": {"existingConfigMap": "team-policy"},
}


@pytest.mark.parametrize("version", [SUPPORTED_VERSIONS[0], SUPPORTED_VERSIONS[-1]])
def test_every_option_renders_valid_objects(version: str) -> None:
    rendering = render_chart(EVERY_OPTION, kube_version=version)
    assert all(d["metadata"]["name"].startswith("image-police") for d in rendering.documents)
    assert not [d for d in rendering.documents if d["metadata"]["name"].endswith("-policy")]
    for document in rendering.documents:
        assert document["metadata"]["labels"]["team"] == "platform"
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            continue  # custom resources: see test_manifests
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{key(document)}: {error.message} at {list(error.path)}")


def _env_of_every_container(rendering: Rendering) -> list[dict[str, Any]]:
    found = []
    for workload in rendering.documents:
        if workload["kind"] not in ("Deployment", "CronJob"):
            continue
        spec = workload["spec"]
        template = (
            spec["jobTemplate"]["spec"]["template"] if "jobTemplate" in spec else spec["template"]
        )
        for container in template["spec"]["containers"]:
            found.append({e["name"]: e for e in container["env"]})
    assert len(found) == 3
    return found


def test_a_shared_redis_reaches_every_container() -> None:
    plain = render_chart({"cache": {"url": "redis://redis.ballast:6379/0"}})
    for env in _env_of_every_container(plain):
        assert env["BALLAST_CACHE__URL"]["value"] == "redis://redis.ballast:6379/0"
    secret = render_chart({"cache": {"urlSecret": {"name": "redis", "key": "url"}}})
    for env in _env_of_every_container(secret):
        assert env["BALLAST_CACHE__URL"]["valueFrom"] == {
            "secretKeyRef": {"name": "redis", "key": "url"}
        }
    with pytest.raises(helm_sdkpy.HelmError, match="url"):
        render_chart({"cache": {"url": "memcached://x"}})
