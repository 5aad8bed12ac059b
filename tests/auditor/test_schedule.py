"""Audit schedules: intervals and cron expressions, and clear errors for bad ones."""

from __future__ import annotations

import datetime as dt

import pytest

from auditor.schedule import Schedule
from ballast import ConfigError

AT = dt.datetime(2026, 11, 27, 16, 59, 30, tzinfo=dt.UTC)  # a Friday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("300", AT + dt.timedelta(seconds=300)),
        ("90s", AT + dt.timedelta(seconds=90)),
        ("5m", AT + dt.timedelta(minutes=5)),
        ("1h", AT + dt.timedelta(hours=1)),
        ("*/15 * * * *", dt.datetime(2026, 11, 27, 17, 0, tzinfo=dt.UTC)),
        ("0 3 * * 1-5", dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)),
        ("30 2 1 * *", dt.datetime(2026, 12, 1, 2, 30, tzinfo=dt.UTC)),
        ("0 0 * * 7", dt.datetime(2026, 11, 29, 0, 0, tzinfo=dt.UTC)),
        ("0 0 * * 0", dt.datetime(2026, 11, 29, 0, 0, tzinfo=dt.UTC)),
        ("0 12 13 * 5", dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)),  # day OR weekday
        ("0,30 9-10 * * *", dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)),
    ],
)
def test_next_run(text: str, expected: dt.datetime) -> None:
    assert Schedule.parse(text).next_after(AT) == expected


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("0.5s", "too short"),
        ("* * *", "five fields"),
        ("61 * * * *", "within 0-59"),
        ("a * * * *", "not valid"),
        ("*/0 * * * *", "within"),
        ("0 0 31 2 *", "never fires"),
    ],
)
def test_bad_schedules_say_what_is_wrong(text: str, phrase: str) -> None:
    with pytest.raises(ConfigError, match=phrase):
        Schedule.parse(text).next_after(AT)
