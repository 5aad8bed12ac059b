"""Exceptions granted on a workload: the ``ballast.dev/exception`` annotation.

Owns :class:`PolicyException`, :class:`IgnoredException` and
:func:`parse_exceptions`. The annotation's value is YAML or JSON, one object
or a list of them::

    ballast.dev/exception: |
      - rules: [maxCompressedSize]
        limit: 1.2GB
        justification: model weights are baked in until PLAT-142 lands
        expires: 2026-12-31
        images: ghcr.io/acme/model-server:*

``rules`` (or ``rule``) and ``justification`` are required; ``limit``
(exactly one rule with a limit) raises that rule's limit instead of waiving
it; ``expires`` is the last day the exception is valid; ``images`` (or
``image``: one glob or a list) narrows it to some images of the workload.
Anything wrong (expired, unjustified, unknown rule, unknown field,
unparsable) makes that one exception ignored with the reason, never an
error: a typo must not break a deployment, and the warning tells whoever
wrote it. Imports the rule catalogue and the size parser. Pure.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import yaml

from ballast.policy.finding import Quantity, Unit
from ballast.policy.rules import RULE_ALIASES, RULE_SPECS, rule_spec
from ballast.policy.size import parse_size

EXCEPTION_ANNOTATION: Final = "ballast.dev/exception"
"""The workload annotation that carries exceptions."""
MAX_ANNOTATION_CHARS: Final = 16 * 1024
"""A longer value is ignored unread (Kubernetes allows 256 KiB of annotations in all)."""
MAX_EXCEPTIONS: Final = 50
"""Exceptions read from one annotation; the rest are ignored."""
_FIELDS: Final = frozenset(
    {"rule", "rules", "justification", "limit", "expires", "image", "images"}
)


@dataclass(frozen=True, slots=True)
class PolicyException:
    """One valid exception (its expiry already checked against today)."""

    index: int
    """Position in the annotation's list (0 for a single object), for messages."""
    rules: tuple[str, ...]
    """Rule ids it covers (aliases resolved: ``heavyBase`` → ``heavy-base``)."""
    justification: str
    limit: Quantity | None = None
    """The raised limit of its only rule; ``None`` waives the rules entirely."""
    expires: dt.date | None = None
    """Last valid day; ``None`` never expires."""
    images: tuple[str, ...] = ()
    """Image globs it is limited to; empty: every image of the workload."""

    def days_left(self, today: dt.date) -> int | None:
        """Days until it expires (0 on its last day), or ``None`` when it never does."""
        return None if self.expires is None else (self.expires - today).days


@dataclass(frozen=True, slots=True)
class IgnoredException:
    """An exception that was not honoured, and why."""

    index: int | None
    """Position in the annotation's list; ``None`` when the whole value was unreadable."""
    reason: str
    """Why it was ignored, for a warning (``expired on 2025-01-31``)."""
    rules: tuple[str, ...] = ()
    """What it named, when that could be read."""


def parse_exceptions(
    annotations: Mapping[str, str], *, today: dt.date
) -> tuple[tuple[PolicyException, ...], tuple[IgnoredException, ...]]:
    """Read the exceptions of a workload: (valid ones, ignored ones with reasons).

    Never raises on the annotation's content, whatever it is.
    """
    raw = annotations.get(EXCEPTION_ANNOTATION)
    if raw is None:
        return (), ()
    if not isinstance(raw, str):
        return (), (IgnoredException(None, "the annotation value is not a string"),)
    if len(raw) > MAX_ANNOTATION_CHARS:
        return (), (
            IgnoredException(
                None,
                f"the annotation is {len(raw)} characters; the limit is {MAX_ANNOTATION_CHARS}",
            ),
        )
    if not raw.strip():
        return (), (IgnoredException(None, "the annotation is empty"),)
    document, problem = _read_document(raw)
    if problem:
        return (), (IgnoredException(None, problem),)
    items: Sequence[object]
    if isinstance(document, Mapping):
        items = [document]
    elif isinstance(document, list):
        items = document
    else:
        return (), (
            IgnoredException(
                None, "expected an object or a list of objects with rules and a justification"
            ),
        )
    valid: list[PolicyException] = []
    ignored: list[IgnoredException] = []
    for index, item in enumerate(items):
        if index >= MAX_EXCEPTIONS:
            ignored.append(
                IgnoredException(index, f"only the first {MAX_EXCEPTIONS} exceptions are read")
            )
            break
        result = _parse_one(index, item, today=today)
        if isinstance(result, PolicyException):
            valid.append(result)
        else:
            ignored.append(result)
    return tuple(valid), tuple(ignored)


