"""``since`` / ``until``: durations, ISO times, defaults per kind of product."""

from __future__ import annotations

import datetime

import pytest

from streams.errors import ConfigError
from streams.query._window import Window, parse_time, window

NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)


def ms(value: datetime.datetime) -> int:
    return int(value.timestamp() * 1000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", NOW - datetime.timedelta(hours=1)),
        ("30m", NOW - datetime.timedelta(minutes=30)),
        ("7d", NOW - datetime.timedelta(days=7)),
        ("2026-11-30T10:00", datetime.datetime(2026, 11, 30, 10, tzinfo=datetime.UTC)),
        ("2026-11-29", datetime.datetime(2026, 11, 29, tzinfo=datetime.UTC)),
        (
            "2026-11-30T10:00+01:00",
            datetime.datetime(2026, 11, 30, 9, tzinfo=datetime.UTC),
        ),
        (
            datetime.datetime(2026, 11, 30, 8),
            datetime.datetime(2026, 11, 30, 8, tzinfo=datetime.UTC),
        ),
    ],
)
def test_times_are_durations_back_from_now_or_iso_utc(text: object, expected: datetime.datetime):
    assert parse_time(text, now=NOW, option="since") == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["yesterday", "1 hour", "-1h", "0h", ""])
def test_a_time_that_cannot_be_read_names_itself_and_shows_how(text: str) -> None:
    with pytest.raises(ConfigError, match=rf"since={text!r} is neither .* '1h'.*2026-11-30T10:00"):
        parse_time(text, now=NOW, option="since")


def test_events_read_the_last_day_by_default_and_snapshots_everything() -> None:
    assert window(None, None, snapshot=False, now=NOW) == Window(
        ms(NOW - datetime.timedelta(hours=24)), ms(NOW)
    )
    assert window(None, None, snapshot=True, now=NOW) == Window(None, ms(NOW))
    assert window("all", None, snapshot=False, now=NOW) == Window(None, ms(NOW))
    assert window("2h", "1h", snapshot=True, now=NOW) == Window(
        ms(NOW - datetime.timedelta(hours=2)), ms(NOW - datetime.timedelta(hours=1))
    )


def test_a_window_holds_its_start_but_not_its_end() -> None:
    found = window("1h", None, snapshot=False, now=NOW)
    start = ms(NOW - datetime.timedelta(hours=1))
    assert start in found
    assert start - 1 not in found
    assert ms(NOW) - 1 in found
    assert ms(NOW) not in found
    assert found.describe() == "from 2026-11-30 11:00:00 UTC until 2026-11-30 12:00:00 UTC"


def test_since_after_until_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"since .* is not before until .*1h earlier"):
        window("1h", "2h", snapshot=False, now=NOW)
