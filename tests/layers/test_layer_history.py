"""History findings: one line of config history, and the fix in the same RUN silences it."""

from __future__ import annotations

import pytest

from ballast.layers.history import history_findings, normalize_instruction

MB = 1_000_000

CASES = [
    # (created_by, expected rules)
    ("/bin/sh -c apt-get update && apt-get install -y curl", {"history-apt-lists"}),
    (
        "RUN /bin/sh -c apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/* "
        "# buildkit",
        set(),
    ),
    ("RUN |1 X=y /bin/sh -c pip install -r requirements.txt # buildkit", {"history-pip-cache"}),
    ("RUN /bin/sh -c pip install --no-cache-dir -r requirements.txt # buildkit", set()),
    (
        "RUN --mount=type=cache,target=/root/.cache/pip /bin/sh -c pip install -r req.txt",
        set(),
    ),
    ("/bin/sh -c npm ci", {"history-npm-dev-dependencies"}),
    ("/bin/sh -c npm ci --omit=dev", set()),
    ("/bin/sh -c npm install -g npm@10", set()),
    ("/bin/sh -c apk add build-base python3-dev", {"history-apk-cache", "history-build-tools"}),
    (
        "/bin/sh -c apk add --no-cache --virtual .build-deps gcc musl-dev"
        " && pip install --no-cache-dir x && apk del .build-deps",
        set(),
    ),
    (
        "/bin/sh -c apt-get update && apt-get install -y gcc make && make && apt-get purge -y gcc "
        "make && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*",
        set(),
    ),
    (
        "/bin/sh -c apt-get update && apt-get install -y build-essential libpq-dev && rm -rf "
        "/var/lib/apt/lists/*",
        {"history-build-tools"},
    ),
    ("/bin/sh -c yum install -y httpd", {"history-yum-cache"}),
    ("/bin/sh -c yum install -y httpd && yum clean all", set()),
    ('/bin/sh -c #(nop)  CMD ["sh"]', set()),
]


@pytest.mark.parametrize(("created_by", "expected"), CASES)
def test_history_rules(created_by: str, expected: set[str]) -> None:
    found = history_findings([(created_by, 50 * MB, 3)], layer_digests=["d0", "d1", "d2", "d3"])
    assert {f.rule for f in found} == expected
    for finding in found:
        assert finding.bytes == 50 * MB
        assert finding.layer == 3 and finding.layer_digest == "d3"
        assert finding.created_by == created_by
        assert "50.0 MB" in finding.advice


def test_findings_point_at_the_category_they_fix() -> None:
    found = history_findings(
        [
            ("/bin/sh -c apt-get update && apt-get install -y gcc", 200 * MB, 1),
            ("/bin/sh -c npm install", 80 * MB, 2),
        ]
    )
    assert {(f.rule, f.category) for f in found} == {
        ("history-apt-lists", "package-cache"),
        ("history-build-tools", "build-tools"),
        ("history-npm-dev-dependencies", "dev-leftovers"),
    }
    assert found[0].bytes == 200 * MB  # biggest first within a severity
    (tools,) = [f for f in found if f.rule == "history-build-tools"]
    assert "gcc" in tools.advice and "multi-stage" in tools.advice


def test_copy_context_early_needs_a_later_dependency_install() -> None:
    early = history_findings(
        [
            ("COPY . . # buildkit", 10 * MB, 1),
            ("RUN /bin/sh -c npm ci --omit=dev # buildkit", 60 * MB, 2),
        ]
    )
    assert [f.rule for f in early] == ["history-copy-context-early"]
    late = history_findings(
        [
            ("COPY package.json . # buildkit", 1000, 1),
            ("RUN /bin/sh -c npm ci --omit=dev", 60 * MB, 2),
            ("COPY . . # buildkit", 10 * MB, 3),
        ]
    )
    assert late == ()


def test_small_layers_are_low_severity() -> None:
    (finding,) = history_findings([("/bin/sh -c pip install flask", 500_000, 0)])
    assert finding.severity == "low"


def test_instruction_normalisation() -> None:
    assert (
        normalize_instruction("/bin/sh -c #(nop) COPY dir:abc in /app ") == "COPY dir:abc in /app"
    )
    assert normalize_instruction("RUN |2 A=1 B=2 /bin/sh -c make # buildkit") == "make"
