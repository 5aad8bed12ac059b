"""History findings: real official-image histories, each check positive and negative."""

from __future__ import annotations

import pytest

from ballast.policy import Category, Rule, Status, Verdict, evaluate
from ballast.policy.history import (
    HistoryFinding,
    commands,
    env_values,
    history_findings,
    instructions,
    parse_created_by,
)
from tests.policy import histories as h
from tests.policy.conftest import CI, FakeLayerFinding, FakeReport, only
from tests.policy.histories import make_facts


def findings_for(*runs: str, env: tuple[str, ...] = ()) -> list[HistoryFinding]:
    steps: list[tuple[str, int | None]] = [(h.DEBIAN_SLIM_ROOTFS, 29_000_000)]
    steps += [(e, None) for e in env]
    steps += [(run, 10_000_000 + n) for n, run in enumerate(runs)]
    return list(history_findings(make_facts(steps)))


def checks(*runs: str, env: tuple[str, ...] = ()) -> list[str]:
    return [f.check for f in findings_for(*runs, env=env)]


@pytest.mark.parametrize(
    ("created_by", "keyword", "body"),
    [
        ("RUN /bin/sh -c apt-get update # buildkit", "RUN", "apt-get update"),
        ("/bin/sh -c apt-get update", "RUN", "apt-get update"),
        ('/bin/sh -c #(nop)  CMD ["bash"]', "CMD", '["bash"]'),
        ("/bin/sh -c #(nop) ADD file:abc in / ", "ADD", "file:abc in /"),
        ("|2 PY=3.12 DEBUG=0 /bin/sh -c pip install -r req.txt", "RUN", "pip install -r req.txt"),
        ("RUN |1 A=b /bin/sh -c make # buildkit", "RUN", "make"),
        (
            "RUN --mount=type=cache,target=/root/.cache/pip /bin/sh -c pip install x # buildkit",
            "RUN",
            "pip install x",
        ),
        ("COPY . . # buildkit", "COPY", ". ."),
        ("ENV PYTHON_VERSION=3.12.4", "ENV", "PYTHON_VERSION=3.12.4"),
        (h.DEBIAN_ROOTFS, "", h.DEBIAN_ROOTFS),
        ("", "RUN", ""),
    ],
)
def test_every_builders_spelling_is_recognised(created_by: str, keyword: str, body: str) -> None:
    assert parse_created_by(created_by) == (keyword, body)


def test_history_maps_onto_layers_skipping_empty_entries() -> None:
    steps = instructions(make_facts(h.python_slim_steps()))
    assert [(s.keyword, s.layer_index) for s in steps] == [
        ("ADD", 0),
        ("CMD", None),
        ("ENV", None),
        ("ENV", None),
        ("RUN", 1),
        ("ENV", None),
        ("ENV", None),
        ("RUN", 2),
        ("RUN", 3),
        ("CMD", None),
    ]


def test_env_values_both_forms() -> None:
    assert env_values('A=1 B="x y" C=') == {"A": "1", "B": "x y", "C": ""}
    assert env_values("NODE_ENV production") == {"NODE_ENV": "production"}


def test_commands_skip_assignments_and_sudo() -> None:
    (command,) = commands("DEBIAN_FRONTEND=noninteractive sudo apt-get install -y gcc")
    assert command.words == ("apt-get", "install", "-y", "gcc")
    assert command.assignments == {"DEBIAN_FRONTEND": "noninteractive"}


# -- the official images: no false positives, and the trap --------------------------------


def test_python_slim_installs_and_purges_gcc_in_one_run_so_nothing_is_found() -> None:
    assert history_findings(make_facts(h.python_slim_steps())) == ()


def test_node_slim_is_clean() -> None:
    assert history_findings(make_facts(h.node_slim_steps())) == ()


def test_temurin_is_clean_of_history_findings() -> None:
    assert history_findings(make_facts(h.temurin_steps(jdk=True))) == ()


