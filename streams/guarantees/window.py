"""Minute buckets sliding over append time, folded into closed hours as they leave the window.

A record counts in the bucket of its append time (``append_ms // bucket_ms``). The live window
is the ``window_ms // bucket_ms`` buckets ending at :attr:`Window.end` (exclusive), which only
moves forward: to the bucket after the newest append time observed, or to ``ceil(now /
bucket_ms)`` when a summary is asked for at ``now``. A bucket that leaves the window is merged
into its hour (dropping its set of ids), so an hour is never counted twice; a record appended
before the window (a backlog) counts in its hour directly, without duplicate detection (the ids
of that hour are gone). Hours older than the ``hours`` last closed ones are dropped: only the
newest event time per partition of what they saw is kept. The state is therefore bounded by one
window of ids plus ``hours`` summaries, whatever the number of events.

A record timestamped in the future moves the window there (the window follows the records, so
that a monitor catching up on a backlog slides through it); topics whose producers' clocks are
not trusted should use ``message.timestamp.type=LogAppendTime``.
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections.abc import Iterable
from typing import Any

from streams.guarantees.histogram import Histogram
from streams.guarantees.summary import Failure, Summary

__all__ = ["HOUR_MS", "MAX_FAILURES", "Span", "Window"]

HOUR_MS = 3_600_000
MAX_FAILURES = 5
"""Failing records kept per span (minute, hour or window)."""


class Span:
    """The counts of one bucket (a minute, or an hour of folded minutes and backlog).

    Attributes are public and mutable: :class:`~streams.guarantees.measures.ProductMeasures`
    updates them in its hot loop. ``ids`` is the set of id hashes of a live minute (None in an
    hour: its ids are dropped).
    """

    __slots__ = (
        "dead_letters",
        "duplicates",
        "events",
        "failures",
        "ids",
        "invalid",
        "latency",
        "newest",
        "on_time",
        "schema_ids",
    )

    def __init__(self, *, ids: bool) -> None:
        self.events = 0
        self.on_time = 0
        self.duplicates = 0
        self.invalid = 0
        self.dead_letters = 0
        self.latency = Histogram()
        self.failures: list[Failure] = []
        self.schema_ids: set[int] = set()
        self.newest: dict[int, int] = {}  # partition -> newest event time in this span
        self.ids: set[int] | None = set() if ids else None

    def merge(self, other: Span) -> None:
        """Add ``other``'s counts (not its ids) to this span."""
        self.events += other.events
        self.on_time += other.on_time
        self.duplicates += other.duplicates
        self.invalid += other.invalid
        self.dead_letters += other.dead_letters
        self.latency.merge(other.latency)
        self.failures.extend(other.failures[: MAX_FAILURES - len(self.failures)])
        self.schema_ids |= other.schema_ids
        newest_of(self.newest, other.newest)

    def summary(self, start_ms: int, end_ms: int, newest: dict[int, int]) -> Summary:
        """This span as a :class:`Summary`, with ``newest`` as the newest event time ever seen."""
        return Summary(
            start_ms=start_ms,
            end_ms=end_ms,
            events=self.events,
            newest_event_ms=max(newest.values()) if newest else None,
            newest_by_partition=dict(sorted(newest.items())),
            latency_p50_ms=self.latency.quantile(0.5),
            latency_p99_ms=self.latency.quantile(0.99),
            on_time=self.on_time,
            duplicates=self.duplicates,
            invalid=self.invalid,
            failures=tuple(self.failures),
            schema_ids=frozenset(self.schema_ids),
            dead_letters=self.dead_letters,
        )

    def to_json(self) -> list[Any]:
        """The span as JSON-ready lists (sets sorted, so equal spans give equal bytes)."""
        ids = None
        if self.ids is not None:
            packed = array("Q", sorted(self.ids))
            if sys.byteorder == "big":  # pragma: no cover - the checkpoint is little-endian
                packed.byteswap()
            ids = base64.b64encode(packed.tobytes()).decode()
        return [
            self.events,
            self.on_time,
            self.duplicates,
            self.invalid,
            self.dead_letters,
            self.latency.pairs(),
            [[f.partition, f.offset, f.field, f.rule, f.value] for f in self.failures],
            sorted(self.schema_ids),
            sorted(self.newest.items()),
            ids,
        ]

    @classmethod
    def from_json(cls, data: list[Any]) -> Span:
        """The span :meth:`to_json` described."""
        span = cls(ids=data[9] is not None)
        span.events, span.on_time, span.duplicates, span.invalid, span.dead_letters = data[:5]
        span.latency = Histogram.from_pairs(data[5])
        span.failures = [
            Failure(partition=p, offset=o, field=f, rule=r, value=v) for p, o, f, r, v in data[6]
        ]
        span.schema_ids = set(data[7])
        span.newest = dict(data[8])
        if data[9] is not None:
            packed = array("Q")
            packed.frombytes(base64.b64decode(data[9]))
            if sys.byteorder == "big":  # pragma: no cover
                packed.byteswap()
            span.ids = set(packed)
        return span


