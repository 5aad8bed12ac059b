"""What changed since the previous report: images new, grown, shrunk, updated and gone,
findings new and resolved, and every way the previous report can be missing or wrong.

Two passes over a hand-made cluster a day apart: a rollout of ``web`` to a bigger tag,
``api`` slimmed below the size limit, ``worker`` rebuilt at the same size, ``cache:latest``
moved to a bigger digest, ``legacy`` removed and ``batch`` added; ``sidecar`` unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.reports import (
    ChangesStatus,
    ImageChangeKind,
    changes_from_dict,
    changes_to_dict,
    diff_reports,
    find_previous,
    render,
    report_problems,
    write_reports,
)
from auditor.reports.markdown_report import escape_markdown
from auditor.reports.naming import ReportName
from auditor.snapshot_json import snapshot_to_dict
from tests.auditor.conftest import NOW
from tests.auditor.podlists import C, make_pod, owner
from tests.auditor.test_report_support import (
    APT_RUN,
    MB,
    FakeImage,
    TableResolver,
    markdown_tables,
    snapshot_of,
)

REG = "registry.example.com"
LATER = NOW + dt.timedelta(days=1)

BEFORE = {
    "web": (f"{REG}/shop/web:1.4", FakeImage((180 * MB, 120 * MB))),
    "api": (f"{REG}/shop/api:2.0", FakeImage((300 * MB, 150 * MB))),
    "worker": (f"{REG}/shop/worker:7", FakeImage((90 * MB,))),
    "cache": (f"{REG}/infra/cache:latest", FakeImage((60 * MB,), digest="sha256:" + "a" * 64)),
    "legacy": (
        f"{REG}/shop/legacy:1",
        FakeImage((200 * MB, 50 * MB), history=("ADD rootfs.tar.xz / # buildkit", APT_RUN)),
    ),
    "sidecar": (f"{REG}/infra/sidecar:1", FakeImage((20 * MB,))),
}
AFTER = {
    "web": (f"{REG}/shop/web:1.5", FakeImage((200 * MB, 120 * MB))),
    "api": (f"{REG}/shop/api:2.1", FakeImage((250 * MB, 100 * MB))),
    "worker": (f"{REG}/shop/worker:8", FakeImage((90 * MB,))),
    "cache": (f"{REG}/infra/cache:latest", FakeImage((75 * MB,), digest="sha256:" + "b" * 64)),
    "batch": (f"{REG}/jobs/batch:1", FakeImage((420 * MB, 80 * MB))),
    "sidecar": (f"{REG}/infra/sidecar:1", FakeImage((20 * MB,))),
}


def cluster(images: dict[str, tuple[str, FakeImage]]) -> tuple[list[dict[str, Any]], TableResolver]:
    resolver = TableResolver({ref: image for ref, image in images.values()})
    pods = []
    for name, (ref, _) in images.items():
        namespace = ref.split("/")[1]
        image_id = f"{ref.rsplit(':', 1)[0]}@{resolver.digest_of(ref)}"
        pods += [
            make_pod(
                f"{name}-{n}",
                namespace,
                containers=[C(name, ref, image_id)],
                node=f"node-{n}",
                owners=[owner("StatefulSet", name)],
            )
            for n in range(2)
        ]
    return pods, resolver


def snapshots() -> tuple[Any, Any]:
    before = snapshot_of(*cluster(BEFORE), now=NOW)
    after = snapshot_of(*cluster(AFTER), now=LATER, today=LATER.date())
    return before, after


def test_a_rollout_reads_as_grown_shrunk_updated_new_and_gone_with_findings() -> None:
    before, after = snapshots()
    changes = diff_reports(
        snapshot_to_dict(before), snapshot_to_dict(after), previous_name="a.json"
    )
    assert changes.status is ChangesStatus.COMPARED and changes.notes == ()
    listed = [
        (c.kind.value, c.name, c.previous_compressed_bytes, c.compressed_bytes, c.delta_bytes)
        for c in changes.images
    ]
    assert listed == [
        ("new", "registry.example.com/jobs/batch:1", None, 500_001_000, None),
        ("grown", "registry.example.com/shop/web:1.5", 300_001_000, 320_001_000, 20_000_000),
        ("grown", "registry.example.com/infra/cache:latest", 60_001_000, 75_001_000, 15_000_000),
        ("shrunk", "registry.example.com/shop/api:2.1", 450_001_000, 350_001_000, -100_000_000),
        ("updated", "registry.example.com/shop/worker:8", 90_001_000, 90_001_000, 0),
        ("gone", "registry.example.com/shop/legacy:1", 250_001_000, None, None),
    ]
    assert changes.unchanged_images == 1  # the sidecar
    web = changes.images[1]
    assert (web.repository, web.previous_pull_footprint_bytes, web.pull_footprint_bytes) == (
        "registry.example.com/shop/web",
        600_002_000,
        640_002_000,
    )

    assert [(f.image_name, f.rule) for f in changes.new_findings] == [
        ("registry.example.com/jobs/batch:1", "maxCompressedSize")
    ]
    resolved = {(f.image_name, f.rule): f.image_gone for f in changes.resolved_findings}
    assert resolved == {
        ("registry.example.com/shop/api:2.0", "maxCompressedSize"): False,  # slimmed: fixed
        ("registry.example.com/shop/legacy:1", "build-tools"): True,
        ("registry.example.com/shop/legacy:1", "package-cache"): True,
    }
    summary = {key: (d.previous, d.current, d.delta) for key, d in changes.summary.items()}
    assert summary["uniqueImages"] == (6, 6, 0)
    assert summary["compressedSize"] == (
        before.compressed_bytes,
        after.compressed_bytes,
        after.compressed_bytes - before.compressed_bytes,
    )
    assert summary["failedFindings"] == (3, 1, -2)
    assert changes_from_dict(changes_to_dict(changes)) == changes


def test_write_reports_finds_the_previous_report_and_every_format_shows_the_changes(
    tmp_path: Path,
) -> None:
    before, after = snapshots()
    first = write_reports(before, tmp_path)
    assert json.loads(first[0].read_text())["changes"] is None  # nothing to compare with
    assert "What changed" not in first[1].read_text()

    second = write_reports(after, tmp_path)
    assert second[0].name == "ballast-audit-20260616T093000Z.json"
    document = json.loads(second[0].read_text())
    assert report_problems(document) == []
    changes = document["changes"]
    assert changes["previous"] == {
        "file": "ballast-audit-20260615T093000Z.json",
        "started": "2026-06-15T09:30:00Z",
        "schemaVersion": 1,
    }
    assert changes["counts"] == {
        "new": 1,
        "grown": 2,
        "shrunk": 1,
        "updated": 1,
        "gone": 1,
        "unchanged": 1,
        "newFindings": 1,
        "resolvedFindings": 3,
    }

    markdown = second[1].read_text()
    section = markdown.split("## What changed since the previous report", 1)[1].split("\n## ")[0]
    assert "Compared with ballast-audit-20260615T093000Z.json (2026-06-15 09:30 UTC)." in section
    assert "| Compressed size | 1.2 GB | 1.4 GB | +185.0 MB |" in section
    assert "| Failing findings | 3 | 1 | -2 |" in section
    (images,) = [t for t in markdown_tables(section) if t[0][0] == "change"]
    assert [row[0] for row in images[2:]] == [
        "🆕 new",
        "📈 grown",
        "📈 grown",
        "📉 shrunk",
        "🔁 updated",
        "🗑️ gone",
    ]
    assert images[3][1:] == [
        "`registry.example.com/shop/web:1.5`",
        "300.0 MB",
        "320.0 MB",
        "+20.0 MB",
    ]
    assert "### New findings" in section and "(image gone)" in section

    by_name = {p.name: p for p in second}
    changes_csv = by_name["ballast-audit-20260616T093000Z-changes.csv"].read_text()
    assert "shrunk,registry.example.com/shop/api:2.1" in changes_csv
    assert ",-100000000," in changes_csv  # a number, not a formula-escaped string
    assert "resolved-finding,registry.example.com/shop/legacy:1" in changes_csv
    images_csv = by_name["ballast-audit-20260616T093000Z-images.csv"].read_text()
    assert "grown,20000000" in images_csv

    html = by_name["ballast-audit-20260616T093000Z.html"].read_text()
    assert '<section id="changes">' in html
    assert '<span class="badge deny">grown</span>' in html
    assert "+185.0 MB since previous" in html


def test_a_second_report_in_the_same_second_gets_its_own_name_and_compares_with_the_first(
    tmp_path: Path,
) -> None:
    before, _ = snapshots()
    write_reports(before, tmp_path, formats=["json"])
    (again,) = write_reports(before, tmp_path, formats=["json"])
    assert again.name == "ballast-audit-20260615T093000Z-2.json"
    changes = json.loads(again.read_text())["changes"]
    assert changes["status"] == "compared" and changes["images"] == []
    assert changes["counts"]["unchanged"] == 6
    assert find_previous(tmp_path, before=ReportName("20260615T093000Z", 3)) == again


def test_keep_prunes_the_oldest_report_sets_only(tmp_path: Path) -> None:
    before, after = snapshots()
    (tmp_path / "README.txt").write_text("not a report")
    write_reports(before, tmp_path, formats=["json", "markdown"])
    write_reports(after, tmp_path, formats=["json", "markdown"], keep=1)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "README.txt",
        "ballast-audit-20260616T093000Z.json",
        "ballast-audit-20260616T093000Z.md",
        "ballast-audit-latest.json",
        "ballast-audit-latest.md",
    ]
    with pytest.raises(ValueError, match="keep must be at least 1"):
        write_reports(after, tmp_path, keep=0)


# -- a previous report that is missing or wrong ------------------------------------------------


def _changes_after(tmp_path: Path, previous_text: str | bytes) -> dict[str, Any]:
    _, after = snapshots()
    previous = tmp_path / "ballast-audit-20260615T093000Z.json"
    if isinstance(previous_text, bytes):
        previous.write_bytes(previous_text)
    else:
        previous.write_text(previous_text)
    files = write_reports(after, tmp_path, formats=["json", "markdown"])
    document = json.loads(files[0].read_text())
    assert report_problems(document) == []
    changes: dict[str, Any] = document["changes"]
    changes["markdown"] = files[1].read_text()
    return changes


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            '{"schemaVersion": 1, "kind": "BallastAudit", "images": [{"key": "sha',
            "is not valid JSON (Unterminated string starting at: line 1 column 65; "
            "a truncated or corrupt file)",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "is not UTF-8 text (corrupt or not a report)"),
        ("", "is not valid JSON (Expecting value: line 1 column 1"),
        ("[1, 2, 3]", "is not an audit report (found an array)"),
        ('{"kind": "Deployment"}', "is not a ballast audit report (kind the string 'Deployment'"),
        ('{"schemaVersion": 1, "images": "none"}', "has no readable images list"),
    ],
)
def test_a_corrupt_previous_report_gives_a_note_and_never_fails_the_new_one(
    tmp_path: Path, content: str | bytes, says: str
) -> None:
    changes = _changes_after(tmp_path, content)
    assert changes["status"] == "unavailable"
    (note,) = changes["notes"]
    assert note.startswith("previous report ballast-audit-20260615T093000Z.json ") or (
        note.startswith("ballast-audit-20260615T093000Z.json ")
    )
    assert says in note and note.endswith("changes since then are not shown")
    assert changes["images"] == [] and changes["summary"] == {}
    assert f"> ⚠️ {escape_markdown(note)}" in changes["markdown"]


def test_an_older_schema_version_is_compared_on_what_both_share_with_a_note(
    tmp_path: Path,
) -> None:
    before, _ = snapshots()
    old = {
        "schemaVersion": 0,
        "images": [
            {"key": i.key, "compressedSize": i.compressed_bytes, "references": list(i.references)}
            for i in before.images
        ]
        + [1, "junk", {"compressedSize": 5}],
    }
    changes = _changes_after(tmp_path, json.dumps(old))
    assert changes["status"] == "partial"
    assert changes["notes"] == [
        "ballast-audit-20260615T093000Z.json has schemaVersion 0 (this report has schemaVersion "
        "1): images were compared by key, size and repository, and findings by rule; some "
        "changes may be missing",
        "3 image entries of ballast-audit-20260615T093000Z.json could not be read and were left "
        "out",
    ]
    kinds = [c["change"] for c in changes["images"]]
    assert kinds == ["new", "grown", "grown", "shrunk", "updated", "gone"]
    assert changes["summary"]["compressedSize"]["previous"] is None
    assert changes["findings"]["resolved"] == []  # the old report had no findings to resolve
    assert "> ⚠️ ballast-audit-20260615T093000Z.json has schemaVersion 0" in changes["markdown"]


def test_no_previous_report_means_no_changes_section_and_a_missing_one_a_note(
    tmp_path: Path,
) -> None:
    _, after = snapshots()
    assert json.loads(render(after, "json"))["changes"] is None
    missing = tmp_path / "ballast-audit-20200101T000000Z.json"
    document = json.loads(render(after, "json", previous=missing))
    assert document["changes"]["status"] == "unavailable"
    assert document["changes"]["notes"] == [
        f"previous report {missing.name} was not found in {tmp_path}; "
        "changes since then are not shown"
    ]
    (path,) = write_reports(after, tmp_path / "fresh", formats=["json"], previous=None)
    assert json.loads(path.read_text())["changes"] is None


def test_a_saved_report_rendered_again_keeps_its_changes(tmp_path: Path) -> None:
    before, after = snapshots()
    write_reports(before, tmp_path, formats=["json"])
    (path,) = write_reports(after, tmp_path, formats=["json"])
    saved = json.loads(path.read_text())
    assert "🆕 new" in render(saved, "markdown")
    assert json.loads(render(saved, "json")) == saved
    # Given a previous report explicitly, the changes are computed again.
    again = json.loads(render(saved, "json", previous=saved))
    assert again["changes"]["counts"]["unchanged"] == 6


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "schemaVersion",
                    "kind",
                    "images",
                    "key",
                    "compressedSize",
                    "references",
                    "repositories",
                    "findings",
                    "image",
                    "rule",
                    "status",
                    "summary",
                    "timing",
                    "x",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_diff_never_raises_whatever_the_previous_document_holds(previous: object) -> None:
    changes = diff_reports(previous, CURRENT, previous_name="p.json")
    assert changes.status in set(ChangesStatus)
    if changes.status is ChangesStatus.UNAVAILABLE:
        assert len(changes.notes) == 1
    else:
        assert all(c.kind in set(ImageChangeKind) for c in changes.images)
    assert report_problems({**CURRENT, "changes": changes_to_dict(changes)}) == []


CURRENT = snapshot_to_dict(snapshots()[1])
