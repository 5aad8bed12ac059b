"""Heavy bases: a full distribution or language image where a slim variant exists.

Owns :func:`detect_heavy_base`, which names the base an image is built on
and the variant to use instead (``python:3.12`` → ``python:3.12-slim``;
``golang`` at runtime → build stage only, run on distroless; a JDK → a JRE).
The base is read, in order, from the ``org.opencontainers.image.base.name``
annotation, from the image reference itself (a pod running ``node:20``), and
from fingerprints the official images leave in their history: the
buildpack-deps toolchain layer under ``ENV PYTHON_VERSION``/``NODE_VERSION``,
``ENV GOLANG_VERSION``, a Temurin JDK download, the Ubuntu labels. Imports
:mod:`ballast.facts`, :mod:`ballast.reference` and the history reader. Pure.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ballast._errors import InvalidReference
from ballast.facts import HistoryEntry, ImageFacts, LayerInfo
from ballast.policy.history import (
    MEMO_IMAGES,
    Instruction,
    env_values,
    instructions_of,
    kept_build_packages,
)
from ballast.reference import Reference, parse_reference

_DISTROS: Final = ("trixie", "bookworm", "bullseye", "buster", "stretch", "noble", "jammy", "focal")
_SLIM_MARKERS: Final = ("slim", "alpine", "distroless", "minimal", "micro", "chisel", "busybox")
_WINDOWS_MARKERS: Final = ("windowsservercore", "nanoserver", "ltsc")
_BUILD_ONLY: Final = {
    "golang": "gcr.io/distroless/static-debian12 (build in a golang stage)",
    "rust": "gcr.io/distroless/cc-debian12 (build in a rust stage)",
    "gcc": "gcr.io/distroless/cc-debian12 or debian:bookworm-slim (compile in a gcc stage)",
}


@dataclass(frozen=True, slots=True)
class HeavyBase:
    """A heavy base an image is built on, and what to use instead."""

    base: str
    """The base, in Docker's short form (``python:3.12``)."""
    reference: str
    """The base fully qualified (``docker.io/library/python:3.12``), for allow lists."""
    suggestion: str
    """The variant to use (``python:3.12-slim``), possibly with a short note."""
    why: str
    """What makes it heavy, in a few words."""
    evidence: str
    """How it was recognised (``base image annotation``, ``image reference``, ``history``)."""
    layer_index: int | None = None
    """The layer that shows it, when one does."""
    created_by: str = ""


def _version(text: str, parts: int) -> str:
    """``3.12.4`` → ``3.12`` (parts=2); ``20.15.0`` → ``20`` (parts=1)."""
    numbers = re.findall(r"\d+", text)
    return ".".join(numbers[:parts]) if numbers else ""


def _split_distro(tag: str) -> tuple[str, str]:
    """``3.12-bookworm`` → (``3.12``, ``bookworm``); no distro → (tag, "")."""
    for distro in _DISTROS:
        if tag == distro:
            return "", distro
        if tag.endswith("-" + distro):
            return tag[: -len(distro) - 1], distro
    return tag, ""


def _slim_before_distro(tag: str) -> str:
    """python/ruby tags: ``3.12`` → ``3.12-slim``, ``3.12-bookworm`` → ``3.12-slim-bookworm``."""
    if tag == "latest":
        return "slim"
    version, distro = _split_distro(tag)
    if not version:
        return f"slim-{distro}"
    return f"{version}-slim-{distro}" if distro else f"{version}-slim"


def _java_major(text: str) -> str:
    """``21-jdk-jammy`` → ``21``; ``jdk-21.0.3+9`` → ``21``; ``jdk8u412-b08`` → ``8``."""
    match = re.search(r"\d+", text)
    return match[0] if match else ""


