"""The snapshot's JSON document: versioned, camelCase, sizes with their kind, JSON-clean."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from auditor import SCHEMA_VERSION, FileSource, audit, snapshot_to_dict
from tests.auditor.conftest import NOW, TODAY, ServicesFactory
from tests.auditor.podlists import POD_FIXTURE
from tests.auditor.test_scan_registry import POLICY, push_cluster, write_pods
from tests.support.registry import LocalRegistry

CAMEL = re.compile(r"[a-z][a-zA-Z0-9]*")
DATA_MAPS = {"phases", "containerTypes", "imagesByVerdict"}
"""Maps whose keys are values (phase names, verdicts), not field names."""


def keys(value: Any, path: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((path, key))
            if key not in DATA_MAPS:
                found += keys(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            found += keys(item, f"{path}[]")
    return found


def test_snapshot_document_is_versioned_camel_case_and_json_clean(
    registry: LocalRegistry, unique_repo: str, make_services: ServicesFactory, tmp_path: Path
) -> None:
    cluster = push_cluster(registry, unique_repo)
    services = make_services(registry)
    snapshot = audit(
        write_pods(tmp_path, cluster.images),
        services.lookup,
        policy=POLICY,
        now=lambda: NOW,
        today=TODAY,
    )
    document = snapshot_to_dict(snapshot)
    text = json.dumps(document, allow_nan=False)
    assert json.loads(text) == document
    assert (document["schemaVersion"], document["kind"]) == (SCHEMA_VERSION, "BallastAudit")
    bad = [(path, key) for path, key in keys(document) if not CAMEL.fullmatch(key)]
    assert bad == []

    summary = document["summary"]
    assert summary["pods"] == 16 and summary["uniqueImages"] == 8
    assert summary["compressedSize"] == snapshot.compressed_bytes
    assert summary["pullFootprint"] == snapshot.pull_footprint_bytes
    assert summary["sizeKind"] == "compressed"
    assert summary["imagesByVerdict"] == {"allow": 5, "warn": 3, "deny": 0}
    assert document["timing"]["started"] == "2026-06-15T09:30:00Z"
    assert document["policy"] == {
        "name": "audit-test",
        "source": "audit-test.yaml",
        "mode": "warn",
        "failureMode": "warn",
    }

    images = {i["key"]: i for i in document["images"]}
    web = images[cluster.pushed["web"].digest]
    assert web["compressedSize"] == cluster.size("web")
    assert web["pullFootprint"] == cluster.size("web") * 3
    assert web["nodes"] == ["node-a", "node-b", "node-c"]
    assert web["repositories"] == [f"{registry.host}/{unique_repo}/web"]
    assert web["layerCount"] == 2 and len(web["layers"]) == 2
    assert web["workloads"] == ["shop/Deployment/web"]
    assert web["failedRules"] == ["maxCompressedSize"]
    assert web["uses"][0]["containers"] == [{"name": "web", "type": "container"}]
    assert web["layerFacts"] is None and web["unknown"] is False
    exporter = images[cluster.exporter_index_digest]
    assert exporter["indexDigest"] == cluster.exporter_index_digest
    assert exporter["manifestDigest"] == cluster.exporter_amd64.digest
    assert [p["platform"] for p in exporter["platforms"]] == ["linux/amd64"]

    finding = document["findings"][0]
    assert finding["rule"] == "maxCompressedSize" and finding["status"] == "fail"
    assert finding["advice"] and finding["measured"]["sizeKind"] == "compressed"
    assert finding["workloads"] and finding["image"] in images

    (honoured,) = document["exceptions"]["honoured"]
    assert honoured["workload"] == "shop/StatefulSet/db"
    assert honoured["expires"] == "2099-12-31" and honoured["appliedTo"] == ["maxLayerCount"]
    (ignored,) = document["exceptions"]["ignored"]
    assert ignored == {
        "workload": "tools/Deployment/toolbox",
        "index": 0,
        "reason": "exception #1 expired on 2020-01-31",
        "rules": ["maxCompressedSize"],
    }
    workloads = [w["key"] for w in document["workloads"]]
    assert len(workloads) == 9 and workloads[0] == "shop/Deployment/web"
    assert document["namespaces"][0]["name"] == "shop"


def test_unresolvable_images_are_unknown_without_asking_a_registry(
    registry: LocalRegistry, make_services: ServicesFactory, tmp_path: Path
) -> None:
    """The k8s.io/api Pod fixture: imageValue does not parse, imageIDValue is a placeholder."""
    services = make_services(registry)
    registry.reset_counts()
    snapshot = audit(FileSource(POD_FIXTURE), services.lookup, policy=POLICY, today=TODAY)
    assert registry.requests == []
    (image,) = snapshot.images
    assert image.key == "unresolvable:imageValue" and image.error_type == "InvalidReference"
    assert image.unknown_reason and "must be lowercase" in image.unknown_reason
    assert (image.pods, image.containers, image.nodes) == (1, 3, ("nodeNameValue",))
    assert snapshot.counts.unknown_images == 1 and snapshot.counts.registry_errors == 0
    (workload,) = snapshot.workloads
    assert workload.id.key == "namespaceValue/kindValue/nameValue"
    document = snapshot_to_dict(snapshot)
    assert document["images"][0]["unknownReason"] == image.unknown_reason
    assert document["images"][0]["compressedSize"] is None
    json.dumps(document, allow_nan=False)
