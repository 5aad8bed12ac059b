"""What changed between two audit reports: :func:`diff_reports`.

Owns the comparison. Both documents are read tolerantly (the previous one comes
from a file written by some earlier ballast, or by hand): entries that cannot
be read are skipped and counted in a note, and nothing here raises for any
JSON value.

Images are matched in three steps, so that a rollout reads as one image that
grew or shrank rather than one new and one gone:

1. the same key (digest, or the reference of an unknown image);
2. a tag both report (``api:latest`` now points at another digest);
3. the same repository (``api:1.4`` replaced by ``api:1.5``), largest first.

A matched pair with another digest is ``grown``/``shrunk`` by compressed size,
or ``updated`` when the size is the same or unknown on a side; unmatched images
are ``new`` or ``gone``. Findings are compared by (image lineage, rule, detail)
over failing findings only, so a finding that survives a rollout is neither new
nor resolved, and a measured value that moved does not make it new. Pure;
must not import Flask, the Kubernetes client or :mod:`webhook`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from auditor.model import SCHEMA_VERSION
from auditor.reports.changes import (
    SUMMARY_KEYS,
    Changes,
    ChangesStatus,
    FindingChange,
    ImageChange,
    ImageChangeKind,
    SummaryDelta,
)
from auditor.reports.names import image_name, repository_of
from auditor.snapshot_json import DOCUMENT_KIND
from ballast.json_values import describe, is_array, is_object, text_or_empty

__all__ = ["diff_reports", "unavailable_changes"]

_KIND_ORDER: Final = {kind: n for n, kind in enumerate(ImageChangeKind)}


def diff_reports(
    previous: object,
    current: Mapping[str, Any],
    *,
    previous_name: str | None = None,
) -> Changes:
    """Compare the previous JSON report (any decoded JSON value) with the current document.

    ``previous_name`` (the file name) is used in notes. Never raises: a previous
    document that is not an audit report gives ``status: unavailable`` with a note
    saying why; one of another ``schemaVersion`` is compared on what both share
    (``status: partial``).
    """
    label = previous_name or "the previous report"
    if not is_object(previous):
        return unavailable_changes(
            f"{label} is not an audit report (found {describe(previous, quote_strings=True)}); "
            "changes since then are not shown",
            previous_name=previous_name,
        )
    kind = previous.get("kind")
    if kind is not None and kind != DOCUMENT_KIND:
        return unavailable_changes(
            f"{label} is not a ballast audit report (kind {describe(kind, quote_strings=True)}, "
            f"expected {DOCUMENT_KIND!r}); changes since then are not shown",
            previous_name=previous_name,
        )
    version = previous.get("schemaVersion")
    version_number = version if isinstance(version, int) and not isinstance(version, bool) else None
    started = _started(previous)
    if not is_array(previous.get("images")):
        return unavailable_changes(
            f"{label} has no readable images list; changes since then are not shown",
            previous_name=previous_name,
            previous_started=started,
            previous_schema_version=version_number,
        )
    notes: list[str] = []
    status = ChangesStatus.COMPARED
    current_version = current.get("schemaVersion", SCHEMA_VERSION)
    if version_number != current_version:
        status = ChangesStatus.PARTIAL
        written = f"schemaVersion {version_number}" if version_number is not None else "no schema"
        notes.append(
            f"{label} has {written} (this report has schemaVersion {current_version}): "
            "images were compared by key, size and repository, and findings by rule; "
            "some changes may be missing"
        )
    before = _read_images(previous, label, notes)
    now = _read_images(current, "the current report", notes)
    pairs, new, gone = _match(before, now)
    lineage = {cur.key: prev.key for prev, cur in pairs}
    image_changes = [_paired(prev, cur) for prev, cur in pairs]
    unchanged = sum(1 for change in image_changes if change is None)
    listed = [change for change in image_changes if change is not None]
    listed += [_new(image) for image in new]
    listed.sort(key=_change_order)
    listed += sorted((_gone(image) for image in gone), key=_change_order)
    new_findings, resolved = _findings(previous, current, lineage, before, now, label, notes)
    return Changes(
        status=status,
        previous_file=previous_name,
        previous_started=started,
        previous_schema_version=version_number,
        notes=tuple(notes),
        summary=_summary(previous, current),
        images=tuple(listed),
        new_findings=new_findings,
        resolved_findings=resolved,
        unchanged_images=unchanged,
    )


def unavailable_changes(
    reason: str,
    *,
    previous_name: str | None = None,
    previous_started: str | None = None,
    previous_schema_version: int | None = None,
) -> Changes:
    """Changes that could not be computed, with the reason as the note (a corrupt file)."""
    return Changes(
        status=ChangesStatus.UNAVAILABLE,
        previous_file=previous_name,
        previous_started=previous_started,
        previous_schema_version=previous_schema_version,
        notes=(reason,),
        summary={},
        images=(),
        new_findings=(),
        resolved_findings=(),
        unchanged_images=0,
    )


# -- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Image:
    key: str
    name: str
    repositories: tuple[str, ...]
    tags: tuple[str, ...]
    """References by tag (no digest): a tag that moved pairs two digests."""
    compressed: int | None
    footprint: int | None


def _started(document: Mapping[str, Any]) -> str | None:
    timing = document.get("timing")
    started = timing.get("started") if is_object(timing) else None
    return started if isinstance(started, str) else None


def _count(value: object) -> int | None:
    """A non-negative JSON integer, else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _texts(value: object) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) if is_array(value) else ()


