"""Which workload each pod belongs to: names offline, owner references when listed."""

from __future__ import annotations

import pytest

from auditor.owners import AttributionRule, OwnerIndex, WorkloadId, attribute
from auditor.pods import parse_pod_list
from tests.auditor.podlists import (
    REPORT_JOB,
    WEB_HASH,
    WEB_NEXT_HASH,
    C,
    fake_images,
    kube_object,
    make_pod,
    owner,
    pod_list,
    realistic_cluster,
)

EXPECTED = {
    # pod name → (namespace, kind, name, rule)
    f"web-{WEB_HASH}-x7k2p": ("shop", "Deployment", "web", AttributionRule.TEMPLATE_HASH),
    f"web-{WEB_NEXT_HASH}-b2c4d": ("shop", "Deployment", "web", AttributionRule.TEMPLATE_HASH),
    "db-0": ("shop", "StatefulSet", "db", AttributionRule.DIRECT),
    f"{REPORT_JOB}-q8w7e": ("batch", "CronJob", "nightly-report", AttributionRule.JOB_NAME),
    "migrate-2-z5x6c": ("batch", "Job", "migrate-2", AttributionRule.DIRECT),
    "node-exporter-h2j4k": ("kube-system", "DaemonSet", "node-exporter", AttributionRule.DIRECT),
    "kube-proxy-node-a": ("kube-system", "Pod", "kube-proxy-node-a", AttributionRule.BARE),
    "debug-shell": ("tools", "Pod", "debug-shell", AttributionRule.BARE),
    "just-created": ("tools", "Pod", "just-created", AttributionRule.BARE),
    "toolbox-6d5c4b3a2-a1b2c": ("tools", "Deployment", "toolbox", AttributionRule.TEMPLATE_HASH),
}


def test_offline_attribution_follows_the_controllers_naming_rules() -> None:
    listing = parse_pod_list(pod_list(realistic_cluster(fake_images())))
    found = {}
    for pod in listing.pods:
        attribution = attribute(pod)
        workload = attribution.workload
        found[pod.name] = (workload.namespace, workload.kind, workload.name, attribution.rule)
    for pod_name, expected in EXPECTED.items():
        assert found[pod_name] == expected, pod_name
    workloads = {(ns, kind, name) for ns, kind, name, _ in found.values()}
    assert len(workloads) == 9


NAME_CASES = [
    # (owner kind, owner name, pod labels, expected kind, expected name)
    pytest.param(
        "ReplicaSet",
        "web-7d4b9c8f6",
        {"pod-template-hash": "7d4b9c8f6"},
        "Deployment",
        "web",
        id="deployment",
    ),
    pytest.param(
        "ReplicaSet",
        "api-v2-7d4b9c8f6",
        {"pod-template-hash": "7d4b9c8f6"},
        "Deployment",
        "api-v2",
        id="deployment-with-dashes",
    ),
    pytest.param("ReplicaSet", "standalone", {}, "ReplicaSet", "standalone", id="bare-rs"),
    pytest.param(
        "ReplicaSet",
        "web-7d4b9c8f6",
        {"pod-template-hash": "other"},
        "ReplicaSet",
        "web-7d4b9c8f6",
        id="hash-mismatch",
    ),
    pytest.param(
        "ReplicaSet",
        "7d4b9c8f6",
        {"pod-template-hash": "7d4b9c8f6"},
        "ReplicaSet",
        "7d4b9c8f6",
        id="hash-is-whole-name",
    ),
    pytest.param("Job", "backup-29512800", {}, "CronJob", "backup", id="cronjob"),
    pytest.param("Job", "db-backup-123456789", {}, "CronJob", "db-backup", id="cronjob-9-digits"),
    pytest.param("Job", "migrate-2", {}, "Job", "migrate-2", id="short-suffix-is-a-job"),
    pytest.param("Job", "29512800", {}, "Job", "29512800", id="digits-only"),
    pytest.param("StatefulSet", "db", {}, "StatefulSet", "db", id="statefulset"),
    pytest.param("DaemonSet", "agent", {}, "DaemonSet", "agent", id="daemonset"),
    pytest.param("ReplicationController", "old", {}, "ReplicationController", "old", id="rc"),
    pytest.param("Rollout", "canary", {}, "Rollout", "canary", id="custom-controller"),
    pytest.param("Node", "node-a", {}, "Pod", "p", id="static-pod"),
]


