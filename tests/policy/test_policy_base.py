"""Heavy bases: named, with the slim variant to use, from annotation, reference or history."""

from __future__ import annotations

import pytest

from ballast.policy import Action, Category, Rule, Status, Verdict, evaluate
from ballast.policy.base import detect_heavy_base
from tests.policy import histories as h
from tests.policy.conftest import CI, FakeLayerFinding, FakeReport, only
from tests.policy.histories import make_facts

EMPTY = make_facts([(h.DEBIAN_SLIM_ROOTFS, 29_000_000)])


@pytest.mark.parametrize(
    ("image", "base", "suggestion"),
    [
        ("python:3.12", "python:3.12", "python:3.12-slim"),
        ("python:3.12-bookworm", "python:3.12-bookworm", "python:3.12-slim-bookworm"),
        ("python", "python", "python:slim"),
        ("docker.io/library/ruby:3.3", "ruby:3.3", "ruby:3.3-slim"),
        ("node:20", "node:20", "node:20-slim or gcr.io/distroless/nodejs20-debian12"),
        (
            "node:20-bookworm",
            "node:20-bookworm",
            "node:20-bookworm-slim or gcr.io/distroless/nodejs20-debian12",
        ),
        (
            "golang:1.22",
            "golang:1.22",
            "gcr.io/distroless/static-debian12 (build in a golang stage)",
        ),
        ("rust:1.79", "rust:1.79", "gcr.io/distroless/cc-debian12 (build in a rust stage)"),
        (
            "eclipse-temurin:21-jdk-jammy",
            "eclipse-temurin:21-jdk-jammy",
            "eclipse-temurin:21-jre-jammy",
        ),
        ("eclipse-temurin:21", "eclipse-temurin:21", "eclipse-temurin:21-jre"),
        (
            "eclipse-temurin:21-jdk-alpine",
            "eclipse-temurin:21-jdk-alpine",
            "eclipse-temurin:21-jre-alpine",
        ),
        ("openjdk:17-jdk-slim", "openjdk:17-jdk-slim", "eclipse-temurin:17-jre"),
        (
            "maven:3.9-eclipse-temurin-21",
            "maven:3.9-eclipse-temurin-21",
            "eclipse-temurin:21-jre (build in a maven stage)",
        ),
        (
            "debian:bookworm",
            "debian:bookworm",
            "debian:bookworm-slim or gcr.io/distroless/base-debian12",
        ),
        (
            "ubuntu:24.04",
            "ubuntu:24.04",
            "debian:bookworm-slim, a chiselled Ubuntu or gcr.io/distroless/base-debian12",
        ),
        ("buildpack-deps:bookworm", "buildpack-deps:bookworm", "debian:bookworm-slim"),
        ("rockylinux:9", "rockylinux:9", "rockylinux:9-minimal"),
    ],
)
def test_heavy_images_run_directly_are_named_with_their_slim_variant(
    image: str, base: str, suggestion: str
) -> None:
    found = detect_heavy_base(EMPTY, image=image)
    assert found is not None
    assert (found.base, found.suggestion, found.evidence) == (base, suggestion, "image reference")


@pytest.mark.parametrize(
    "image",
    [
        "python:3.12-slim",
        "python:3.12-alpine",
        "node:20-bookworm-slim",
        "debian:bookworm-slim",
        "eclipse-temurin:21-jre",
        "openjdk:11-jre",
        "gcr.io/distroless/python3-debian12",
        "nginx:1.27",
        "ghcr.io/acme/api:1.4",
        "mcr.microsoft.com/windows/servercore:ltsc2022",
        "python:3.12-windowsservercore-ltsc2022",
    ],
)
def test_slim_and_unknown_images_are_not_heavy(image: str) -> None:
    assert detect_heavy_base(EMPTY, image=image) is None