def _read_images(document: Mapping[str, Any], label: str, notes: list[str]) -> list[_Image]:
    items = document.get("images")
    images: list[_Image] = []
    skipped = 0
    seen: set[str] = set()
    for item in items if is_array(items) else ():
        key = item.get("key") if is_object(item) else None
        if not isinstance(key, str) or not key or key in seen:
            skipped += 1
            continue
        seen.add(key)
        references = _texts(item.get("references"))
        repositories = _texts(item.get("repositories")) or tuple(
            dict.fromkeys(repository_of(r) for r in references)
        )
        images.append(
            _Image(
                key=key,
                name=image_name(_texts(item.get("specImages")), references, key),
                repositories=repositories,
                tags=tuple(r for r in references if "@" not in r),
                compressed=_count(item.get("compressedSize")),
                footprint=_count(item.get("pullFootprint")),
            )
        )
    if skipped:
        notes.append(f"{skipped} image entries of {label} could not be read and were left out")
    return images


# -- matching ----------------------------------------------------------------------------------


def _match(
    before: Sequence[_Image], now: Sequence[_Image]
) -> tuple[list[tuple[_Image, _Image]], list[_Image], list[_Image]]:
    """Pair images by key, then by a shared tag, then by repository (see the module doc)."""
    by_key = {image.key: image for image in before}
    pairs: list[tuple[_Image, _Image]] = []
    left_now: list[_Image] = []
    for image in now:
        match = by_key.pop(image.key, None)
        if match is not None:
            pairs.append((match, image))
        else:
            left_now.append(image)
    left_before = [image for image in before if image.key in by_key]
    for shared in (_tags, _repositories):
        unmatched: list[_Image] = []
        for image in left_now:
            names = set(shared(image))
            match = next((p for p in left_before if names & set(shared(p))), None)
            if match is None:
                unmatched.append(image)
                continue
            left_before.remove(match)
            pairs.append((match, image))
        left_now = unmatched
    return pairs, left_now, left_before


def _tags(image: _Image) -> tuple[str, ...]:
    return image.tags


def _repositories(image: _Image) -> tuple[str, ...]:
    return image.repositories


def _paired(before: _Image, now: _Image) -> ImageChange | None:
    """The change between two matched images; ``None`` when it is the same image, same size."""
    sizes_known = before.compressed is not None and now.compressed is not None
    if sizes_known and now.compressed != before.compressed:
        grew = (now.compressed or 0) > (before.compressed or 0)
        kind = ImageChangeKind.GROWN if grew else ImageChangeKind.SHRUNK
    elif before.key != now.key:
        kind = ImageChangeKind.UPDATED
    else:
        return None
    return ImageChange(
        kind=kind,
        name=now.name,
        repository=_repository(now) or _repository(before),
        key=now.key,
        previous_key=before.key,
        compressed_bytes=now.compressed,
        previous_compressed_bytes=before.compressed,
        pull_footprint_bytes=now.footprint,
        previous_pull_footprint_bytes=before.footprint,
    )


