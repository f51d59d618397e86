"""Minute buckets, their fold into hours, and what is dropped."""

from __future__ import annotations

import pytest

from streams.guarantees.summary import Failure
from streams.guarantees.window import HOUR_MS, Span, Window

MINUTE = 60_000


def window() -> Window:
    return Window(window_ms=5 * MINUTE, bucket_ms=MINUTE, hours=3)


@pytest.mark.parametrize(
    ("window_ms", "bucket_ms", "hours", "message"),
    [
        (5 * MINUTE, 7 * MINUTE, 24, "must divide an hour"),
        (90_000, MINUTE, 24, "positive multiple of bucket_ms"),
        (5 * MINUTE, MINUTE, 0, "at least one closed hour"),
        (3 * HOUR_MS, MINUTE, 2, "at least one closed hour and the window"),
    ],
)
def test_sizes_that_do_not_fit_are_refused(
    window_ms: int, bucket_ms: int, hours: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Window(window_ms=window_ms, bucket_ms=bucket_ms, hours=hours)


def test_a_minute_leaving_the_window_is_folded_into_its_hour_once() -> None:
    live = window()
    span = live.span_for(10)
    span.events = 3
    span.newest[0] = 42
    assert live.id_sets == (span.ids,)
    live.advance(16)  # the window is minutes 11..15
    assert live.minutes == {}
    assert live.id_sets == ()
    assert live.hours[0].events == 3
    assert live.hours[0].ids is None
    live.advance(17)
    assert live.hours[0].events == 3
    assert live.span_for(10) is live.hours[0]  # a backlog record counts in its hour


def test_hours_older_than_those_kept_leave_only_their_newest_event_times() -> None:
    live = window()
    live.span_for(0).newest[1] = 7
    live.advance(6 * 60)  # hour 6 starts: hours 3..5 are the three kept
    assert live.hours == {}
    assert live.old.newest == {1: 7}
    assert live.span_for(0) is live.old  # too old to be kept
    assert [hour.start_ms // HOUR_MS for hour in live.closed_hours()] == [3, 4, 5]
    assert all(hour.newest_by_partition == {1: 7} for hour in live.closed_hours())
    live.advance(5)  # never backwards
    assert live.end == 6 * 60


def test_merging_spans_keeps_the_first_five_failures_and_the_newest_times() -> None:
    first, second = Span(ids=True), Span(ids=False)
    failure = Failure(partition=0, offset=1, field="f", rule="not_null", value="None")
    first.failures = [failure] * 3
    second.failures = [failure] * 4
    first.newest, second.newest = {0: 5, 1: 9}, {0: 6, 2: 1}
    second.schema_ids = {2}
    first.merge(second)
    assert len(first.failures) == 5
    assert first.newest == {0: 6, 1: 9, 2: 1}
    assert first.schema_ids == {2}


def test_a_span_round_trips_through_json() -> None:
    span = Span(ids=True)
    span.events, span.duplicates = 4, 1
    assert span.ids is not None
    span.ids |= {0, 2**64 - 1, 12345}
    span.latency.add(250)
    span.failures = [Failure(partition=0, offset=1, field="f", rule="range", value="-1")]
    again = Span.from_json(span.to_json())
    assert again.to_json() == span.to_json()
    assert again.ids == span.ids
