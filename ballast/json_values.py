"""Readers for untrusted, already-decoded JSON values: AdmissionReviews, pod lists, reports.

Shared by the webhook's request parsing and the auditor's pod-list and report
readers (any value may have any JSON type; nothing here raises). Owns the
small things every such reader needs:
the :data:`MISSING` sentinel (a key that is absent is not the same as a key
that is ``null``), :func:`describe` (what a value is, in words, for error
messages) and :func:`as_text` (a ``str`` that can always be encoded as UTF-8).

It is pure and must not import Flask, the Kubernetes client or anything that
does I/O.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, TypeGuard

__all__ = [
    "MISSING",
    "Missing",
    "as_text",
    "describe",
    "is_array",
    "is_object",
    "shorten",
    "text_or_empty",
]


class Missing(enum.Enum):
    """Type of :data:`MISSING`.

    ``mapping.get(key, MISSING)`` tells "the key is absent" apart from "the key
    is null", which the messages need: "request.uid is missing" and
    "request.uid is null" point at different mistakes.
    """

    MISSING = "missing"


MISSING: Final = Missing.MISSING

# Python's json module turns "\ud800" into a lone surrogate, which cannot be
# encoded as UTF-8: a log line, a response or an httpx URL holding one raises
# UnicodeEncodeError far away from here. Go's encoding/json (the API server)
# replaces lone surrogates with U+FFFD; as_text() does the same.
_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")


def is_object(value: object) -> TypeGuard[Mapping[str, Any]]:
    """True for a decoded JSON object (any Mapping; assumes string keys, as JSON has).

    The exact types json produces are checked first: ``isinstance(x, Mapping)``
    goes through the ABC machinery, and a review asks this dozens of times.
    """
    kind = type(value)
    return kind is MappingProxyType or kind is dict or isinstance(value, Mapping)


def is_array(value: object) -> TypeGuard[Sequence[Any]]:
    """True for a decoded JSON array (a list, or a tuple from a caller)."""
    kind = type(value)
    return kind is list or kind is tuple


def as_text(value: str) -> str:
    """Return ``value`` with lone surrogates replaced by U+FFFD, as Go does.

    The result can always be encoded as UTF-8. ASCII input is returned as is
    (the common case costs one ``isascii()`` call).
    """
    if value.isascii():
        return value
    return _SURROGATE_RE.sub("\ufffd", value)


def shorten(value: str, *, limit: int = 80) -> str:
    """Quote ``value`` for a message, cut to about ``limit`` characters.

    Messages echo what the client sent ("apiVersion 'foo' is not ..."); this
    keeps a 3 MiB string from turning into a 3 MiB message.
    """
    text = as_text(value)
    if len(text) > limit:
        text = text[: max(limit - 3, 1)] + "..."
    return repr(text)


def text_or_empty(value: object) -> str:
    """The string, or ``""`` for anything that is not a string."""
    return value if isinstance(value, str) else ""


def describe(value: object, *, quote_strings: bool = False) -> str:
    """Name the JSON type of ``value`` for a message: "null", "a string", ...

    ``quote_strings`` shows a (shortened) string's value, for notes about
    files a person wrote; request errors name only the type.
    """
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        if value == "":
            return "an empty string"
        return f"the string {shorten(value, limit=40)}" if quote_strings else "a string"
    if is_object(value):
        return "an object"
    if is_array(value):
        return "an array"
    return f"a {type(value).__name__}"
