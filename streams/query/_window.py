"""Which records a query reads: ``since`` and ``until`` as datetimes or text.

Times are the records' Kafka timestamps (when each was written), not a field of the event:
filter on ``event_time`` in SQL for event time. A text time is a duration back from now
(``30m``, ``1h``, ``7d``), an ISO date or date and time (``2026-11-30``,
``2026-11-30T10:00``, UTC unless it names a zone), or ``all`` (``since`` only: from the
first record retained).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from streams.catalog import format_duration, parse_duration
from streams.errors import ConfigError

__all__ = ["EVENTS_SINCE", "Time", "Window", "parse_time", "window"]

Time = datetime.datetime | str
"""A point in time as :func:`parse_time` reads it."""

EVENTS_SINCE = "24h"
"""What an event product's query reads when no ``since`` is given: the last day."""

_EXAMPLES = (
    "a duration back from now ('30m', '1h', '7d') or a UTC date and time ('2026-11-30T10:00')"
)


@dataclass(frozen=True, slots=True)
class Window:
    """Record timestamps a query reads, in epoch milliseconds: ``start <= t < end``.

    Attributes:
        start_ms: The first timestamp read; None reads from the first record retained.
        end_ms: The first timestamp not read (the query's start when no ``until`` is given).
    """

    start_ms: int | None
    end_ms: int

    def __contains__(self, timestamp_ms: int) -> bool:
        return (self.start_ms is None or timestamp_ms >= self.start_ms) and (
            timestamp_ms < self.end_ms
        )

    def describe(self) -> str:
        """``since … until …`` in UTC, for messages."""
        start = "the first record" if self.start_ms is None else _show(self.start_ms)
        return f"from {start} until {_show(self.end_ms)}"


def _show(ms: int) -> str:
    return f"{datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC):%Y-%m-%d %H:%M:%S} UTC"


def parse_time(value: Time, *, now: datetime.datetime, option: str) -> datetime.datetime:
    """The aware datetime ``value`` means, ``now`` being the query's start.

    Args:
        value: A datetime (naive means UTC), a duration back from ``now`` or an ISO date
            (and time).
        now: The query's start (aware).
        option: The option's name for messages (``since``, ``until``).

    Raises:
        ConfigError: ``value`` is neither; the message shows how to write one.
    """
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)
    if not isinstance(value, str):
        raise ConfigError(f"{option}={value!r} is not a time: give a datetime, or {_EXAMPLES}")
    text = value.strip()
    try:
        return now - datetime.timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        found = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{option}={value!r} is neither a duration nor a date: write {_EXAMPLES}"
        ) from None
    return found if found.tzinfo is not None else found.replace(tzinfo=datetime.UTC)


def window(
    since: Time | None,
    until: Time | None,
    *,
    snapshot: bool,
    now: datetime.datetime | None = None,
) -> Window:
    """The records a query reads.

    Args:
        since: From when; None: the whole retained history for a snapshot (latest record per
            key), the last :data:`EVENTS_SINCE` for events. ``"all"``: the whole history.
        until: Until when (exclusive); None: the query's start, so records written while it
            reads are left out and the answer is a consistent snapshot.
        snapshot: Whether the product is read as its latest record per key.
        now: The query's start (default: the clock).

    Raises:
        ConfigError: A time cannot be read, or ``since`` is not before ``until``.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    if isinstance(since, str) and since.strip() == "all":
        start = None
    elif since is None:
        start = None if snapshot else parse_time(EVENTS_SINCE, now=now, option="since")
    else:
        start = parse_time(since, now=now, option="since")
    end = now if until is None else parse_time(until, now=now, option="until")
    if start is not None and start >= end:
        span = format_duration(max(1, int((start - end).total_seconds())))
        raise ConfigError(
            f"since ({start:%Y-%m-%d %H:%M:%S} UTC) is not before until "
            f"({end:%Y-%m-%d %H:%M:%S} UTC, {span} earlier): give an earlier since or a later until"
        )
    return Window(
        start_ms=None if start is None else int(start.timestamp() * 1000),
        end_ms=int(end.timestamp() * 1000),
    )
