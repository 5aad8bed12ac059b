"""The closed vocabularies of a judgement: :class:`Verdict`, :class:`Action`, :class:`Status`.

Owns the three enums every other policy module speaks. ``Status`` says what a
rule found, ``Action`` says what the policy wants done when it fails, and
``Verdict`` is what the front end does with the image. Imports nothing from
ballast. Pure.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """What a front end does with an image or a workload (admission outcome)."""

    ALLOW = "allow"
    """Admit it; nothing failed, or every failure is audit-only or waived."""
    WARN = "warn"
    """Admit it and tell the user (AdmissionReview ``warnings``, ``ballast check`` notes)."""
    DENY = "deny"
    """Refuse it (admission denied; ``ballast check`` exits 1)."""

    @property
    def rank(self) -> int:
        """Order of severity, so that a workload's verdict is its images' worst."""
        return _VERDICT_RANK[self]


_VERDICT_RANK = {Verdict.ALLOW: 0, Verdict.WARN: 1, Verdict.DENY: 2}


class Action(StrEnum):
    """What the policy wants done when a rule fails (the policy's ``mode``)."""

    ENFORCE = "enforce"
    """A failure denies the image."""
    WARN = "warn"
    """A failure admits the image with a warning."""
    AUDIT = "audit"
    """A failure admits the image silently; it is recorded (metrics, reports) only."""

    @property
    def verdict(self) -> Verdict:
        """The verdict one failing rule with this action asks for."""
        return _ACTION_VERDICT[self]


_ACTION_VERDICT = {
    Action.ENFORCE: Verdict.DENY,
    Action.WARN: Verdict.WARN,
    Action.AUDIT: Verdict.ALLOW,
}


class Status(StrEnum):
    """What evaluating one rule on one image found (as kyverno's rule statuses)."""

    PASS = "pass"
    """Within the limit, or nothing of the category found."""
    FAIL = "fail"
    """Breaks the limit, or something of the category found; the action decides what happens."""
    WARN = "warn"
    """Would fail, but an honoured exception waives it: reported, never counted."""
    ERROR = "error"
    """Could not be evaluated (facts missing in time, a value that makes no sense)."""
    SKIP = "skip"
    """Not evaluated: needs layer facts that are not cached yet, or out of the rule's scope."""