def test_python_full_keeps_the_buildpack_deps_toolchain() -> None:
    found = history_findings(make_facts(h.python_full_steps()))
    assert [(f.category, f.check, f.layer_index) for f in found] == [
        ("build-tools", "compiler", 3),
        ("build-tools", "headers", 4),
    ]
    compiler = found[0]
    assert compiler.packages[:4] == ("g++", "gcc", "autoconf", "automake")
    assert compiler.layer_bytes == 211_300_000
    assert compiler.message == "g++, gcc, autoconf, automake +31 installed and kept"
    assert compiler.severity == "medium" and found[1].severity == "low"


# -- package caches ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "found"),
    [
        ("RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit", ["apt-lists"]),
        ("RUN /bin/sh -c apt-get update # buildkit", ["apt-lists"]),
        (
            "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends curl "
            "&& rm -rf /var/lib/apt/lists/* # buildkit",
            [],
        ),
        ("RUN /bin/sh -c apk add curl # buildkit", ["apk-cache"]),
        ("RUN /bin/sh -c apk add --no-cache curl # buildkit", []),
        ("RUN /bin/sh -c apk add curl && rm -rf /var/cache/apk/* # buildkit", []),
        ("RUN /bin/sh -c dnf install -y httpd # buildkit", ["yum-cache"]),
        ("RUN /bin/sh -c dnf install -y httpd && dnf clean all # buildkit", []),
        ("RUN /bin/sh -c microdnf install -y shadow-utils && microdnf clean all", []),
        ("RUN /bin/sh -c pip install -r requirements.txt # buildkit", ["pip-cache"]),
        ("RUN /bin/sh -c pip install --no-cache-dir -r requirements.txt # buildkit", []),
        ("RUN /bin/sh -c python3 -m pip install flask # buildkit", ["pip-cache"]),
        ("RUN /bin/sh -c PIP_NO_CACHE_DIR=1 pip3 install flask # buildkit", []),
        ("RUN /bin/sh -c pip install flask && rm -rf /root/.cache/pip # buildkit", []),
        ("RUN /bin/sh -c uv pip install --system -r requirements.txt", ["uv-cache"]),
        ("RUN /bin/sh -c uv pip install --no-cache --system -r requirements.txt", []),
    ],
)
def test_package_caches_left_in_the_layer(run: str, found: list[str]) -> None:
    assert checks(run) == found


@pytest.mark.parametrize(
    ("run", "found"),
    [
        ("RUN --mount=type=cache,target=/root/.cache/pip /bin/sh -c pip install -r r.txt", []),
        ("RUN --mount=type=cache,target=/home/app/.cache /bin/sh -c pip install -r r.txt", []),
        ("RUN --mount=type=cache,target=/root/.npm /bin/sh -c pip install -r r.txt", ["pip-cache"]),
        (
            "RUN --mount=type=cache,target=/var/cache/apt,sharing=locked "
            "--mount=type=cache,target=/var/lib/apt,sharing=locked "
            "/bin/sh -c apt-get update && apt-get install -y curl # buildkit",
            [],
        ),
        (
            "RUN --mount=type=cache,target=/var/lib/apt/lists/partial "
            "/bin/sh -c apt-get update && apt-get install -y curl # buildkit",
            ["apt-lists"],
        ),
        ("RUN --mount=type=cache,target=/var/cache/apk /bin/sh -c apk add curl", []),
        ("RUN --mount=type=bind,target=/var/lib/apt /bin/sh -c apt-get update", ["apt-lists"]),
    ],
)
def test_buildkit_cache_mounts_keep_caches_out_of_the_layer(run: str, found: list[str]) -> None:
    assert checks(run) == found


def test_pip_cache_env_set_earlier_counts() -> None:
    run = "RUN /bin/sh -c pip install -r requirements.txt # buildkit"
    assert checks(run, env=("ENV PIP_NO_CACHE_DIR=1",)) == []
    assert checks(run, env=("/bin/sh -c #(nop)  ENV PIP_NO_CACHE_DIR=off",)) == []


