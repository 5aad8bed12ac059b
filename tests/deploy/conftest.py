"""Fixtures for the deployment checks: the chart rendered by real Helm, deploy/ built by kustomize.

Helm runs in-process (the helm-sdkpy wheel) against deploy/render.py's stand-in
API server, so every rendering here is a real ``helm install`` that applies
nothing. Renderings are shared by the whole session: each takes about a second.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.render import DEPLOY, DEPLOY_VALUES, Rendering, render_chart

ROOT = Path(__file__).resolve().parents[2]
SUPPORTED_VERSIONS = tuple(f"1.{minor}.0" for minor in range(30, 38))
"""The Kubernetes versions the README claims: matchConditions are GA from 1.30, and
kubernetes-validate ships schemas up to 1.37."""
CRD_KINDS = {
    ("cert-manager.io/v1", "Issuer"),
    ("cert-manager.io/v1", "Certificate"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
"""Custom resources: kubernetes-validate has no schema for them (see test_manifests)."""


@pytest.fixture(scope="session")
def chart_defaults() -> Rendering:
    """``helm install ballast charts/ballast -n ballast`` with the chart's default values."""
    return render_chart()


@pytest.fixture(scope="session")
def deploy_rendering() -> Rendering:
    """The chart with deploy/'s values: what deploy/render.py writes out."""
    return render_chart(DEPLOY_VALUES)


@pytest.fixture(scope="session")
def kustomized() -> list[dict[str, Any]]:
    """``kubectl kustomize deploy/``: exactly what ``kubectl apply -k deploy/`` would send."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    result = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def key(document: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace, name) of an object."""
    metadata = document.get("metadata") or {}
    return (
        str(document.get("apiVersion")),
        str(document.get("kind")),
        str(metadata.get("namespace") or ""),
        str(metadata.get("name")),
    )


def by_key(documents: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str, str], Any]:
    found: dict[tuple[str, str, str, str], Any] = {}
    for document in documents:
        assert key(document) not in found, f"{key(document)} twice"
        found[key(document)] = document
    return found


def only(documents: Iterable[Mapping[str, Any]], kind: str, name: str | None = None) -> Any:
    """The one object of this kind (and name)."""
    matches = [
        d
        for d in documents
        if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)
    ]
    assert len(matches) == 1, f"{len(matches)} {kind} {name or ''}"
    return matches[0]


def pod_specs(documents: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """``Kind/name`` → pod spec of every workload."""
    specs: dict[str, Mapping[str, Any]] = {}
    for document in documents:
        kind = document.get("kind")
        if kind == "Deployment":
            specs[f"Deployment/{document['metadata']['name']}"] = document["spec"]["template"][
                "spec"
            ]
        elif kind == "CronJob":
            template = document["spec"]["jobTemplate"]["spec"]["template"]
            specs[f"CronJob/{document['metadata']['name']}"] = template["spec"]
    return specs
