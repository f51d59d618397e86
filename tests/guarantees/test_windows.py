"""An aggregate's completeness: the (key, window) pairs its inputs imply against those emitted
final, for the windows that are due; checked against a naive set computation."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.errors import StateError
from streams.guarantees.duplicates import id_hash
from streams.guarantees.summary import Missing
from streams.guarantees.windows import MAX_WINDOWS, WindowCompleteness

HOUR = 3_600_000
INPUT = "d.plays.v1"


def tracker(**overrides: Any) -> WindowCompleteness:
    options: dict[str, Any] = {
        "inputs": [INPUT],
        "key": "user_id",
        "event_time": "event_time",
        "size_ms": 1000,
        "lateness_ms": 0,
        "grace_ms": 0,
        "window_ms": 10 * HOUR,
    }
    return WindowCompleteness(**{**options, **overrides})


def play(user: str, at: int) -> dict[str, Any]:
    return {"user_id": user, "event_time": at, "ms_played": 1}


def final(user: str, start: int, *, done: bool = True) -> dict[str, Any]:
    return {"user_id": user, "window_start": start, "window_end": start + 1000, "final": done}


def feed(live: WindowCompleteness, events: list[tuple[str, int]], partition: int = 0) -> None:
    live.expect(
        INPUT, [(partition, n, at, play(user, at), 1) for n, (user, at) in enumerate(events)]
    )


def test_a_due_window_not_emitted_final_is_missing_and_named() -> None:
    live = tracker()
    feed(live, [("a", 100), ("b", 200), ("a", 1100), ("c", 5000)])
    live.emit([final("a", 0), final("a", 1000), final("b", 0, done=False)])
    found = live.summary(now_ms=10_000)
    assert (found.expected, found.emitted, found.windows) == (3, 2, 2)
    assert found.missing == (Missing(key="b", key_hash=id_hash("b"), window_start_ms=0),)
    assert found.window_starts == (1000, 0)
    live.emit([final("b", 0)])  # the final comes: nothing is missing any more
    found = live.summary(now_ms=10_001)
    assert (found.expected, found.emitted, found.missing) == (3, 3, ())


def test_a_window_is_due_once_the_input_passed_its_end_and_lateness_plus_the_grace() -> None:
    live = tracker(lateness_ms=500, grace_ms=30_000)
    feed(live, [("a", 100), ("a", 1499)])
    assert live.summary(now_ms=1).windows == 0  # 1499 < end 1000 + lateness 500
    feed(live, [("a", 1500)])
    assert live.summary(now_ms=2).windows == 0  # passed now, due after the 30 s grace
    assert live.summary(now_ms=30_001).windows == 0
    found = live.summary(now_ms=30_002)
    assert (found.windows, found.expected, found.emitted) == (1, 1, 0)


def test_the_input_event_time_is_the_lowest_newest_of_partitions_not_idle() -> None:
    live = tracker(idle_ms=30_000)
    feed(live, [("b", 900)], partition=1)
    feed(live, [("a", 100), ("a", 5000)], partition=0)
    assert live.watermark == 900
    # Partition 1 has appended nothing for more than the idle timeout: it holds nothing back.
    live.expect(INPUT, [(0, 9, 40_000, play("a", 6000), 1)])
    assert live.watermark == 6000
    live.expect(INPUT, [(1, 9, 40_001, play("b", 950), 1)])
    assert live.watermark == 6000  # never backwards


def test_events_routed_to_late_are_not_expected() -> None:
    live = tracker()
    feed(live, [("a", 100), ("b", 200), ("b", 300), ("c", 5000)])
    live.late([play("b", 300)])  # b keeps one counted event: still expected
    live.late([play("a", 100)])  # a's only event was late: the agent could not emit it
    live.emit([final("b", 0)])
    found = live.summary(now_ms=10_000)
    assert (found.expected, found.emitted, found.late) == (1, 1, 2)


def test_due_windows_leave_the_sliding_window_into_their_hour() -> None:
    live = tracker(window_ms=60_000)
    feed(live, [("a", 100), ("c", 1500)])
    assert live.summary(now_ms=HOUR + 10).windows == 1  # due at HOUR + 10
    feed(live, [("b", 2100), ("c", 3500)])  # windows 1000 and 2000 become due
    live.emit([final("b", 2000)])
    found = live.summary(now_ms=HOUR + 120_000)  # the first has left the window...
    assert (found.windows, found.expected, found.emitted) == (2, 2, 1)
    later = live.summary(now_ms=3 * HOUR)  # ...and with nothing newer, the latest are shown
    assert (later.windows, later.expected, later.emitted) == (2, 2, 1)
    hours = live.closed_hours(now_ms=3 * HOUR)
    assert sorted(hours) == [HOUR]  # only hours in which windows became due
    assert (hours[HOUR].windows, hours[HOUR].expected, hours[HOUR].emitted) == (3, 3, 1)
    assert [m.window_start_ms for m in hours[HOUR].missing] == [0, 1000]


def test_old_windows_are_dropped_beyond_the_bound() -> None:
    live = tracker()
    feed(live, [(f"u{n}", n * 1000) for n in range(MAX_WINDOWS + 5)])
    assert live.live_windows == MAX_WINDOWS
    assert live.dropped == 5


def test_the_state_restores_exactly_and_refuses_other_settings() -> None:
    live = tracker(lateness_ms=100)
    feed(live, [("a", 100), ("b", 200), ("a", 1100), ("c", 5000)])
    live.late([play("b", 200)])
    live.emit([final("a", 0)])
    live.summary(now_ms=10_000)
    again = WindowCompleteness.restore(live.state(), **_options(lateness_ms=100))
    assert again.summary(now_ms=20_000) == live.summary(now_ms=20_000)
    assert again.closed_hours(now_ms=20_000) == live.closed_hours(now_ms=20_000)
    assert again.state() == live.state()
    with pytest.raises(StateError, match="size_ms"):
        WindowCompleteness.restore(live.state(), **_options(size_ms=2000, lateness_ms=100))
    with pytest.raises(StateError, match="cannot be read"):
        WindowCompleteness.restore(b"junk", **_options())


def _options(**overrides: Any) -> dict[str, Any]:
    return {
        "inputs": [INPUT],
        "key": "user_id",
        "event_time": "event_time",
        "size_ms": 1000,
        "lateness_ms": 0,
        "grace_ms": 0,
        "window_ms": 10 * HOUR,
        **overrides,
    }


events = st.lists(
    st.tuples(st.sampled_from("abcde"), st.integers(0, 20_000), st.integers(0, 2)),
    min_size=1,
    max_size=80,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=events,
    late=st.lists(st.integers(0, 79), max_size=10),
    finals=st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 20)), max_size=40),
    lateness=st.sampled_from([0, 500, 3000]),
)
def test_the_share_is_the_naive_set_computation(
    events: list[tuple[str, int, int]],
    late: list[int],
    finals: list[tuple[str, int]],
    lateness: int,
) -> None:
    live = tracker(lateness_ms=lateness)
    for user, at, partition in events:
        live.expect(INPUT, [(partition, 0, 0, play(user, at), 1)])
    late_events = [events[i] for i in sorted(set(late)) if i < len(events)]
    live.late([play(user, at) for user, at, _ in late_events])
    live.emit([final(user, n * 1000) for user, n in finals])
    found = live.summary(now_ms=1)

    # The inputs' event time as read: the lowest newest per partition so far, never back.
    newest: dict[int, int] = {}
    mark = -(2**63)
    for _, at, partition in events:
        newest[partition] = max(newest.get(partition, at), at)
        mark = max(mark, min(newest.values()))
    counts = Counter((user, at // 1000 * 1000) for user, at, _ in events)
    counts.subtract((user, at // 1000 * 1000) for user, at, _ in late_events)
    due = {start for (_, start) in counts if start + 1000 + lateness <= mark}
    expected = {pair for pair, n in counts.items() if n > 0 and pair[1] in due}
    emitted = expected & {(user, n * 1000) for user, n in finals}
    assert (found.expected, found.emitted) == (len(expected), len(emitted))
    assert {(m.key, m.window_start_ms) for m in found.missing} <= expected - emitted
    assert len(found.missing) == min(5, len(expected - emitted))