def test_the_finding_carries_that_layers_compressed_size_and_instruction() -> None:
    (finding,) = findings_for("RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit")
    assert finding.category == "package-cache"
    assert finding.layer_index == 1
    assert finding.layer_bytes == 10_000_000
    assert finding.created_by.startswith("RUN /bin/sh -c apt-get update")
    assert finding.message == "apt-get install without rm -rf /var/lib/apt/lists/*"


# -- build tools ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "found"),
    [
        (
            "RUN /bin/sh -c apt-get install -y build-essential && rm -rf /var/lib/apt/lists/*",
            ["compiler"],
        ),
        ("RUN /bin/sh -c apt-get install -y libpq-dev && rm -rf /var/lib/apt/lists/*", ["headers"]),
        # installed and purged by name in the same RUN: the trap, no finding
        (
            "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends gcc "
            "libpq-dev && pip install --no-cache-dir psycopg2 && apt-get purge -y --auto-remove "
            "gcc libpq-dev && rm -rf /var/lib/apt/lists/* # buildkit",
            [],
        ),
        # alpine's virtual package idiom
        (
            "RUN /bin/sh -c apk add --no-cache --virtual .build-deps gcc musl-dev "
            "&& pip install --no-cache-dir cryptography && apk del --no-network .build-deps",
            [],
        ),
        ("RUN /bin/sh -c apk add --no-cache gcc musl-dev", ["compiler"]),
        ("RUN /bin/sh -c dnf install -y gcc make && dnf clean all", ["compiler"]),
        ("RUN /bin/sh -c dnf install -y gcc && dnf remove -y gcc && dnf clean all", []),
        # purged in a *later* RUN: still shipped in this layer
        ("RUN /bin/sh -c apt-get install -y gcc && rm -rf /var/lib/apt/lists/*", ["compiler"]),
        (
            "RUN /bin/sh -c apt-get install -y curl ca-certificates && rm -rf /var/lib/apt/lists/*",
            [],
        ),
        (
            "RUN /bin/sh -c apt-get install -y openjdk-17-jre-headless "
            "&& rm -rf /var/lib/apt/lists/*",
            [],
        ),
        (
            "RUN /bin/sh -c apt-get install -y openjdk-17-jdk-headless "
            "&& rm -rf /var/lib/apt/lists/*",
            ["compiler"],
        ),
    ],
)
def test_build_tools_installed_and_kept(run: str, found: list[str]) -> None:
    assert checks(run) == found


def test_purging_in_a_later_run_does_not_unship_the_compiler() -> None:
    found = checks(
        "RUN /bin/sh -c apt-get install -y gcc && rm -rf /var/lib/apt/lists/*",
        "RUN /bin/sh -c apt-get purge -y gcc",
    )
    assert found == ["compiler"]


# -- dev leftovers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "env", "found"),
    [
        ("RUN /bin/sh -c npm ci # buildkit", (), ["node-dev-dependencies"]),
        ("RUN /bin/sh -c npm install # buildkit", (), ["node-dev-dependencies"]),
        ("RUN /bin/sh -c npm ci --omit=dev # buildkit", (), []),
        ("RUN /bin/sh -c npm ci --omit dev # buildkit", (), []),
        ("RUN /bin/sh -c npm install --production # buildkit", (), []),
        ("RUN /bin/sh -c npm ci # buildkit", ("ENV NODE_ENV=production",), []),
        ("RUN /bin/sh -c NODE_ENV=production npm ci # buildkit", (), []),
        ("RUN /bin/sh -c npm ci && npm prune --omit=dev # buildkit", (), []),
        ("RUN /bin/sh -c npm install -g pm2 # buildkit", (), []),
        ("RUN /bin/sh -c npm install express # buildkit", (), []),
        ("RUN /bin/sh -c yarn install --frozen-lockfile # buildkit", (), ["node-dev-dependencies"]),
        ("RUN /bin/sh -c yarn install --production --frozen-lockfile # buildkit", (), []),
        ("RUN /bin/sh -c pnpm install --prod # buildkit", (), []),
    ],
)
def test_dev_dependencies_installed(run: str, env: tuple[str, ...], found: list[str]) -> None:
    assert checks(run, env=env) == found