def _from_reference(reference: Reference) -> tuple[str, str] | None:
    """(suggestion, why) for a known heavy official image, else None."""
    tag = (reference.tag or "latest").lower()
    if any(marker in tag for marker in _WINDOWS_MARKERS):
        return None
    java = _java_runtime(reference, tag)
    if java is not None:
        return java if java[0] else None
    if any(marker in tag for marker in _SLIM_MARKERS):
        return None
    if reference.registry in ("registry.access.redhat.com", "registry.redhat.io"):
        match = re.fullmatch(r"(ubi\d+)(?:/ubi)?", reference.repository)
        if match:
            name = f"{reference.registry}/{match[1]}/ubi-minimal"
            return name, "full UBI with dnf and docs"
        return None
    if reference.registry != "docker.io" or not reference.repository.startswith("library/"):
        return None
    name = reference.repository.removeprefix("library/")
    if name in ("python", "ruby"):
        why = "full Debian with compilers and -dev headers (buildpack-deps)"
        return f"{name}:{_slim_before_distro(tag)}", why
    if name == "node":
        suggestion = "node:slim" if tag == "latest" else f"node:{tag}-slim"
        major = _version(tag, 1)
        if major:
            suggestion += f" or gcr.io/distroless/nodejs{major}-debian12"
        return suggestion, "full Debian with compilers and -dev headers (buildpack-deps)"
    if name in _BUILD_ONLY:
        return _BUILD_ONLY[name], "a build toolchain image used at runtime"
    if name in ("maven", "gradle"):
        jdk = re.search(r"(?:temurin|jdk|corretto)-?(\d+)", tag)
        runtime = f"eclipse-temurin:{jdk[1]}-jre" if jdk else "an eclipse-temurin -jre image"
        return f"{runtime} (build in a {name} stage)", "a build tool image used at runtime"
    if name == "debian":
        slim = "stable-slim" if tag == "latest" else f"{tag}-slim"
        return f"debian:{slim} or gcr.io/distroless/base-debian12", "full Debian"
    if name == "buildpack-deps":
        _, distro = _split_distro(tag.split("-")[0]) if tag != "latest" else ("", "bookworm")
        return (
            f"debian:{distro or 'bookworm'}-slim",
            "Debian with build dependencies (buildpack-deps)",
        )
    if name == "ubuntu":
        return (
            "debian:bookworm-slim, a chiselled Ubuntu or gcr.io/distroless/base-debian12",
            "full Ubuntu (no slim tag exists)",
        )
    if name in ("rockylinux", "almalinux"):
        return f"{name}:{_version(tag, 1) or '9'}-minimal", f"full {name} with dnf"
    if name in ("centos", "fedora"):
        return "a -minimal base (rockylinux:9-minimal, ubi9/ubi-minimal)", f"full {name}"
    return None


def _java_runtime(reference: Reference, tag: str) -> tuple[str, str] | None:
    """JDK images are heavy even when slim or alpine: ("", "") for a JRE, None for non-Java."""
    if reference.registry != "docker.io":
        return None
    name = reference.repository.removeprefix("library/")
    if name not in ("eclipse-temurin", "openjdk", "amazoncorretto"):
        return None
    why = "a full JDK at runtime"
    if "jre" in tag:
        return "", ""
    if name == "eclipse-temurin":
        if "jdk" in tag:
            return f"eclipse-temurin:{tag.replace('jdk', 'jre', 1)}", why
        version, distro = _split_distro(tag)
        if tag == "latest" or not version:
            return "an eclipse-temurin -jre tag", why
        return f"eclipse-temurin:{version}-jre" + (f"-{distro}" if distro else ""), why
    major = _java_major(tag)
    runtime = f"eclipse-temurin:{major}-jre" if major else "an eclipse-temurin -jre image"
    return runtime, why


def _parse(text: str) -> Reference | None:
    try:
        return parse_reference(text.strip())
    except (InvalidReference, TypeError, ValueError):
        return None


def _heavy_reference(text: str, evidence: str) -> HeavyBase | None:
    reference = _parse(text)
    if reference is None:
        return None
    found = _from_reference(reference)
    if found is None:
        return None
    suggestion, why = found
    short = Reference(reference.registry, reference.repository, tag=reference.tag)
    return HeavyBase(
        base=short.familiar or reference.familiar,
        reference=str(short),
        suggestion=suggestion,
        why=why,
        evidence=evidence,
    )


def _official(
    name: str, tag: str, suggestion: str, why: str, step: Instruction | None
) -> HeavyBase:
    reference = f"docker.io/library/{name}:{tag}"
    return HeavyBase(
        base=f"{name}:{tag}",
        reference=reference,
        suggestion=suggestion,
        why=why,
        evidence="history",
        layer_index=step.layer_index if step is not None else None,
        created_by=step.created_by if step is not None else "",
    )


def _from_history(facts: ImageFacts) -> HeavyBase | None:
    """Recognise the base from history fingerprints (remembered, as history findings are)."""
    try:
        labels = tuple(sorted(facts.labels.items()))
        return _remembered_base(facts.history, facts.layers, labels)
    except TypeError:  # unhashable parts: just compute
        return _base_from_history(facts.history, facts.layers, dict(facts.labels))


@functools.lru_cache(maxsize=MEMO_IMAGES)
def _remembered_base(
    history: tuple[HistoryEntry, ...],
    layers: tuple[LayerInfo, ...],
    labels: tuple[tuple[str, str], ...],
) -> HeavyBase | None:
    return _base_from_history(history, layers, dict(labels))


