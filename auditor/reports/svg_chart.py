"""Inline SVG bar charts for the HTML report: :func:`bar_chart`.

Owns drawing a horizontal bar chart as SVG markup to embed in HTML (no
external assets, no script): one row per bar with its label on the left, the
bar, and the value as text on the right, so the chart reads without colour and
in print. Labels are untrusted (image names) and escaped; a long label is cut
with the whole text in a ``<title>`` tooltip. Colours are CSS classes, styled
by the page. Pure; must not import Flask, the Kubernetes client or
:mod:`webhook`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_LABEL_CHARS", "DEFAULT_WIDTH_PX", "Bar", "bar_chart"]

_ROW_PX: Final = 24
_BAR_PX: Final = 16
_VALUE_PX: Final = 100
_CHAR_PX: Final = 7.0
"""About the width of one character of the 12px label font, to size the label column."""
DEFAULT_WIDTH_PX: Final = 520
DEFAULT_LABEL_CHARS: Final = 28


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label, its value (bytes, a count …), the value as text, a CSS class."""

    label: str
    value: float
    text: str
    css_class: str = "bar"
    tooltip: str = ""
    """Shown on hover; the label when empty."""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _cut_head(text: str, limit: int) -> str:
    """Keep the end, which names the thing (``…/team/api:1.4``, not ``registry.exam…``)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else "…" + text[len(text) - limit + 1 :]


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    empty_text: str = "Nothing to show",
    width_px: int = DEFAULT_WIDTH_PX,
    label_chars: int = DEFAULT_LABEL_CHARS,
) -> str:
    """An ``<svg>`` element ``width_px`` wide (it shrinks with its container, never grows,
    so text keeps its size): one row per bar, scaled to the largest value.

    ``title`` names the chart for screen readers (``role="img"``, ``<title>``).
    Labels longer than ``label_chars`` keep their end. With no bars, or only zero
    values, the chart says ``empty_text`` instead.
    """
    peak = max((bar.value for bar in bars), default=0.0)
    if not bars or peak <= 0:
        height = _ROW_PX * 2
        return (
            f'<svg class="chart" role="img" width="{width_px}" height="{height}" '
            f'viewBox="0 0 {width_px} {height}" aria-label="{_esc(title)}">'
            f"<title>{_esc(title)}</title>"
            f'<text class="empty" x="{width_px // 2}" y="{_ROW_PX}" text-anchor="middle">'
            f"{_esc(empty_text)}</text></svg>"
        )
    labels = [_cut_head(bar.label, label_chars) for bar in bars]
    label_px = round(max(map(len, labels)) * _CHAR_PX) + 16
    height = _ROW_PX * len(bars) + 8
    span = max(width_px - label_px - _VALUE_PX, 40)
    parts = [
        f'<svg class="chart" role="img" width="{width_px}" height="{height}" '
        f'viewBox="0 0 {width_px} {height}" aria-label="{_esc(title)}">'
        f"<title>{_esc(title)}</title>"
    ]
    for row, (bar, label) in enumerate(zip(bars, labels, strict=True)):
        top = row * _ROW_PX + 4
        middle = top + _BAR_PX / 2
        width = max(bar.value / peak * span, 1.0 if bar.value > 0 else 0.0)
        tooltip = bar.tooltip or bar.label
        parts.append(
            f"<g><title>{_esc(tooltip)}: {_esc(bar.text)}</title>"
            f'<text class="label" x="{label_px - 8}" y="{middle:.1f}" text-anchor="end" '
            f'dominant-baseline="middle">{_esc(label)}</text>'
            f'<rect class="{_esc(bar.css_class)}" x="{label_px}" y="{top}" '
            f'width="{width:.1f}" height="{_BAR_PX}" rx="3"></rect>'
            f'<text class="value" x="{label_px + width + 6:.1f}" y="{middle:.1f}" '
            f'dominant-baseline="middle">{_esc(bar.text)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