def test_copying_the_whole_context_before_installing_dependencies() -> None:
    early = findings_for(
        "COPY . /app # buildkit",
        "RUN /bin/sh -c npm ci --omit=dev # buildkit",
    )
    assert [(f.check, f.layer_index, f.category) for f in early] == [
        ("copy-context", 1, "dev-leftovers")
    ]
    assert ".dockerignore" in early[0].advice
    late = checks(
        "COPY package.json package-lock.json ./ # buildkit",
        "RUN /bin/sh -c npm ci --omit=dev # buildkit",
        "COPY . . # buildkit",
    )
    assert late == []
    from_stage = checks(
        "COPY --from=build /src/. /app # buildkit",
        "RUN /bin/sh -c pip install --no-cache-dir -r requirements.txt",
    )
    assert from_stage == []
    classic = checks(
        "/bin/sh -c #(nop) COPY dir:4f5e6a in /app ",
        "/bin/sh -c pip install --no-cache-dir -r requirements.txt",
    )
    assert classic == []  # the classic builder hides what was copied


def test_history_findings_are_filed_under_their_category_in_a_verdict() -> None:
    facts = make_facts(
        [
            (h.DEBIAN_SLIM_ROOTFS, 29_000_000),
            ("WORKDIR /app", None),
            ("COPY . . # buildkit", 3_000_000),
            ("RUN /bin/sh -c apt-get update && apt-get install -y gcc # buildkit", 80_000_000),
            ("RUN /bin/sh -c pip install -r requirements.txt # buildkit", 40_000_000),
        ]
    )
    policy = only(Rule("build-tools"), Rule("package-cache"), Rule("dev-leftovers"))
    verdict = evaluate(facts, image="ghcr.io/acme/api:1", context=CI, policy=policy)
    assert verdict.verdict is Verdict.WARN
    by_rule = [
        (f.rule, f.detail, f.where.layer_index if f.where else None) for f in verdict.findings
    ]
    assert by_rule == [
        ("build-tools", "history:compiler", 2),
        ("package-cache", "history:apt-lists", 2),
        ("package-cache", "history:pip-cache", 3),
        ("dev-leftovers", "history:copy-context", 1),
    ]
    pip = verdict.findings[2]
    assert pip.category is Category.PACKAGE_CACHE
    assert pip.measured is not None and pip.measured.value == 40_000_000
    assert pip.savings_bytes is None  # a layer size is an upper bound, not a saving


def test_layer_facts_replace_history_guesses_but_keep_copy_context() -> None:
    facts = make_facts(
        [
            (h.DEBIAN_SLIM_ROOTFS, 29_000_000),
            ("COPY . . # buildkit", 3_000_000),
            (
                "RUN /bin/sh -c apt-get update && apt-get install -y gcc "
                "&& pip install -r requirements.txt # buildkit",
                80_000_000,
            ),
        ]
    )
    policy = only(Rule("build-tools"), Rule("package-cache"), Rule("dev-leftovers"))
    report = FakeReport(
        findings=(
            FakeLayerFinding(
                "build-tools", "compiler", "medium", 60_000_000, ("/usr/bin/gcc-12",), 2
            ),
        )
    )
    verdict = evaluate(facts, report, image="x", context=CI, policy=policy)
    assert [(f.rule, f.detail, f.status) for f in verdict.findings] == [
        ("build-tools", "compiler", Status.FAIL),
        ("package-cache", "", Status.PASS),
        ("dev-leftovers", "history:copy-context", Status.FAIL),
    ]


def test_odd_history_text_never_raises() -> None:
    odd = [
        "RUN",
        "RUN /bin/sh -c",
        "/bin/sh -c #(nop)",
        "|x",
        "apt-get install -o",
        "apk add --virtual",
        "COPY",
        "ENV",
        "ENV =",
        "RUN /bin/sh -c npm",
        "\x00\n\t$(`",
    ]
    facts = make_facts([(text, 1) for text in odd] + [(text, None) for text in odd])
    history_findings(facts)
