"""What the monitor saw of one product over a span: the contract between measuring and judging.

:mod:`streams.guarantees.measures` builds a :class:`Summary` from the records it observes (the
sliding window, or one closed hour); :mod:`streams.guarantees.evaluate` compares it with the
descriptor's promises. Both sides are pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Failure", "GroupLag", "Missing", "Summary", "Windows"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    """One record that broke a quality rule (the first few per span are kept)."""

    partition: int
    offset: int
    field: str
    rule: str  # "not_null" | "range" | "allowed_values"
    value: str  # the offending value, as repr() cut to 80 characters


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupLag:
    """One consumer group reading a product: how far behind its committed offsets are."""

    group: str
    lag: int  # records between its committed offsets and the ends, summed over partitions
    lag_ms: int | None  # now minus the append time of its oldest unconsumed record (None: 0 lag)


@dataclass(frozen=True, slots=True, kw_only=True)
class Missing:
    """One (key, window) an aggregate's inputs imply that was not emitted final."""

    key: str | None  # None: the key's name was not kept (only its hash; see .windows)
    key_hash: int  # 64-bit hash of the key
    window_start_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Windows:
    """An aggregate's windows over a span: (key, window) pairs its inputs imply vs. emitted.

    Counts cover the windows that became due in the span (see :mod:`streams.guarantees.windows`).
    """

    expected: int  # (key, window start) pairs with input events, not all routed to .late
    emitted: int  # of those, the pairs the output has a final record for
    windows: int  # due windows counted
    late: int = 0  # input events of those windows the agent routed to <input>.late
    window_starts: tuple[int, ...] = ()  # the newest few due windows counted, newest first
    missing: tuple[Missing, ...] = ()  # the first few expected pairs not emitted


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """One product over ``[start_ms, end_ms)`` of append time (Kafka record timestamps).

    Shares are computed by the evaluator from these counts, so summaries of minutes can be
    merged into hours exactly.
    """

    start_ms: int
    end_ms: int
    events: int  # decoded records of the product's topic in the span
    newest_event_ms: int | None  # newest event time ever seen (all partitions), None: no event
    newest_by_partition: Mapping[int, int] = field(default_factory=dict)  # ever seen
    latency_p50_ms: float | None = None  # append time - event time, over the span's events
    latency_p99_ms: float | None = None
    on_time: int = 0  # events whose append time - event time <= the allowed lateness
    duplicates: int = 0  # events whose id was already seen within the window
    invalid: int = 0  # events breaking at least one quality rule
    failures: tuple[Failure, ...] = ()
    schema_ids: frozenset[int] = frozenset()
    dead_letters: int = 0  # records appended to the product's dead-letter topic in the span
    windows: Windows | None = None  # an aggregate's windows (None: not measured, see below)
    windows_unmeasured: str | None = None  # why an aggregate's windows are not measured
