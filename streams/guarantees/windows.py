"""An aggregate's completeness: the windows its inputs imply against the windows it emitted.

A derived product computed by a live agent over tumbling event-time windows (the agent says so
in its record on ``_mesh.agent_runs``: key field, window size, allowed lateness) should emit, for
every key and window its inputs have events in, one record with ``final == true``.
:class:`WindowCompleteness` checks that, from what the monitor reads anyway:

- each input event implies the pair ``(key, window_start)``, counted per pair (64-bit hashes of
  the key, as :func:`~streams.guarantees.duplicates.id_hash`);
- each copy the agent routed to ``<input topic>.late`` (its header ``late.product`` names this
  product) takes one event off its pair: such events are the product's stated limitation, so a
  pair only expected is one with an event that was not late;
- each output record with ``final == true`` marks its ``(key field, window_start)`` emitted.

A window is *due* once the inputs' event time (the lowest newest event time among the input
partitions with events, leaving out those that appended nothing for the agent's idle timeout of
append time while others did, as the agent does; it never moves back) has passed ``window_end +
allowed_lateness``, and then a wall-clock ``grace_ms`` more for the agent to emit (the time it
was noticed is the ``now_ms`` of the summary that noticed it, so within one publication
interval). Completeness is the expected pairs of due windows emitted final over the expected
pairs of due windows. The sliding window holds the windows that became due in its last
``window_ms`` (or, when none did, the last ones that did, so an hourly product is judged between
its hours too); the windows that became due in an hour count for that hour. Finals that come
after their window became due still count while the window is live.

State is bounded: a window's pairs are kept from its first event (or final) until it leaves the
sliding window (its counts then fold into its hour, 24 kept, with a few missing examples), and
at most :data:`MAX_WINDOWS` windows are live (the oldest are dropped, counted in
:attr:`WindowCompleteness.dropped`). Events and finals of windows already folded or dropped are
ignored. Key names are kept only for naming missing pairs: at most :data:`MAX_NAMES` per window,
of keys not yet emitted. Not covered: input records the agent dead-letters as miskeyed (their
Kafka key is not their key field) are still expected; hopping and session windows are not
checked (the caller says so in the observation).
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import orjson

from streams.errors import StateError
from streams.guarantees.duplicates import id_hash
from streams.guarantees.measures import Record
from streams.guarantees.pairs import MAX_EXAMPLES, Live, merged, summed
from streams.guarantees.summary import Missing, Windows
from streams.guarantees.window import HOUR_MS
from streams.serialization.plain import event_time_ms

__all__ = [
    "MAX_NAMES",
    "MAX_WINDOWS",
    "WindowCompleteness",
]


MAX_WINDOWS = 1000
"""Live windows kept at most (the oldest are dropped beyond)."""
MAX_NAMES = 256
"""Key names kept per window, to name missing pairs."""

_VERSION = 1
_NO_MARK = -(2**63)


def _name(key: object) -> str:
    return key if type(key) is str else str(key)


class WindowCompleteness:
    """The windows an aggregate's inputs imply against those it emitted (module docstring).

    Args:
        inputs: The input product topics.
        key: The input field the agent keys by; the output's records carry it too.
        event_time: The input field holding the event time.
        size_ms: The tumbling window's size.
        lateness_ms: The agent's allowed lateness.
        grace_ms: Wall-clock time the agent has to emit a window once it is due.
        window_ms: The monitor's sliding window.
        idle_ms: The agent's idle timeout (an input partition silent that long holds nothing).
        hours: Closed hours kept.
    """

    __slots__ = (
        "_hours",
        "_live",
        "_mark",
        "_newest",
        "dropped",
        "event_time",
        "grace_ms",
        "horizon",
        "hours_kept",
        "idle_ms",
        "inputs",
        "key",
        "lateness_ms",
        "size_ms",
        "window_ms",
    )

    def __init__(
        self,
        *,
        inputs: Collection[str],
        key: str,
        event_time: str,
        size_ms: int,
        lateness_ms: int,
        grace_ms: int,
        window_ms: int,
        idle_ms: int = 30_000,
        hours: int = 24,
    ) -> None:
        if size_ms <= 0:
            raise ValueError(f"size_ms must be positive, not {size_ms}")
        self.inputs = frozenset(inputs)
        self.key = key
        self.event_time = event_time
        self.size_ms = size_ms
        self.lateness_ms = lateness_ms
        self.grace_ms = grace_ms
        self.window_ms = window_ms
        self.idle_ms = idle_ms
        self.hours_kept = hours
        self._newest: dict[tuple[str, int], list[int]] = {}  # -> [event ms, append ms]
        self._mark = _NO_MARK
        self._live: dict[int, Live] = {}  # window start -> its pairs
        self._hours: dict[int, list[Any]] = {}  # hour start -> [exp, emitted, windows, late, ...]
        self.horizon = _NO_MARK  # windows starting at or before it are folded or dropped
        self.dropped = 0

    @property
    def settings(self) -> dict[str, Any]:
        """What a checkpoint must have been taken with to be restored."""
        return {
            "inputs": sorted(self.inputs),
            "key": self.key,
            "event_time": self.event_time,
            "size_ms": self.size_ms,
            "lateness_ms": self.lateness_ms,
            "window_ms": self.window_ms,
            "hours": self.hours_kept,
        }

    @property
    def watermark(self) -> int | None:
        """The inputs' event time (module docstring); None before any input event."""
        return None if self._mark == _NO_MARK else self._mark

    @property
    def live_windows(self) -> int:
        """Windows whose pairs are kept now."""
        return len(self._live)

    def _window(self, start: int) -> Live | None:
        if start <= self.horizon:
            return None
        live = self._live.get(start)
        if live is None:
            live = self._live[start] = Live()
            if len(self._live) > MAX_WINDOWS:
                oldest = min(self._live)
                del self._live[oldest]
                self.horizon = oldest
                self.dropped += 1
                return self._live.get(start)
        return live

    def _pair(self, value: Mapping[str, Any], field: str) -> tuple[str, int] | None:
        key = value.get(self.key)
        moment = value.get(field)
        if key is None or moment is None:
            return None
        if type(moment) is not int:
            moment = event_time_ms(moment)
        return _name(key), moment

    def expect(self, topic: str, records: Iterable[Record]) -> None:
        """Count the pairs of an input topic's decoded records, and its event time."""
        size = self.size_ms
        newest = self._newest
        top = _NO_MARK
        for partition, _, append_ms, value, _ in records:
            pair = self._pair(value, self.event_time)
            if pair is None:
                continue
            name, moment = pair
            seen = newest.get((topic, partition))
            if seen is None:
                newest[(topic, partition)] = [moment, append_ms]
            else:
                if moment > seen[0]:
                    seen[0] = moment
                if append_ms > seen[1]:
                    seen[1] = append_ms
            top = max(top, append_ms)
            live = self._window(moment - moment % size)
            if live is None:
                continue
            hashed = id_hash(name)
            live.counts[hashed] = live.counts.get(hashed, 0) + 1
            if hashed not in live.emitted and len(live.names) < MAX_NAMES:
                live.names.setdefault(hashed, name)
        if top != _NO_MARK:
            self._advance()

    def _advance(self) -> None:
        newest = self._newest.values()
        latest = max(append for _, append in newest)
        active = [moment for moment, append in newest if latest - append <= self.idle_ms]
        self._mark = max(self._mark, min(active))

    def late(self, values: Iterable[Mapping[str, Any]]) -> None:
        """Take the copies the agent routed to ``<input>.late`` off their pairs."""
        size = self.size_ms
        for value in values:
            pair = self._pair(value, self.event_time)
            if pair is None:
                continue
            name, moment = pair
            live = self._window(moment - moment % size)
            if live is not None:
                hashed = id_hash(name)
                live.counts[hashed] = live.counts.get(hashed, 0) - 1
                live.late += 1

    def emit(self, values: Iterable[Mapping[str, Any]]) -> None:
        """Mark the pairs of the output's final records emitted (other records are ignored)."""
        for value in values:
            if value.get("final") is not True:
                continue
            pair = self._pair(value, "window_start")
            if pair is None:
                continue
            name, start = pair
            live = self._window(start)
            if live is not None:
                hashed = id_hash(name)
                live.emitted.add(hashed)
                live.names.pop(hashed, None)

    def _settle(self, now_ms: int) -> None:
        """Mark due the windows the inputs passed; fold those that left the sliding window."""
        passed = self._mark - self.size_ms - self.lateness_ms  # windows starting by it
        for start, live in self._live.items():
            if live.due_ms is None and start <= passed:
                live.due_ms = now_ms + self.grace_ms
        due = [live.due_ms for live in self._live.values() if live.due_ms is not None]
        latest = max((ms for ms in due if ms <= now_ms), default=None)
        for start in sorted(self._live):
            live = self._live[start]
            if live.due_ms is None or live.due_ms > now_ms - self.window_ms:
                continue
            if live.due_ms == latest:
                continue  # the latest due windows are kept to judge by (module docstring)
            self._fold(start, self._live.pop(start))
            self.horizon = max(self.horizon, start)
        oldest = (now_ms // HOUR_MS - self.hours_kept) * HOUR_MS
        for hour in [hour for hour in self._hours if hour < oldest]:
            del self._hours[hour]

    def _fold(self, start: int, live: Live) -> None:
        assert live.due_ms is not None
        hour = live.due_ms // HOUR_MS * HOUR_MS
        counts = self._hours.setdefault(hour, [0, 0, 0, 0, [], []])
        found = summed([(start, live)])
        counts[0] += found.expected
        counts[1] += found.emitted
        counts[2] += found.windows
        counts[3] += found.late
        counts[4] = sorted({*counts[4], start}, reverse=True)[:MAX_EXAMPLES]
        missing = [[m.key, m.key_hash, m.window_start_ms] for m in found.missing]
        counts[5] = (counts[5] + missing)[:MAX_EXAMPLES]

    def summary(self, now_ms: int) -> Windows:
        """The windows due in the sliding window ending at ``now_ms`` (or the latest due)."""
        self._settle(now_ms)
        due = [(s, w) for s, w in self._live.items() if w.due_ms is not None and w.due_ms <= now_ms]
        recent = [
            (s, w) for s, w in due if w.due_ms is not None and w.due_ms > now_ms - self.window_ms
        ]
        if not recent and due:
            latest = max(w.due_ms or 0 for _, w in due)
            recent = [(s, w) for s, w in due if w.due_ms == latest]
        return summed(sorted(recent, key=lambda item: item[0]))

    def closed_hours(self, now_ms: int) -> dict[int, Windows]:
        """Per closed hour (start ms) in which windows became due, those windows."""
        self._settle(now_ms)
        current = now_ms // HOUR_MS * HOUR_MS
        found: dict[int, Windows] = {}
        for hour, (expected, emitted, windows, late, starts, missing) in self._hours.items():
            if hour < current:
                found[hour] = Windows(
                    expected=expected,
                    emitted=emitted,
                    windows=windows,
                    late=late,
                    window_starts=tuple(starts),
                    missing=tuple(
                        Missing(key=k, key_hash=h, window_start_ms=s) for k, h, s in missing
                    ),
                )
        by_hour: dict[int, list[tuple[int, Live]]] = {}
        for start, live in sorted(self._live.items()):
            if live.due_ms is not None and live.due_ms < current:
                by_hour.setdefault(live.due_ms // HOUR_MS * HOUR_MS, []).append((start, live))
        for hour, items in by_hour.items():
            found[hour] = merged(found.get(hour), summed(items))
        return dict(sorted(found.items()))

    def state(self) -> bytes:
        """A checkpoint: :meth:`restore` rebuilds exactly this state from it."""
        data = {
            "version": _VERSION,
            **self.settings,
            "mark": self._mark,
            "horizon": self.horizon,
            "dropped": self.dropped,
            "newest": sorted([t, p, e, a] for (t, p), (e, a) in self._newest.items()),
            "live": [[start, self._live[start].to_json()] for start in sorted(self._live)],
            "hour_counts": [[hour, self._hours[hour]] for hour in sorted(self._hours)],
        }
        return zlib.compress(orjson.dumps(data))

    @classmethod
    def restore(cls, data: bytes, **options: Any) -> WindowCompleteness:
        """The state a :meth:`state` checkpoint saved (``options`` as for the constructor).

        Raises:
            StateError: The checkpoint cannot be read or was taken with other settings.
        """
        found = cls(**options)
        where = f"the window checkpoint of {','.join(sorted(found.inputs))}"
        try:
            saved = orjson.loads(zlib.decompress(data))
        except (zlib.error, orjson.JSONDecodeError) as exc:
            raise StateError(
                f"{where} cannot be read ({exc}): discard it and measure afresh",
                product=None,
                key=None,
                window=None,
            ) from exc
        if not isinstance(saved, dict):
            saved = {}
        expected = {"version": _VERSION, **found.settings}
        differs = {k: saved.get(k) for k, v in expected.items() if saved.get(k) != v}
        if differs:
            raise StateError(
                f"{where} was taken with {differs}, not "
                f"{ {k: expected[k] for k in differs} }: measure afresh",
                product=None,
                key=None,
                window=None,
            )
        try:
            found._mark = int(saved["mark"])
            found.horizon = int(saved["horizon"])
            found.dropped = int(saved["dropped"])
            found._newest = {(str(t), int(p)): [int(e), int(a)] for t, p, e, a in saved["newest"]}
            found._live = {int(s): Live.from_json(live) for s, live in saved["live"]}
            found._hours = {int(hour): counts for hour, counts in saved["hour_counts"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(
                f"{where} is malformed ({type(exc).__name__}: {exc}): measure afresh",
                product=None,
                key=None,
                window=None,
            ) from exc
        return found
