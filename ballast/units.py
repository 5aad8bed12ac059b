"""Human units for byte counts (decimal, as docker and dive print them)."""

from __future__ import annotations

_UNITS = ("B", "kB", "MB", "GB", "TB")


def format_bytes(size: int | float) -> str:
    """``1234567`` → ``1.2 MB``; negative sizes keep their sign."""
    value = float(abs(size))
    for unit in _UNITS:
        if value < 1000 or unit == _UNITS[-1]:
            text = f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
            return ("-" if size < 0 else "") + text
        value /= 1000
    raise AssertionError("unreachable")