@pytest.mark.parametrize(("kind", "name", "labels", "want_kind", "want_name"), NAME_CASES)
def test_owner_naming_rules(
    kind: str, name: str, labels: dict[str, str], want_kind: str, want_name: str
) -> None:
    document = make_pod(
        "p", "ns", containers=[C("c", "nginx")], labels=labels, owners=[owner(kind, name)]
    )
    (pod,) = parse_pod_list(document).pods
    assert attribute(pod).workload == WorkloadId("ns", want_kind, want_name)


def test_the_controller_owner_wins_over_other_owners() -> None:
    document = make_pod(
        "p",
        "ns",
        containers=[C("c", "nginx")],
        owners=[
            {**owner("ConfigMap", "cm", api_version="v1"), "controller": False},
            owner("StatefulSet", "db"),
        ],
    )
    (pod,) = parse_pod_list(document).pods
    assert attribute(pod).workload == WorkloadId("ns", "StatefulSet", "db")


def test_listed_owners_are_followed_exactly_and_beat_the_names() -> None:
    pods = [
        # A Rollout's ReplicaSet: the name rule would say Deployment "canary".
        make_pod(
            "canary-6f7d8-a",
            "ns",
            containers=[C("c", "nginx")],
            labels={"pod-template-hash": "6f7d8"},
            owners=[owner("ReplicaSet", "canary-6f7d8")],
        ),
        # A Job created by hand from a CronJob: its name has no minutes suffix.
        make_pod(
            "manual-run-b",
            "ns",
            containers=[C("c", "nginx")],
            owners=[owner("Job", "manual-run", api_version="batch/v1")],
        ),
        # A CronJob-looking Job that no CronJob owns.
        make_pod(
            "backup-29512800-c",
            "ns",
            containers=[C("c", "nginx")],
            owners=[owner("Job", "backup-29512800", api_version="batch/v1")],
        ),
    ]
    objects = [
        kube_object(
            "ReplicaSet",
            "ns",
            "canary-6f7d8",
            owners=[owner("Rollout", "canary", api_version="argoproj.io/v1alpha1")],
        ),
        kube_object(
            "Job",
            "ns",
            "manual-run",
            api_version="batch/v1",
            owners=[owner("CronJob", "nightly", api_version="batch/v1")],
        ),
        kube_object("Job", "ns", "backup-29512800", api_version="batch/v1"),
        kube_object(
            "CronJob", "ns", "nightly", api_version="batch/v1", annotations={"team": "data"}
        ),
    ]
    listing = parse_pod_list(pod_list(pods, objects=objects))
    index = OwnerIndex(listing.objects)
    results = [attribute(pod, index) for pod in listing.pods]
    assert [r.workload for r in results] == [
        WorkloadId("ns", "Rollout", "canary"),
        WorkloadId("ns", "CronJob", "nightly"),
        WorkloadId("ns", "Job", "backup-29512800"),
    ]
    assert {r.rule for r in results[:2]} == {AttributionRule.OWNERS}
    assert results[1].listed is not None and results[1].listed.annotations == {"team": "data"}


def test_an_owner_loop_does_not_hang() -> None:
    pod = make_pod("p", "ns", containers=[C("c", "nginx")], owners=[owner("ReplicaSet", "a")])
    objects = [
        kube_object("ReplicaSet", "ns", "a", owners=[owner("Thing", "b")]),
        kube_object("Thing", "ns", "b", owners=[owner("ReplicaSet", "a")]),
    ]
    listing = parse_pod_list(pod_list([pod], objects=objects))
    (result,) = [attribute(p, OwnerIndex(listing.objects)) for p in listing.pods]
    assert result.workload == WorkloadId("ns", "Thing", "b")


def test_workload_identity_includes_the_namespace() -> None:
    pods = [
        make_pod(
            f"web-{WEB_HASH}-a",
            ns,
            containers=[C("c", "nginx")],
            labels={"pod-template-hash": WEB_HASH},
            owners=[owner("ReplicaSet", f"web-{WEB_HASH}")],
        )
        for ns in ("team-a", "team-b")
    ]
    listing = parse_pod_list(pod_list(pods))
    ids = [attribute(p).workload for p in listing.pods]
    assert ids[0] != ids[1]
    assert [w.key for w in ids] == ["team-a/Deployment/web", "team-b/Deployment/web"]
    assert str(ids[0]) == "Deployment team-a/web"
