"""Shared pieces for the report tests (no tests here).

- Hand-made clusters: pods from :mod:`tests.auditor.podlists` audited by the real
  :func:`auditor.scan.audit_pods` against :class:`TableResolver`, an in-memory
  resolver answering from a table (facts or an exception per image), for edge cases
  a registry cannot produce on demand (hostile names, exact sizes in the hundreds of MB).
- Checks the formats share: HTML scanned for script and external URLs, Markdown tables
  whose rows all have the header's number of cells, a minimal PNG decoder (no Pillow
  here) to count the colours of a screenshot.
- Headless Chromium: the DOM it built, the console messages it logged, a screenshot.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from auditor.model import AuditSnapshot
from auditor.pods import parse_pod_list
from auditor.scan import audit_pods, no_layer_report
from ballast.facts import HistoryEntry, ImageFacts, LayerInfo, Platform, ResolvedImage
from ballast.policy import LayerReportView, Policy, load_policy
from tests.auditor.conftest import NOW, TODAY
from tests.auditor.podlists import fake_digest, pod_list

MB = 1_000_000
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

REPORT_POLICY = load_policy(
    """
    apiVersion: ballast.dev/v1
    kind: Policy
    metadata: {name: platform-default}
    spec:
      mode: warn
      rules:
        maxCompressedSize: {limit: 400MB}
        maxLayerCount: {limit: 12, action: enforce}
        maxHiddenBytes: {limit: 20MB}
        findings: {build-tools: warn, package-cache: warn, secrets: enforce}
    """,
    source="platform-default.yaml",
)
APT_RUN = "RUN /bin/sh -c apt-get update && apt-get install -y build-essential # buildkit"


# -- hand-made clusters --------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeImage:
    """An image in :class:`TableResolver`: compressed layer sizes and their instructions."""

    layers: tuple[int, ...]
    history: tuple[str, ...] = ()
    digest: str = ""
    """Defaults to a digest derived from the tag reference."""


@dataclass
class TableResolver:
    """Answers ``resolve_many`` from a table keyed by tag reference (``registry/repo:tag``);
    a digest reference finds the image with that digest. Unknown references are NotFound."""

    images: Mapping[str, FakeImage | Exception]
    asked: list[str] = field(default_factory=list)

    def digest_of(self, tag_ref: str) -> str:
        image = self.images[tag_ref]
        assert isinstance(image, FakeImage)
        return image.digest or fake_digest(tag_ref)

    def resolve_many(
        self,
        references: Sequence[str],
        *,
        platforms: Sequence[str] | None = None,
        max_workers: int = 16,
    ) -> list[ResolvedImage | Exception]:
        from ballast._errors import NotFound

        by_digest = {
            self.digest_of(ref): ref
            for ref, img in self.images.items()
            if isinstance(img, FakeImage)
        }
        results: list[ResolvedImage | Exception] = []
        for reference in references:
            self.asked.append(reference)
            name, at, digest = reference.partition("@")
            tag_ref = by_digest.get(digest, "") if at else reference
            entry = self.images.get(tag_ref) or self.images.get(name)
            if entry is None:
                results.append(NotFound(f"{reference}: manifest unknown", image=reference))
            elif isinstance(entry, Exception):
                results.append(entry)
            else:
                results.append(_resolved(reference, self.digest_of(tag_ref), entry))
        return results


def _resolved(reference: str, digest: str, image: FakeImage) -> ResolvedImage:
    history = image.history or tuple(f"ADD layer-{n}.tar / # buildkit" for n in image.layers)
    layers = tuple(
        LayerInfo(
            digest=fake_digest(f"{digest} layer {n}"),
            media_type=OCI_LAYER,
            compressed_bytes=size,
            created_by=created_by,
        )
        for n, (size, created_by) in enumerate(zip(image.layers, history, strict=True))
    )
    facts = ImageFacts(
        digest=digest,
        media_type=OCI_MANIFEST,
        platform=Platform("linux", "amd64"),
        config_digest=fake_digest(f"{digest} config"),
        config_bytes=1_000,
        layers=layers,
        history=tuple(HistoryEntry(created_by=h) for h in history),
        created="2026-05-01T10:00:00Z",
    )
    return ResolvedImage(
        reference=reference, digest=digest, media_type=OCI_MANIFEST, platforms=(facts,)
    )


def snapshot_of(
    pods: Sequence[dict[str, Any]],
    resolver: TableResolver,
    *,
    policy: Policy = REPORT_POLICY,
    today: Any = TODAY,
    now: Any = NOW,
    layer_report_for: Callable[[ImageFacts], LayerReportView | None] = no_layer_report,
) -> AuditSnapshot:
    """Audit hand-made pods with the real pass."""
    return audit_pods(
        parse_pod_list(pod_list(pods)),
        resolver,
        policy=policy,
        source="file pods.json",
        now=lambda: now,
        today=today,
        layer_report_for=layer_report_for,
    )


# -- format checks -------------------------------------------------------------------------------

_URL_ATTRIBUTES = {"src", "href", "xlink:href", "action", "formaction", "poster", "data", "srcset"}
_FETCHING_TAGS = {"script", "img", "link", "iframe", "object", "embed", "audio", "video", "source"}


class _HtmlScan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.ids: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"
        if tag in _FETCHING_TAGS:
            self.problems.append(f"<{tag}> element")
        for name, value in attrs:
            value = value or ""
            if name == "id":
                self.ids.append(value)
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name in _URL_ATTRIBUTES and not value.startswith("#"):
                self.problems.append(f"{name}={value!r} on <{tag}> is not an in-page link")
            if name == "style" and "url(" in value:
                self.problems.append(f"url() in a style attribute on <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and ("url(" in data or "@import" in data):
            self.problems.append("url() or @import in <style>")
        self.text.append(data)


@dataclass(frozen=True)
class HtmlScan:
    problems: list[str]
    """Script, event handlers, fetching elements, URLs that are not in-page links."""
    ids: list[str]
    tags: list[str]
    text: str
    mentions_url: bool
    """``http://`` or ``https://`` anywhere, text included (user input may hold one)."""