def newest_of(into: dict[int, int], other: dict[int, int]) -> None:
    """Keep in ``into`` the newer event time per partition of both."""
    for partition, ms in other.items():
        if ms > into.get(partition, ms - 1):
            into[partition] = ms


class Window:
    """The live minute buckets, the hours they fold into, and what older hours left behind.

    Args:
        window_ms: The sliding window, a multiple of ``bucket_ms``.
        bucket_ms: The bucket, a divisor of an hour.
        hours: How many closed hours are kept.

    Raises:
        ValueError: The sizes do not fit together (the message says how to fix them).
    """

    __slots__ = (
        "_first",
        "bucket_ms",
        "end",
        "hours",
        "hours_kept",
        "id_sets",
        "minutes",
        "old",
        "size",
        "window_ms",
    )

    def __init__(self, *, window_ms: int, bucket_ms: int, hours: int) -> None:
        if bucket_ms <= 0 or HOUR_MS % bucket_ms:
            raise ValueError(f"bucket_ms {bucket_ms} must divide an hour, e.g. 60000 (a minute)")
        if window_ms <= 0 or window_ms % bucket_ms:
            raise ValueError(
                f"window_ms {window_ms} must be a positive multiple of bucket_ms {bucket_ms}, "
                "e.g. 300000 (5 minutes)"
            )
        if hours < 1 or window_ms > hours * HOUR_MS:
            raise ValueError(
                f"hours {hours} must keep at least one closed hour and the window "
                f"({window_ms} ms), e.g. 24"
            )
        self.window_ms = window_ms
        self.bucket_ms = bucket_ms
        self.size = window_ms // bucket_ms  # buckets in the window
        self.hours_kept = hours
        self.end: int | None = None  # the live window is buckets [end - size, end)
        self._first: int | None = None  # the oldest bucket ever seen: no hour is reported before
        self.minutes: dict[int, Span] = {}
        self.hours: dict[int, Span] = {}
        self.old = Span(ids=False)  # what dropped (or too old) hours saw: only .newest is kept
        self.id_sets: tuple[set[int], ...] = ()  # the live minutes' ids, for the hot loop

    def span_for(self, bucket: int) -> Span:
        """The span counting a record appended in ``bucket`` (may move the window forward)."""
        if self.end is None or bucket >= self.end:
            self.advance(bucket + 1)
        assert self.end is not None
        assert self._first is not None
        if bucket < self._first:
            self._first = bucket
        if bucket >= self.end - self.size:
            span = self.minutes.get(bucket)
            if span is None:
                span = self.minutes[bucket] = Span(ids=True)
                self._sets()
            return span
        hour = bucket * self.bucket_ms // HOUR_MS
        if hour < self._oldest_hour():
            return self.old
        span = self.hours.get(hour)
        if span is None:
            span = self.hours[hour] = Span(ids=False)
        return span

    def advance(self, end: int) -> None:
        """Move the window to end at bucket ``end`` (never backwards), folding what leaves it."""
        if self.end is not None and end <= self.end:
            return
        self.end = end
        start = end - self.size
        if self._first is None:
            self._first = start
        left = [bucket for bucket in self.minutes if bucket < start]
        for bucket in sorted(left):
            hour = bucket * self.bucket_ms // HOUR_MS
            span = self.hours.get(hour)
            if span is None:
                span = self.hours[hour] = Span(ids=False)
            span.merge(self.minutes.pop(bucket))
        oldest = self._oldest_hour()
        for hour in sorted(self.hours):
            if hour < oldest:
                self.old.merge(self.hours.pop(hour))
        if left:
            self._sets()

    def _oldest_hour(self) -> int:
        """The oldest hour kept: the last ``hours_kept`` closed ones (they hold the window)."""
        assert self.end is not None
        return self.end * self.bucket_ms // HOUR_MS - self.hours_kept

    def _sets(self) -> None:
        self.id_sets = tuple(span.ids for span in self.minutes.values() if span.ids is not None)

    def ends_at(self, now_ms: int) -> None:
        """Move the window to the bucket after ``now_ms - 1``: it then covers up to ``now_ms``."""
        self.advance(-(-now_ms // self.bucket_ms))

    def newest(self) -> dict[int, int]:
        """The newest event time ever seen per partition."""
        newest = dict(self.old.newest)
        for span in (*self.hours.values(), *self.minutes.values()):
            newest_of(newest, span.newest)
        return newest

    def summary(self) -> Summary:
        """The live window."""
        assert self.end is not None
        merged = spans(self.minutes[bucket] for bucket in sorted(self.minutes))
        return merged.summary(
            (self.end - self.size) * self.bucket_ms, self.end * self.bucket_ms, self.newest()
        )

    def closed_hours(self) -> list[Summary]:
        """The last ``hours_kept`` closed hours (hours ending by the window's end), oldest first.

        An hour is its folded minutes and backlog plus its minutes still in the window. Every
        hour since the first record or summary is reported, an hour without events too.
        """
        assert self.end is not None
        assert self._first is not None
        per_hour: dict[int, Span] = {}
        for hour, span in self.hours.items():
            per_hour.setdefault(hour, Span(ids=False)).merge(span)
        for bucket in sorted(self.minutes):
            hour = bucket * self.bucket_ms // HOUR_MS
            per_hour.setdefault(hour, Span(ids=False)).merge(self.minutes[bucket])
        current = self.end * self.bucket_ms // HOUR_MS  # the first hour not closed
        first = max(self._first * self.bucket_ms // HOUR_MS, current - self.hours_kept)
        newest = dict(self.old.newest)  # no hour before ``first`` is kept: they are all here
        closed = []
        for hour in range(first, current):
            span = per_hour.get(hour) or Span(ids=False)
            newest_of(newest, span.newest)
            closed.append(span.summary(hour * HOUR_MS, (hour + 1) * HOUR_MS, dict(newest)))
        return closed

    def to_json(self) -> dict[str, Any]:
        """The window as JSON-ready data (see :meth:`from_json`)."""
        return {
            "window_ms": self.window_ms,
            "bucket_ms": self.bucket_ms,
            "hours": self.hours_kept,
            "end": self.end,
            "first": self._first,
            "minutes": [
                [bucket, self.minutes[bucket].to_json()] for bucket in sorted(self.minutes)
            ],
            "hour_spans": [[hour, self.hours[hour].to_json()] for hour in sorted(self.hours)],
            "old_newest": sorted(self.old.newest.items()),
        }

    def load(self, data: dict[str, Any]) -> None:
        """Take the state :meth:`to_json` described (sizes already checked by the caller)."""
        self.end = data["end"]
        self._first = data["first"]
        self.minutes = {bucket: Span.from_json(span) for bucket, span in data["minutes"]}
        self.hours = {hour: Span.from_json(span) for hour, span in data["hour_spans"]}
        self.old = Span(ids=False)
        self.old.newest = dict(data["old_newest"])
        self._sets()


def spans(items: Iterable[Span]) -> Span:
    """One span with the counts of all ``items``."""
    merged = Span(ids=False)
    for item in items:
        merged.merge(item)
    return merged
