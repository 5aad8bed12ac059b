"""The judgement of images: :class:`ImageVerdict` per image, :class:`Decision` for a set.

Owns the two result records and :func:`decide`. A verdict keeps every
finding (passes and skips too, so reports can show what was checked), the
exceptions honoured and ignored with their reasons (so the webhook can put
them in audit annotations, the auditor in metrics and reports), and why an
image was not judged at all (scope exemption, or facts missing in time and
the failure mode applied). Imports the finding and exception models. Pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from ballast.policy.exception import IgnoredException
from ballast.policy.finding import Finding, Quantity
from ballast.policy.outcome import Action, Status, Verdict


@dataclass(frozen=True, slots=True)
class HonouredException:
    """A valid exception that applies to the image, and what it changed."""

    index: int
    """Position in the annotation's list."""
    rules: tuple[str, ...]
    justification: str
    expires: dt.date | None
    limit: Quantity | None
    """The raised limit, or ``None`` for a waiver."""
    images: tuple[str, ...]
    applied_to: tuple[str, ...]
    """Rules whose outcome it changed (a failure waived or passed under the raised limit)."""
    days_left: int | None
    """Days until it expires (0 on its last day); ``None`` when it never does."""


@dataclass(frozen=True, slots=True)
class ImageVerdict:
    """The judgement of one image for one workload."""

    image: str
    """The reference as the workload names it."""
    verdict: Verdict
    findings: tuple[Finding, ...] = ()
    """Every rule's result, in policy order (passes and skips included)."""
    digest: str = ""
    """Digest of the manifest that was judged (empty when facts were missing)."""
    exceptions: tuple[HonouredException, ...] = ()
    ignored_exceptions: tuple[IgnoredException, ...] = ()
    exempt: str | None = None
    """Why the policy did not judge this image (scope), or ``None``."""
    failure: str | None = None
    """Why the facts were missing, when the failure mode decided the verdict."""
    layers_read: bool = False
    """True when layer facts were available (rules needing them were evaluated)."""
    policy: str = ""
    """Name of the policy that judged it."""

    @property
    def failures(self) -> tuple[Finding, ...]:
        """Findings that count against the image (status ``fail``), any action."""
        return tuple(f for f in self.findings if f.status is Status.FAIL)

    def failures_with(self, action: Action) -> tuple[Finding, ...]:
        """Failing findings whose action is ``action``."""
        return tuple(f for f in self.failures if f.action is action)

    @property
    def waived(self) -> tuple[Finding, ...]:
        """Findings an honoured exception waived (status ``warn``)."""
        return tuple(f for f in self.findings if f.status is Status.WARN)

    @property
    def errors(self) -> tuple[Finding, ...]:
        """Rules that could not be evaluated."""
        return tuple(f for f in self.findings if f.status is Status.ERROR)


@dataclass(frozen=True, slots=True)
class Decision:
    """The judgement of a set of images (one workload, or one ``ballast check`` run)."""

    verdict: Verdict
    """The worst verdict of its images (``allow`` for none)."""
    images: tuple[ImageVerdict, ...]
    workload: str = ""
    """Who asked (``Deployment team-a/api``), for messages; empty for a CI check."""

    @property
    def denied(self) -> tuple[ImageVerdict, ...]:
        return tuple(v for v in self.images if v.verdict is Verdict.DENY)

    @property
    def warned(self) -> tuple[ImageVerdict, ...]:
        return tuple(v for v in self.images if v.verdict is Verdict.WARN)


def combine_findings(findings: Iterable[Finding]) -> Verdict:
    """Deny if any failure is enforced, warn if any is warned, else allow."""
    verdict = Verdict.ALLOW
    for finding in findings:
        if finding.status is Status.FAIL and finding.action.verdict.rank > verdict.rank:
            verdict = finding.action.verdict
    return verdict


def decide(verdicts: Iterable[ImageVerdict], *, workload: str = "") -> Decision:
    """Combine image verdicts: the decision is the worst of them.

    The same image listed twice (in containers and initContainers) is judged
    once by the caller; here duplicates are kept as given.
    """
    images = tuple(verdicts)
    worst = max((v.verdict for v in images), key=lambda v: v.rank, default=Verdict.ALLOW)
    return Decision(verdict=worst, images=images, workload=workload)
