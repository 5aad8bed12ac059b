"""Reading untrusted, already-decoded JSON: type checks and short descriptions for notes.

Owns the few helpers the auditor's input parsers share (a pod list from a
file or from the API server is untrusted input: any value may have any JSON
type). Never raises for any value. Imports nothing from ballast; must not
import Flask, the Kubernetes client or :mod:`webhook`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeGuard

_SHORT_CHARS: Final = 80


def is_object(value: object) -> TypeGuard[Mapping[str, Any]]:
    """A JSON object (a dict once decoded)."""
    return isinstance(value, Mapping)


def is_array(value: object) -> TypeGuard[list[Any]]:
    """A JSON array."""
    return isinstance(value, list)


def text_or_empty(value: object) -> str:
    """The string, or ``""`` for anything that is not a string."""
    return value if isinstance(value, str) else ""


def shorten(value: str, *, limit: int = _SHORT_CHARS) -> str:
    """Quote ``value`` for a message, cut to about ``limit`` characters."""
    if len(value) > limit:
        value = value[: max(limit - 3, 1)] + "..."
    return repr(value)


def describe(value: object) -> str:
    """Name the JSON type of ``value`` for a message: ``null``, ``a string``, ``an array`` ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "an empty string" if not value else f"the string {shorten(value, limit=40)}"
    if is_object(value):
        return "an object"
    if is_array(value):
        return "an array"
    return f"a {type(value).__name__}"