def _new(image: _Image) -> ImageChange:
    return ImageChange(
        kind=ImageChangeKind.NEW,
        name=image.name,
        repository=_repository(image),
        key=image.key,
        previous_key=None,
        compressed_bytes=image.compressed,
        previous_compressed_bytes=None,
        pull_footprint_bytes=image.footprint,
        previous_pull_footprint_bytes=None,
    )


def _gone(image: _Image) -> ImageChange:
    return ImageChange(
        kind=ImageChangeKind.GONE,
        name=image.name,
        repository=_repository(image),
        key=None,
        previous_key=image.key,
        compressed_bytes=None,
        previous_compressed_bytes=image.compressed,
        pull_footprint_bytes=None,
        previous_pull_footprint_bytes=image.footprint,
    )


def _repository(image: _Image) -> str:
    return image.repositories[0] if image.repositories else ""


def _change_order(change: ImageChange) -> tuple[int, int, str]:
    delta = change.delta_bytes
    if delta is not None:
        size = abs(delta)
    else:
        size = change.compressed_bytes or change.previous_compressed_bytes or 0
    return (_KIND_ORDER[change.kind], -size, change.name)


# -- findings and totals -----------------------------------------------------------------------


def _findings(
    previous: Mapping[str, Any],
    current: Mapping[str, Any],
    lineage: Mapping[str, str],
    before: Sequence[_Image],
    now: Sequence[_Image],
    label: str,
    notes: list[str],
) -> tuple[tuple[FindingChange, ...], tuple[FindingChange, ...]]:
    """New failing findings (not failing before on the same image lineage) and resolved ones."""
    names_before = {image.key: image.name for image in before}
    names_now = {image.key: image.name for image in now}
    old = _failing(previous, names_before, label, notes)
    fresh = _failing(current, names_now, "the current report", notes)
    old_ids = {(f.image, f.rule, f.detail) for f in old}
    fresh_ids = {(lineage.get(f.image, f.image), f.rule, f.detail) for f in fresh}
    running_lineages = {lineage.get(image.key, image.key) for image in now}
    new = tuple(
        f for f in fresh if (lineage.get(f.image, f.image), f.rule, f.detail) not in old_ids
    )
    resolved = tuple(
        FindingChange(
            image=f.image,
            image_name=f.image_name,
            rule=f.rule,
            detail=f.detail,
            message=f.message,
            advice=f.advice,
            category=f.category,
            severity=f.severity,
            savings_bytes=f.savings_bytes,
            workloads=f.workloads,
            image_gone=f.image not in running_lineages,
        )
        for f in old
        if (f.image, f.rule, f.detail) not in fresh_ids
    )
    return new, resolved


def _failing(
    document: Mapping[str, Any], names: Mapping[str, str], label: str, notes: list[str]
) -> list[FindingChange]:
    """Failing findings, one per (image, rule, detail): the first, which has the most weight."""
    items = document.get("findings")
    found: dict[tuple[str, str, str], FindingChange] = {}
    skipped = 0
    for item in items if is_array(items) else ():
        if not is_object(item):
            skipped += 1
            continue
        image, rule = item.get("image"), item.get("rule")
        if not isinstance(image, str) or not isinstance(rule, str) or not image or not rule:
            skipped += 1
            continue
        if item.get("status") != "fail":
            continue
        detail = text_or_empty(item.get("detail"))
        category, severity = item.get("category"), item.get("severity")
        found.setdefault(
            (image, rule, detail),
            FindingChange(
                image=image,
                image_name=names.get(image) or image_name((), (), image),
                rule=rule,
                detail=detail,
                message=text_or_empty(item.get("message")),
                advice=text_or_empty(item.get("advice")),
                category=category if isinstance(category, str) else None,
                severity=severity if isinstance(severity, str) else None,
                savings_bytes=_count(item.get("savingsBytes")),
                workloads=_texts(item.get("workloads")),
            ),
        )
    if skipped:
        notes.append(f"{skipped} finding entries of {label} could not be read and were left out")
    return list(found.values())


def _summary(previous: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, SummaryDelta]:
    then = previous.get("summary")
    now = current.get("summary")
    if not is_object(now):
        return {}
    deltas: dict[str, SummaryDelta] = {}
    for key in SUMMARY_KEYS:
        value = _count(now.get(key))
        if value is None:
            continue
        before = _count(then.get(key)) if is_object(then) else None
        deltas[key] = SummaryDelta(previous=before, current=value)
    return deltas