def scan_html(text: str) -> HtmlScan:
    """What in ``text`` could run or fetch something."""
    parser = _HtmlScan()
    parser.feed(text)
    parser.close()
    mentions_url = re.search(r"https?://", text, re.IGNORECASE) is not None
    return HtmlScan(parser.problems, parser.ids, parser.tags, " ".join(parser.text), mentions_url)


_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Each table as rows of cells (split on unescaped pipes), delimiter row included."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append([c.strip() for c in _UNESCAPED_PIPE.split(line)[1:-1]])
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def png_size_and_colours(data: bytes) -> tuple[int, int, int]:
    """``(width, height, distinct colours)`` of an 8-bit RGB/RGBA/grey PNG, not interlaced."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, idat = 8, b""
    width = height = colour_type = 0
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0, "only 8-bit, non-interlaced PNGs"
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    colours: set[bytes] = set()
    position = 0
    for _ in range(height):
        kind, line = raw[position], bytearray(raw[position + 1 : position + 1 + stride])
        position += 1 + stride
        _unfilter(kind, line, previous, channels)
        colours.update(bytes(line[i : i + channels]) for i in range(0, stride, channels * 7))
        previous = line
    return width, height, len(colours)


def _unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> None:
    """PNG filters (RFC 2083 section 6) undone in place."""
    if kind == 0:
        return
    if kind == 2:
        line[:] = bytes((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        return
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
        elif kind == 4:
            corner = previous[i - bpp] if i >= bpp else 0
            estimate = left + up - corner
            pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
            best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            line[i] = (line[i] + best) & 0xFF


# -- headless Chromium ---------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
_CONSOLE = re.compile(r":CONSOLE[:(]")


@dataclass(frozen=True)
class Rendered:
    dom: str
    console: list[str]
    """Console lines Chromium logged for the page (errors, CSP violations, logs)."""


def _chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *extra,
        page.resolve().as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


def render_in_chromium(page: Path, workdir: Path) -> Rendered:
    """The DOM Chromium built for ``page``, and the console lines it logged."""
    result = _chromium(
        page, workdir / "profile-dom", "--enable-logging=stderr", "--v=0", "--dump-dom"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if _CONSOLE.search(line)]
    return Rendered(result.stdout, console)


def screenshot_in_chromium(page: Path, png: Path, workdir: Path) -> bytes:
    """A 1200×900 screenshot of ``page`` as PNG bytes."""
    result = _chromium(
        page, workdir / "profile-shot", f"--screenshot={png}", "--window-size=1200,900"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return png.read_bytes()
