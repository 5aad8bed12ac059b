"""When the auditor runs: every N seconds, or on a cron schedule.

Cron is the five standard fields (minute hour day-of-month month day-of-week)
with ``*``, lists, ranges and steps, evaluated in UTC; when both day fields
are restricted either may match, as in Vixie cron. Written here rather than
pulled in as a dependency: it is 80 lines and the auditor needs nothing more.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ballast._errors import ConfigError

_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)?$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 6),
)
_MAX_SEARCH_MINUTES = 366 * 24 * 60 * 5


@dataclass(frozen=True, slots=True)
class Schedule:
    """An interval in seconds, or a parsed cron expression."""

    text: str
    interval_s: float | None = None
    cron: tuple[frozenset[int], ...] | None = None
    day_fields_restricted: tuple[bool, bool] = (False, False)

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """``300``, ``90s``, ``5m``, ``1h`` or ``*/15 * * * *``; ConfigError says what is wrong."""
        text = text.strip()
        match = _DURATION_RE.match(text)
        if match:
            seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
            if seconds < 1:
                raise ConfigError(f"audit interval {text!r} is too short; use at least 1s")
            return cls(text=text, interval_s=seconds)
        parts = text.split()
        if len(parts) != 5:
            raise ConfigError(
                f"schedule {text!r} is neither an interval (300s, 5m, 1h) nor a cron "
                "expression with five fields (minute hour day-of-month month day-of-week)"
            )
        fields = tuple(
            _parse_field(part, name, low, high, text)
            for part, (name, low, high) in zip(parts, _FIELDS, strict=True)
        )
        return cls(text=text, cron=fields, day_fields_restricted=(parts[2] != "*", parts[4] != "*"))

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        """The next run strictly after ``moment`` (an aware UTC datetime)."""
        if self.interval_s is not None:
            return moment + dt.timedelta(seconds=self.interval_s)
        assert self.cron is not None
        minutes, hours, days, months, weekdays = self.cron
        candidate = moment.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        for _ in range(_MAX_SEARCH_MINUTES):
            if (
                candidate.minute in minutes
                and candidate.hour in hours
                and candidate.month in months
                and self._day_matches(candidate, days, weekdays)
            ):
                return candidate
            candidate += dt.timedelta(minutes=1)
        raise ConfigError(f"schedule {self.text!r} never fires (check day and month)")

    def longest_gap_s(self) -> float:
        """The longest wait between two runs (over the coming two weeks, for cron).

        Staleness alerts fire after a few of these: a nightly schedule must not
        look stale at noon.
        """
        if self.interval_s is not None:
            return self.interval_s
        moment = dt.datetime.now(dt.UTC)
        longest = 0.0
        horizon = moment + dt.timedelta(days=14)
        while moment < horizon:
            following = self.next_after(moment)
            longest = max(longest, (following - moment).total_seconds())
            moment = following
        return longest

    def _day_matches(
        self, moment: dt.datetime, days: frozenset[int], weekdays: frozenset[int]
    ) -> bool:
        day_ok = moment.day in days
        weekday_ok = (moment.isoweekday() % 7) in weekdays
        restricted_day, restricted_weekday = self.day_fields_restricted
        if restricted_day and restricted_weekday:
            return day_ok or weekday_ok
        return day_ok and weekday_ok


def _parse_field(part: str, name: str, low: int, high: int, text: str) -> frozenset[int]:
    values: set[int] = set()
    for item in part.split(","):
        spec, _, step_text = item.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if spec == "*":
                start, end = low, high
            elif "-" in spec:
                first, last = spec.split("-", 1)
                start, end = int(first), int(last)
            else:
                start = int(spec)
                end = high if step_text else start
        except ValueError as exc:
            raise ConfigError(f"schedule {text!r}: {name} field {part!r} is not valid") from exc
        top = 7 if name == "day of week" else high  # 7 is Sunday too
        if step < 1 or not (low <= start <= top) or not (low <= end <= top) or start > end:
            raise ConfigError(
                f"schedule {text!r}: {name} field {part!r} must stay within {low}-{top}"
            )
        values.update(v % 7 if top == 7 else v for v in range(start, end + 1, step))
    return frozenset(values)