def test_the_base_image_annotation_comes_first() -> None:
    facts = make_facts([(h.DEBIAN_SLIM_ROOTFS, 1)], base_name="docker.io/library/node:20")
    found = detect_heavy_base(facts, image="ghcr.io/acme/web:3")
    assert found is not None and found.evidence == "base image annotation"
    assert found.base == "node:20"
    slim = make_facts(h.python_full_steps(), base_name="docker.io/library/python:3.12-slim")
    assert detect_heavy_base(slim, image="ghcr.io/acme/api:1") is None  # the annotation is trusted


def test_full_python_is_recognised_from_its_history() -> None:
    found = detect_heavy_base(make_facts(h.python_full_steps()), image="ghcr.io/acme/api:1")
    assert found is not None
    assert (found.base, found.suggestion, found.evidence) == (
        "python:3.12",
        "python:3.12-slim",
        "history",
    )
    assert found.layer_index == 3  # the buildpack-deps toolchain layer


def test_slim_python_and_node_histories_are_not_heavy() -> None:
    assert detect_heavy_base(make_facts(h.python_slim_steps()), image="ghcr.io/a/b:1") is None
    assert detect_heavy_base(make_facts(h.node_slim_steps()), image="ghcr.io/a/b:1") is None


def test_a_temurin_jdk_is_heavy_and_a_jre_is_not() -> None:
    jdk = detect_heavy_base(
        make_facts(h.temurin_steps(jdk=True), labels=h.UBUNTU_LABELS), image="x/y:1"
    )
    assert jdk is not None
    assert (jdk.base, jdk.suggestion) == ("eclipse-temurin:21-jdk", "eclipse-temurin:21-jre")
    jre = make_facts(h.temurin_steps(jdk=False), labels=h.UBUNTU_LABELS)
    assert detect_heavy_base(jre, image="x/y:1") is None  # ubuntu labels, but a Java runtime on it


def test_golang_at_runtime_is_recognised_from_its_env() -> None:
    facts = make_facts(
        [(h.DEBIAN_ROOTFS, 49_000_000), (h.GOLANG_ENV, None), ("COPY . . # buildkit", 1)]
    )
    found = detect_heavy_base(facts, image="x/y:1")
    assert found is not None and found.base == "golang:1.22"
    assert "distroless/static" in found.suggestion


def test_plain_ubuntu_is_recognised_from_its_labels() -> None:
    facts = make_facts(
        [(h.UBUNTU_ROOTFS, 29_000_000), (h.UBUNTU_CMD, None)], labels=h.UBUNTU_LABELS
    )
    found = detect_heavy_base(facts, image="x/y:1")
    assert found is not None and found.base == "ubuntu:22.04"


def test_heavy_base_in_a_verdict_and_the_allow_list() -> None:
    facts = make_facts(h.python_full_steps())
    verdict = evaluate(
        facts, image="ghcr.io/acme/api:1", context=CI, policy=only(Rule("heavy-base"))
    )
    (finding,) = verdict.findings
    assert finding.status is Status.FAIL and finding.category is Category.HEAVY_BASE
    assert finding.message == (
        "heavy base python:3.12: full Debian with compilers and -dev headers (buildpack-deps)"
    )
    assert finding.advice == "use python:3.12-slim"
    assert finding.where is not None and finding.where.layer_index == 3
    assert verdict.verdict is Verdict.WARN

    allowed = only(Rule("heavy-base", allow=("docker.io/library/python:*",), action=Action.ENFORCE))
    verdict = evaluate(facts, image="ghcr.io/acme/api:1", context=CI, policy=allowed)
    assert verdict.findings[0].status is Status.PASS
    assert "allowed" in verdict.findings[0].message


def test_layer_heavy_base_findings_are_used_when_history_cannot_tell() -> None:
    report = FakeReport(
        findings=(
            FakeLayerFinding(
                "heavy-base", "debian-full", "medium", 120_000_000, ("/usr/share/doc",), 0
            ),
        )
    )
    verdict = evaluate(EMPTY, report, image="x/y:1", context=CI, policy=only(Rule("heavy-base")))
    assert verdict.findings[0].status is Status.FAIL
    assert verdict.findings[0].detail == "debian-full"
