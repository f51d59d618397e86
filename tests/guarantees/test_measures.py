"""ProductMeasures against a naive computation over every record, and its window and checkpoint."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.catalog import Product
from streams.errors import StateError
from streams.guarantees.histogram import RELATIVE_ERROR
from streams.guarantees.measures import ProductMeasures, event_time_ms
from streams.guarantees.summary import Summary

MINUTE = 60_000
HOUR = 3_600_000
WINDOW = 5 * MINUTE
LATENESS = 30_000  # the descriptor's latency promise
T0 = 1_790_000_000_000 // HOUR * HOUR  # an hour boundary


def product(**changes: Any) -> Product:
    data: dict[str, Any] = {
        "name": "play_events",
        "domain": "player",
        "version": 1,
        "kind": "source-aligned",
        "outputPort": {
            "schema": "schemas/player/PlayEvent.avsc",
            "eventTime": "event_time",
            "partitions": 4,
        },
        "guarantees": {
            "freshness": "1m",
            "latency": "30s",
            "completeness": 0.999,
            "maxDuplicateShare": 0.001,
            "availability": 0.999,
        },
        "quality": [
            {"rule": "unique", "field": "event_id"},
            {"rule": "not_null", "field": "track_id"},
            {"rule": "range", "field": "ms_played", "min": 0, "max": 86_400_000},
            {"rule": "allowed_values", "field": "device", "values": ["IOS", "WEB"]},
        ],
    }
    data.update(changes)
    return Product.model_validate(data)


PLAY_EVENTS = product()


@dataclass(frozen=True)
class Event:
    partition: int
    append_ms: int
    latency: int
    id: int
    track: bool
    ms_played: int
    device: str
    schema_id: int
    dead: bool  # a dead letter, not an event

    @property
    def event_ms(self) -> int:
        return self.append_ms - self.latency

    def value(self, as_datetime: bool) -> dict[str, Any]:
        moment: Any = self.event_ms
        if as_datetime:
            moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=moment)
        return {
            "event_id": uuid.UUID(int=self.id << 64 | 12345),
            "event_time": moment,
            "track_id": uuid.UUID(int=7) if self.track else None,
            "ms_played": self.ms_played,
            "device": self.device,
        }

    def broken(self) -> list[tuple[str, str]]:
        rules = []
        if not self.track:
            rules.append(("track_id", "not_null"))
        if not 0 <= self.ms_played <= 86_400_000:
            rules.append(("ms_played", "range"))
        if self.device not in ("IOS", "WEB"):
            rules.append(("device", "allowed_values"))
        return rules


def events_of(draw: st.DrawFn, span_ms: int) -> list[Event]:
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(0, span_ms),  # append time
                st.integers(-20 * MINUTE, 20 * MINUTE) | st.just(0),  # read out of order by
                st.integers(-5_000, 120_000) | st.just(LATENESS),  # latency
                st.integers(0, 3),  # partition
                st.integers(0, 12),  # id
                st.booleans(),
                st.sampled_from([5, -1, 10**9]),
                st.sampled_from(["WEB", "IOS", "FAX"]),
                st.integers(1, 3),
                st.integers(0, 9),  # 0: a dead letter
            ),
            max_size=80,
        )
    )
    rows.sort(key=lambda row: row[0] + row[1])
    return [
        Event(p, T0 + a, lat, i, tr, ms, dev, sid, dead == 0)
        for a, _, lat, p, i, tr, ms, dev, sid, dead in rows
    ]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Event], int, bool]:
    events = events_of(draw, draw(st.sampled_from([10 * MINUTE, 3 * HOUR, 27 * HOUR])))
    newest = max((event.append_ms for event in events), default=T0)
    now = newest + draw(st.integers(-10 * MINUTE, 2 * HOUR))
    return events, now, draw(st.booleans())


def feed(measures: ProductMeasures, events: list[Event], as_datetime: bool, start: int = 0) -> None:
    """Observe ``events`` (the offset of each is its index in the whole scenario)."""
    batch = []
    for offset, event in enumerate(events, start):
        if event.dead:
            measures.observe_many(batch)
            batch = []
            measures.dead_letter(event.append_ms)
        else:
            batch.append(
                (
                    event.partition,
                    offset,
                    event.append_ms,
                    event.value(as_datetime),
                    event.schema_id,
                )
            )
    measures.observe_many(batch)


class Naive:
    """Every record replayed with the window's rules, without buckets' cleverness."""

    def __init__(self, events: list[Event], now: int) -> None:
        self.events = events
        ends, dups = [], []
        end = None
        for i, event in enumerate(events):
            bucket = event.append_ms // MINUTE
            end = bucket + 1 if end is None else max(end, bucket + 1)
            ends.append(end)
            live = bucket >= end - 5
            dups.append(
                live
                and not event.dead
                and any(
                    not other.dead
                    and other.id == event.id
                    and other.append_ms // MINUTE >= max(end - 5, ends[j] - 5)
                    for j, other in enumerate(events[:i])
                )
            )
        self.duplicate = dups
        self.end = max(end or 0, -(-now // MINUTE))
        first = -(-now // MINUTE) if not events else events[0].append_ms // MINUTE + 1
        self.first = min([first - 5, *(event.append_ms // MINUTE for event in events)])

    def check(self, summary: Summary, start: int, end: int, hour: int | None = None) -> None:
        inside = [i for i, event in enumerate(self.events) if start <= event.append_ms < end]
        records = [i for i in inside if not self.events[i].dead]
        assert (summary.start_ms, summary.end_ms) == (start, end)
        assert summary.events == len(records)
        assert summary.dead_letters == len(inside) - len(records)
        assert summary.duplicates == sum(self.duplicate[i] for i in records)
        latencies = sorted(max(self.events[i].latency, 0) for i in records)
        for q, found in ((0.5, summary.latency_p50_ms), (0.99, summary.latency_p99_ms)):
            if not latencies:
                assert found is None
            else:
                exact = latencies[math.floor(q * (len(latencies) - 1))]
                assert found is not None
                assert abs(found - exact) <= RELATIVE_ERROR * exact * (1 + 1e-9)
        assert summary.on_time == sum(self.events[i].latency <= LATENESS for i in records)
        assert summary.invalid == sum(bool(self.events[i].broken()) for i in records)
        failures = [
            (self.events[i].partition, field, rule)
            for i in sorted(records, key=lambda i: self.events[i].append_ms // MINUTE)
            for field, rule in self.events[i].broken()
        ]
        shown = [(f.partition, f.field, f.rule) for f in summary.failures]
        if hour is None:
            assert shown == failures[:5]
        else:  # an hour merges minutes as they left: the first five kept, in some order
            assert len(shown) == min(5, len(failures))
            assert all(failure in failures for failure in shown)
        assert summary.schema_ids == {self.events[i].schema_id for i in records}
        limit = end if hour is not None else None
        newest: dict[int, int] = {}
        for event in self.events:
            if not event.dead and (limit is None or event.append_ms < limit):
                newest[event.partition] = max(
                    newest.get(event.partition, event.event_ms), event.event_ms
                )
        assert dict(summary.newest_by_partition) == newest
        assert summary.newest_event_ms == (max(newest.values()) if newest else None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_the_window_equals_a_naive_count_of_its_records(
    scenario: tuple[list[Event], int, bool],
) -> None:
    events, now, as_datetime = scenario
    measures = ProductMeasures(PLAY_EVENTS)
    feed(measures, events, as_datetime)
    naive = Naive(events, now)
    summary = measures.window(now)
    naive.check(summary, (naive.end - 5) * MINUTE, naive.end * MINUTE)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_closed_hours_equal_a_naive_count_of_their_records(
    scenario: tuple[list[Event], int, bool],
) -> None:
    events, now, as_datetime = scenario
    measures = ProductMeasures(PLAY_EVENTS)
    feed(measures, events, as_datetime)
    naive = Naive(events, now)
    hours = measures.closed_hours(now)
    current = naive.end * MINUTE // HOUR
    first = max(naive.first * MINUTE // HOUR, current - 24)
    assert [summary.start_ms // HOUR for summary in hours] == list(range(first, current))
    for summary in hours:
        naive.check(summary, summary.start_ms, summary.start_ms + HOUR, hour=summary.start_ms)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(0, 80))
def test_a_restored_checkpoint_goes_on_counting_as_if_never_stopped(
    scenario: tuple[list[Event], int, bool], cut: int
) -> None:
    events, now, as_datetime = scenario
    whole = ProductMeasures(PLAY_EVENTS)
    feed(whole, events, as_datetime)
    first = ProductMeasures(PLAY_EVENTS)
    feed(first, events[:cut], as_datetime)
    data = first.state()
    restored = ProductMeasures.restore(PLAY_EVENTS, data)
    assert restored.state() == data
    feed(restored, events[cut:], as_datetime, start=cut)
    assert restored.state() == whole.state()
    assert restored.window(now) == whole.window(now)
    assert restored.closed_hours(now) == whole.closed_hours(now)


def record(append_ms: int, event_id: int, *, latency: int = 100, partition: int = 0) -> Any:
    value = {
        "event_id": uuid.UUID(int=event_id << 64),
        "event_time": append_ms - latency,
        "track_id": uuid.UUID(int=1),
        "ms_played": 5,
        "device": "WEB",
    }
    return (partition, append_ms, append_ms, value, 1)


def test_the_window_slides_with_now_a_bucket_at_a_time() -> None:
    measures = ProductMeasures(PLAY_EVENTS)
    measures.observe_many([record(T0 + 10_000, 1), record(T0 + 70_000, 2)])
    summary = measures.window(T0 + 2 * MINUTE)
    assert (summary.start_ms, summary.end_ms, summary.events) == (
        T0 - 3 * MINUTE,
        T0 + 2 * MINUTE,
        2,
    )
    assert measures.window(T0 + 5 * MINUTE).events == 2  # [T0, T0 + 5 min)
    later = measures.window(T0 + 5 * MINUTE + 1)  # rounded up to T0 + 6 min: minute 0 has left
    assert (later.start_ms, later.end_ms, later.events) == (T0 + MINUTE, T0 + 6 * MINUTE, 1)
    assert measures.window(T0 + 6 * MINUTE).events == 1
    empty = measures.window(T0 + 7 * MINUTE)
    assert empty.events == 0
    assert empty.latency_p99_ms is None
    assert empty.newest_event_ms == T0 + 70_000 - 100  # newest ever, not in the window
    assert measures.window(T0).end_ms == T0 + 7 * MINUTE  # the window never moves back


def test_an_id_is_forgotten_once_its_minute_left_the_window_even_by_now_alone() -> None:
    measures = ProductMeasures(PLAY_EVENTS)
    measures.observe_many([record(T0, 1), record(T0 + 4 * MINUTE, 2), record(T0 + 4 * MINUTE, 2)])
    assert measures.window(T0 + 5 * MINUTE).duplicates == 1  # id 2 twice in minute 4
    measures.window(T0 + 6 * MINUTE)  # minute 0 leaves (and id 1 with it); minute 4 stays
    measures.observe_many([record(T0 + 4 * MINUTE + 1, 1), record(T0 + 4 * MINUTE + 2, 2)])
    assert measures.window(T0 + 6 * MINUTE).duplicates == 2  # id 2 again, id 1 is new


def test_a_backlog_goes_straight_to_its_hour() -> None:
    measures = ProductMeasures(PLAY_EVENTS)
    measures.observe_many([record(T0 + 2 * HOUR, 1), record(T0 + 30 * MINUTE, 1)])
    assert measures.window(T0 + 2 * HOUR).events == 1
    hours = measures.closed_hours(T0 + 2 * HOUR)
    assert [(h.start_ms, h.events, h.duplicates) for h in hours] == [
        (T0, 1, 0),  # a backlog record is not checked for duplicates: its hour's ids are gone
        (T0 + HOUR, 0, 0),
    ]


def test_the_state_is_bounded_by_the_window_and_the_hours_kept() -> None:
    measures = ProductMeasures(PLAY_EVENTS)
    sizes = {}
    for second in range(0, 60 * 3600, 5):  # 60 hours, a record every 5 s
        measures.observe(0, second, T0 + second * 1000, record(T0, second)[3], 1)
        if second % (12 * 3600) == 0:
            sizes[second // 3600] = len(measures.state())
    assert sizes[36] <= sizes[24] * 1.1
    assert sizes[48] <= sizes[24] * 1.1
    assert len(measures.closed_hours(T0 + 60 * HOUR)) == 24


def test_the_allowed_lateness_defaults_to_the_latency_promise() -> None:
    late = [record(T0, 1, latency=LATENESS), record(T0, 2, latency=LATENESS + 1)]
    default = ProductMeasures(PLAY_EVENTS)
    default.observe_many(late)
    assert default.window(T0 + 1).on_time == 1
    lenient = ProductMeasures(PLAY_EVENTS, allowed_lateness_ms=LATENESS + 1)
    lenient.observe_many(late)
    assert lenient.window(T0 + 1).on_time == 2
    unpromised = ProductMeasures(product(guarantees=None))
    unpromised.observe_many(late)
    assert unpromised.window(T0 + 1).on_time == 2


def test_without_an_id_field_duplicates_are_not_measured() -> None:
    measures = ProductMeasures(product(quality=[]), schema_fields=["event_time", "device"])
    assert measures.id_field is None
    measures.observe_many([record(T0, 1), record(T0, 1)])
    assert measures.window(T0 + 1).duplicates == 0
    assert ProductMeasures(product(quality=[])).id_field == "event_id"


def test_an_event_time_is_int_milliseconds_or_an_aware_datetime() -> None:
    aware = datetime(2026, 12, 1, 0, 0, 0, 1999, tzinfo=UTC)
    assert event_time_ms(aware) == 1_796_083_200_001
    with pytest.raises(TypeError, match="naive datetime"):
        event_time_ms(aware.replace(tzinfo=None))
    measures = ProductMeasures(PLAY_EVENTS)
    bad = record(T0, 1)[3] | {"event_time": "yesterday"}
    with pytest.raises(TypeError, match="'yesterday' is not an event time"):
        measures.observe(0, 0, T0, bad, 1)


def test_a_checkpoint_of_another_window_or_product_or_corrupt_is_refused() -> None:
    measures = ProductMeasures(PLAY_EVENTS)
    measures.observe_many([record(T0, 1)])
    data = measures.state()
    with pytest.raises(StateError, match="window_ms"):
        ProductMeasures.restore(PLAY_EVENTS, data, window_ms=10 * MINUTE)
    with pytest.raises(StateError, match="topic"):
        ProductMeasures.restore(product(name="other_events"), data)
    with pytest.raises(StateError, match="cannot be read"):
        ProductMeasures.restore(PLAY_EVENTS, b"not a checkpoint")