def _base_from_history(
    history: Sequence[HistoryEntry], layers: Sequence[LayerInfo], labels: Mapping[str, str]
) -> HeavyBase | None:
    steps = instructions_of(history, layers)
    env: dict[str, str] = {}
    env_step: dict[str, Instruction] = {}
    toolchain: Instruction | None = None
    runs: list[Instruction] = []
    codename = ""
    for step in steps:
        if step.keyword == "ENV":
            for key, value in env_values(step.body).items():
                env[key] = value
                env_step[key] = step
        elif step.keyword == "RUN":
            runs.append(step)
            if toolchain is None and "apt-get" in step.body:
                kept = set(kept_build_packages(step.body))
                if {"gcc", "make", "autoconf"} <= kept:
                    toolchain = step
        elif step.keyword == "" and step.body.startswith("# debian.sh"):
            match = re.search(r"out/ '([a-z]+)'", step.body)
            codename = match[1] if match else ""
    run_text = "\n".join(step.body for step in runs)
    if "GOLANG_VERSION" in env:
        version = _version(env["GOLANG_VERSION"], 2)
        return _official(
            "golang",
            version,
            _BUILD_ONLY["golang"],
            "a Go toolchain image used at runtime",
            env_step["GOLANG_VERSION"],
        )
    if "RUST_VERSION" in env and "CARGO_HOME" in env:
        version = _version(env["RUST_VERSION"], 2)
        return _official(
            "rust",
            version,
            _BUILD_ONLY["rust"],
            "a Rust toolchain image used at runtime",
            env_step["RUST_VERSION"],
        )
    for tool, variable in (("maven", "MAVEN_HOME"), ("gradle", "GRADLE_HOME")):
        if variable in env:
            return _official(
                tool,
                "latest",
                f"an eclipse-temurin -jre image (build in a {tool} stage)",
                "a build tool image used at runtime",
                env_step[variable],
            )
    java = env.get("JAVA_VERSION", "")
    if java:
        major = _java_major(java)
        jdk_step = next((s for s in runs if re.search(r"OpenJDK\d+U-jdk_", s.body)), None)
        jre_step = next((s for s in runs if re.search(r"OpenJDK\d+U-jre_", s.body)), None)
        if jdk_step is not None and jre_step is None:
            return _official(
                "eclipse-temurin",
                f"{major}-jdk",
                f"eclipse-temurin:{major}-jre",
                "a full JDK at runtime",
                jdk_step,
            )
        openjdk_home = env.get("JAVA_HOME", "")
        if openjdk_home.startswith("/usr/local/openjdk-") and "jre" not in run_text:
            major = _version(openjdk_home, 1)
            return _official(
                "openjdk",
                major,
                f"eclipse-temurin:{major}-jre",
                "a full JDK at runtime",
                env_step.get("JAVA_HOME"),
            )
    if toolchain is not None:
        why = "full Debian with compilers and -dev headers (buildpack-deps)"
        for name, variable, parts in (
            ("python", "PYTHON_VERSION", 2),
            ("node", "NODE_VERSION", 1),
            ("ruby", "RUBY_VERSION", 2),
        ):
            if variable in env:
                version = _version(env[variable], parts)
                slim = f"{version}-slim" if version else "slim"
                return _official(name, version or "latest", f"{name}:{slim}", why, toolchain)
        distro = codename or "bookworm"
        return _official(
            "buildpack-deps",
            distro,
            f"debian:{distro}-slim",
            "Debian with compilers and -dev headers",
            toolchain,
        )
    if labels.get("org.opencontainers.image.ref.name") == "ubuntu" and not (
        java or any(v in env for v in ("PYTHON_VERSION", "NODE_VERSION", "RUBY_VERSION"))
    ):
        version = labels.get("org.opencontainers.image.version", "latest")
        found = _heavy_reference(f"ubuntu:{version}", "history")
        if found is not None:
            return found
    return None


def detect_heavy_base(facts: ImageFacts, *, image: str = "") -> HeavyBase | None:
    """The heavy base of an image, or ``None`` when it is slim or cannot be told.

    ``image`` is the reference the workload asks for: an image that *is* a
    heavy base (a pod running ``python:3.12``) is reported as such.
    """
    if facts.base_name:
        found = _heavy_reference(facts.base_name, "base image annotation")
        if found is not None:
            return found
        if _parse(facts.base_name) is not None:
            return None  # the annotation names a base we do not consider heavy: trust it
    if image:
        found = _heavy_reference(image, "image reference")
        if found is not None:
            return found
    return _from_history(facts)