@functools.lru_cache(maxsize=1024)
def _read_document(raw: str) -> tuple[Any, str]:
    """(parsed value, "") or (None, why it does not parse). Remembered: the same annotation
    comes with every pod of a Deployment, and YAML parsing is slow. Callers must not mutate."""
    try:
        return json.loads(raw), ""  # most annotations are JSON; json is 50× faster than YAML
    except (ValueError, RecursionError):
        pass
    try:
        return yaml.safe_load(raw), ""
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        return None, f"not valid YAML or JSON{where}: {problem}"
    except (ValueError, RecursionError) as exc:  # e.g. a date that does not exist
        return None, f"not valid YAML or JSON: {exc}"


def _names(value: object) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return (value.strip(),) if value.strip() else ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    return None


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _limit(unit: Unit, value: object) -> Quantity:
    """Convert a raised limit to the rule's unit; ValueError says what is wrong."""
    if unit.is_bytes:
        return Quantity(parse_size(value), unit)
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "a whole number" if unit is Unit.COUNT else "a number"
        raise ValueError(f"limit {value!r} is not {kind}")
    if unit is Unit.COUNT and (not isinstance(value, int) or value < 0):
        raise ValueError(f"limit {value!r} is not a whole number of layers")
    if value < 0 or value != value:  # negative or NaN
        raise ValueError(f"limit {value!r} must be 0 or more")
    return Quantity(value, unit)


def _parse_one(index: int, item: object, *, today: dt.date) -> PolicyException | IgnoredException:
    number = f"exception #{index + 1}"
    if not isinstance(item, Mapping):
        return IgnoredException(index, f"{number} is not an object with rules and a justification")
    fields: Mapping[Any, Any] = item
    named = _names(fields.get("rules", fields.get("rule")))
    shown = named or ()
    unknown = sorted(str(k) for k in fields if k not in _FIELDS)
    if unknown:
        return IgnoredException(
            index, f"{number} has unknown field(s): {', '.join(unknown)}", shown
        )
    if "rule" in fields and "rules" in fields:
        return IgnoredException(index, f"{number} gives both rule and rules; use rules", shown)
    if not named:
        return IgnoredException(index, f"{number} names no rule (rules: [maxCompressedSize])")
    unknown_rules = [name for name in named if rule_spec(name) is None]
    if unknown_rules:
        known = ", ".join(sorted(RULE_SPECS))
        return IgnoredException(
            index,
            f"{number} names unknown rule(s) {', '.join(unknown_rules)}; known: {known}",
            shown,
        )
    rules = tuple(dict.fromkeys(RULE_ALIASES.get(name, name) for name in named))
    justification = fields.get("justification")
    if not isinstance(justification, str) or not justification.strip():
        return IgnoredException(
            index, f"{number} has no justification; say why it is needed", rules
        )
    expires: dt.date | None = None
    if fields.get("expires") is not None:
        expires = _date(fields["expires"])
        if expires is None:
            return IgnoredException(
                index, f"{number} expiry {fields['expires']!r} is not a date (YYYY-MM-DD)", rules
            )
        if expires < today:
            return IgnoredException(index, f"{number} expired on {expires.isoformat()}", rules)
    raw_images = fields.get("images", fields.get("image"))
    images = () if raw_images is None else _names(raw_images)
    if images is None:
        return IgnoredException(index, f"{number} images must be a glob or a list of globs", rules)
    limit: Quantity | None = None
    if fields.get("limit") is not None:
        if len(rules) != 1:
            return IgnoredException(index, f"{number} gives a limit for more than one rule", rules)
        spec = RULE_SPECS[rules[0]]
        if spec.unit is None:
            return IgnoredException(
                index, f"{number} gives a limit, but {rules[0]} has none; drop the limit", rules
            )
        try:
            limit = _limit(spec.unit, fields["limit"])
        except ValueError as exc:
            return IgnoredException(index, f"{number} {exc}", rules)
    return PolicyException(
        index=index,
        rules=rules,
        justification=" ".join(justification.split()),
        limit=limit,
        expires=expires,
        images=images,
    )
