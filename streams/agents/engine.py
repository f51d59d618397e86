"""The windowing engine: one task's event-time windows, watermark and state, with no Kafka.

A :class:`Task` is one input partition number across all inputs of a derived product (inputs
are co-partitioned by the key). Drivers (live faust agents, replays) decode records and feed
them in batches to :meth:`Task.process`; both drive this same code, so they cannot disagree.

Event time and the watermark:

- each record's event time is its value's ``event_time`` field (``timestamp-millis``);
- each input partition's watermark is the highest event time it has delivered;
- the task's watermark is the minimum over its input partitions, leaving out partitions
  that delivered nothing for ``idle_timeout`` of wall-clock time (the injected ``clock``); when
  every partition is idle, it is the maximum. It never decreases, and it is recomputed after
  every record, so lateness does not depend on where batches are cut;
- a task whose every partition is idle (and that has a watermark of its own) follows the others:
  the driver passes it the lowest watermark of the tasks that are still active
  (:meth:`Task.follow`), so the windows of a partition that stopped receiving events still
  become final (Flink's idle sources); its events that arrive later are late as any other;
- a window is final when ``end + allowed_lateness <= watermark``: it is emitted once with
  ``final=True`` and dropped from the state;
- an event is late when all its windows are final when it arrives (checked before its own
  time raises the watermark): it is returned in :attr:`Step.late`, never counted. (A hopping
  window event counts in those of its windows that are still open, as in Flink.)

Keys: the inputs are co-partitioned by the key, so a task sees every event of its keys only if
each record's Kafka key is its key field's value (as a UTF-8 string). A record with another
Kafka key (or none) may have siblings on other partitions, and counting it would emit a partial
aggregate under the same output key: it is returned in :attr:`Step.miskeyed` instead (the drivers
dead-letter it), never counted, and it does not move the watermark.

An aggregation's result with a ``final`` field gets it set to whether the record is final.
Per batch, each window the batch touched is emitted once with its current aggregate
(``final=False``), unless it closed in the same batch (then only its final record). Records
at offsets below the task's next offset (re-deliveries after a restore) are skipped.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from streams.agents.definition import DerivedProduct, Hopping, Session, Tumbling, Window
from streams.agents.records import InputRecord, OutputRecord, Step, event_time_ms, output_key
from streams.agents.state import Checkpoint, WindowState, dump, load
from streams.errors import ConfigError

__all__ = ["InputRecord", "OutputRecord", "Step", "Task", "event_time_ms", "output_key"]

_NO_MARK = -(2**63)
_UNSET: Any = object()
_MS = timedelta(milliseconds=1)

Partition = tuple[str, int]
_Slot = list[Any]  # [end_ms, acc, key, start_ms]: a list, as the hot loop updates acc in place


class Task:
    """The windows, watermark and offsets of one task of a derived product.

    Args:
        definition: The derived product.
        partition: The task number: the input partition number it owns on every input.
        clock: Wall-clock seconds, for the idle timeout (``time.monotonic`` by default).
        topics: The input topics (default: the definition's inputs' topics).
    """

    def __init__(
        self,
        definition: DerivedProduct,
        *,
        partition: int,
        clock: Callable[[], float] = time.monotonic,
        topics: Sequence[str] | None = None,
    ) -> None:
        window = definition.window
        if isinstance(window, Session) and not definition.merges:
            raise ConfigError(
                f"{definition.product}: session windows merge, but the aggregation "
                f"{type(definition.aggregation).__name__} has no merge(a, b) method; add one"
            )
        self.definition = definition
        self.partition = partition
        self.product = definition.ref.topic
        self._clock = clock
        self._agg = definition.aggregation
        self._key_field = definition.key
        self._time_field = definition.event_time
        self._lateness = definition.lateness_ms
        self._idle = definition.idle_timeout_s
        self._size = 0
        self._advance = 0
        self._gap = 0
        if isinstance(window, Tumbling):
            self._size = self._advance = window.size // _MS
        elif isinstance(window, Hopping):
            self._size, self._advance = window.size // _MS, window.advance // _MS
        else:
            self._gap = window.gap // _MS
        names = topics if topics is not None else [p.ref.topic for p in definition.inputs]
        self._parts: tuple[Partition, ...] = tuple((topic, partition) for topic in names)
        self._reset(self._clock())

    def _reset(self, now: float) -> None:
        self._offsets: dict[Partition, int] = dict.fromkeys(self._parts, 0)
        self._marks: dict[Partition, int] = dict.fromkeys(self._parts, _NO_MARK)
        self._seen: dict[Partition, float] = dict.fromkeys(self._parts, now)
        self._active: set[Partition] = set(self._parts)
        self._watermark = _NO_MARK
        self._open: dict[tuple[str, int], _Slot] = {}
        self._sessions: dict[str, list[_Slot]] = {}
        self._retracted: list[tuple[str, Window]] = []
        self._by_end: dict[int, list[tuple[str, int]]] = {}
        self._ends: list[int] = []
        self._counters = {"events": 0, "late": 0, "miskeyed": 0, "updates": 0, "finals": 0}
        # The checkpoint copy (dump) of each window unchanged since the last snapshot: every
        # place that changes a window's accumulator or removes it drops its entry (_emit,
        # _open_window, _advance_to, _add_session), so a snapshot copies only changed windows.
        self._dumped: dict[tuple[str, int], Any] = {}

    @property
    def watermark(self) -> int:
        """The task's watermark in epoch milliseconds (very negative before any record)."""
        return self._watermark

    @property
    def active(self) -> bool:
        """Whether an input partition delivered records within ``idle_timeout`` (as of the last
        :meth:`process`, :meth:`flush_idle` or :meth:`follow`)."""
        return bool(self._active)

    @property
    def open_windows(self) -> int:
        """How many windows are open."""
        return len(self._open)

    @property
    def counters(self) -> dict[str, int]:
        """Events, late events, miskeyed records, updates and finals so far (a copy)."""
        return dict(self._counters)

    # The hot loop. Measured with `scripts/bench agents`: locals instead of attributes and the
    # tumbling case inlined keep the engine's share of a replay small.
    def process(self, batch: Sequence[InputRecord]) -> Step:
        """Count a batch of records (in per-partition offset order); return what changed."""
        finals: list[OutputRecord] = []
        touched: dict[tuple[str, int], _Slot] = {}
        late: list[InputRecord] = []
        miskeyed: list[InputRecord] = []
        now = self._clock()
        self._refresh(now, finals, touched)
        offsets, marks, seen, active = self._offsets, self._marks, self._seen, self._active
        open_, agg_add, agg_init = self._open, self._agg.add, self._agg.init
        key_field, time_field = self._key_field, self._time_field
        size, advance, lateness = self._size, self._advance, self._lateness
        tumbling = size == advance and size > 0
        counted = 0
        wm = self._watermark
        # The current input partition's bookkeeping lives in locals while its records run.
        part: Partition | None = None
        topic, number, next_offset, mark = "", -1, 0, _NO_MARK
        try:
            for record in batch:
                if record.partition != number or record.topic != topic:
                    if part is not None:
                        offsets[part] = next_offset
                        part = None
                    topic, number = record.topic, record.partition
                    if (topic, number) not in offsets:
                        raise self._foreign(record)
                    part = (topic, number)
                    next_offset, mark = offsets[part], marks[part]
                    seen[part] = now
                    if part not in active:
                        # Waking up can only lower the minimum: the watermark stays.
                        active.add(part)
                offset = record.offset
                if offset < next_offset:
                    continue  # already counted: a re-delivery after a restore
                value = record.value
                try:
                    t = value[time_field]
                    if type(t) is not int:
                        t = event_time_ms(t)
                    key = value[key_field]
                except (KeyError, TypeError) as exc:
                    raise self._bad(record, exc) from exc
                if type(key) is not str:
                    key = str(key)
                if record.key != key.encode():
                    # Not partitioned by the key: counting it would make a partial aggregate.
                    miskeyed.append(record)
                    next_offset = offset + 1
                    continue
                accepted = False
                if tumbling:
                    start = t - t % size
                    if start + size + lateness > wm:
                        slot = open_.get((key, start))
                        if slot is None:
                            slot = self._open_window(key, start, start + size, agg_init())
                        slot[1] = agg_add(slot[1], value)
                        touched[(key, start)] = slot
                        accepted = True
                elif size:
                    start = t - t % advance
                    while start + size > t:
                        if start + size + lateness > wm:
                            slot = open_.get((key, start))
                            if slot is None:
                                slot = self._open_window(key, start, start + size, agg_init())
                            slot[1] = agg_add(slot[1], value)
                            touched[(key, start)] = slot
                            accepted = True
                        start -= advance
                else:
                    accepted = self._add_session(key, t, value, touched)
                next_offset = offset + 1
                counted += 1
                if not accepted:
                    late.append(record)
                if t > mark:
                    # Only a partition at (or below) the watermark can be the minimum.
                    moves = mark <= wm
                    mark = marks[part] = t  # type: ignore[index]
                    if moves:
                        wm = self._advance_to(self._candidate(), finals, touched)
        except BaseException:
            self._dumped.clear()  # a window may have changed without being marked: copy all
            raise
        finally:
            if part is not None:
                offsets[part] = next_offset
        self._counters["events"] += counted
        self._counters["late"] += len(late)
        self._counters["miskeyed"] += len(miskeyed)
        return Step(self._emit(touched, finals), late, miskeyed, self._take_retracted())

    def flush_idle(self, now: float | None = None) -> Step:
        """Close the windows that only the idle rule lets the watermark pass.

        Call it when no records arrive for a while (live) or once the input is exhausted.
        """
        finals: list[OutputRecord] = []
        touched: dict[tuple[str, int], _Slot] = {}
        self._refresh(self._clock() if now is None else now, finals, touched)
        return Step(self._emit(touched, finals), [], [], self._take_retracted())

    def follow(self, watermark: int, now: float | None = None) -> Step:
        """Raise an idle task's watermark to ``watermark`` (the active tasks' lowest), closing
        what it passes.

        Nothing happens while one of its partitions is active, or before it has a watermark of
        its own (its first records may be a backlog, which must not be late because of others).
        """
        finals: list[OutputRecord] = []
        touched: dict[tuple[str, int], _Slot] = {}
        self._refresh(self._clock() if now is None else now, finals, touched)
        if not self._active and self._watermark != _NO_MARK:
            self._advance_to(watermark, finals, touched)
        return Step(self._emit(touched, finals), [], [], self._take_retracted())

    def snapshot(self) -> Checkpoint:
        """The whole state and the offsets it reflects (a deep copy).

        Only windows changed since the previous snapshot are copied again; the copies of the
        others are shared with it (they are never mutated). Measured with ``scripts/bench
        agents``: copying the state was the largest part of a checkpoint.
        """
        product, now, dumped = self.product, self._clock(), self._dumped
        windows = []
        for name, slot in self._open.items():
            acc = dumped.get(name, _UNSET)
            if acc is _UNSET:
                key, start = name
                acc = dumped[name] = dump(
                    slot[1], product=product, key=key, window=(start, slot[0])
                )
            windows.append(WindowState(name[0], name[1], slot[0], acc))
        return Checkpoint(
            product=product,
            task=self.partition,
            offsets={part: o for part, o in self._offsets.items() if o > 0},
            watermarks={p: m for p, m in self._marks.items() if m != _NO_MARK},
            watermark=self._watermark,
            windows=tuple(windows),
            counters=dict(self._counters),
            quiet={part: max(0.0, now - at) for part, at in self._seen.items()},
        )

    def restore(self, checkpoint: Checkpoint) -> None:
        """Continue from ``checkpoint``; idle timers continue from where the snapshot left them.

        Raises:
            ConfigError: The checkpoint belongs to another product, task or set of inputs.
        """
        where = f"{self.product} task {self.partition}"
        if checkpoint.product != self.product or checkpoint.task != self.partition:
            raise ConfigError(
                f"{where}: the checkpoint is of {checkpoint.product} task {checkpoint.task}; "
                "restore each task from its own checkpoint"
            )
        named = set(checkpoint.offsets) | set(checkpoint.watermarks) | set(checkpoint.quiet)
        foreign = sorted(named - set(self._parts))
        if foreign:
            raise ConfigError(
                f"{where}: the checkpoint reflects inputs {foreign} this task does not read; "
                "a changed set of inputs needs a new major version (replay into it)"
            )
        now = self._clock()
        self._reset(now)
        for part, quiet in checkpoint.quiet.items():
            self._seen[part] = now - quiet
        self._active = {part for part, at in self._seen.items() if now - at < self._idle}
        self._offsets.update(checkpoint.offsets)
        self._marks.update(checkpoint.watermarks)
        self._watermark = checkpoint.watermark
        for window in checkpoint.windows:
            self._open_window(window.key, window.start_ms, window.end_ms, load(window.acc))
        self._counters.update(checkpoint.counters)

    # -- internals -------------------------------------------------------------------------

    def _candidate(self) -> int:
        marks = self._marks
        if self._active:
            return min(marks[part] for part in self._active)
        return max(marks.values())

    def _refresh(
        self, now: float, finals: list[OutputRecord], touched: dict[tuple[str, int], _Slot]
    ) -> None:
        idle = self._idle
        self._active = {part for part, at in self._seen.items() if now - at < idle}
        self._advance_to(self._candidate(), finals, touched)

    def _advance_to(
        self, candidate: int, finals: list[OutputRecord], touched: dict[tuple[str, int], _Slot]
    ) -> int:
        """Raise the watermark to ``candidate`` (if higher), closing what it passes; return it."""
        if candidate <= self._watermark:
            return self._watermark
        self._watermark = candidate
        ends, horizon = self._ends, candidate - self._lateness
        if not ends or ends[0] > horizon:
            return candidate
        result, open_, sessions = self._agg.result, self._open, self._sessions
        while ends and ends[0] <= horizon:
            end = heapq.heappop(ends)
            for name in self._by_end.pop(end):
                slot = open_.get(name)
                if slot is None or slot[0] != end:
                    continue  # a session that merged or grew since
                del open_[name]
                touched.pop(name, None)
                self._dumped.pop(name, None)
                key, start = name
                if self._gap:
                    _drop(sessions, key, slot)
                window = Window(start, end)
                value = result(slot[1], key, window)
                if "final" in value:
                    value["final"] = True
                finals.append(OutputRecord(key, window, value, True))
        return candidate

    def _open_window(self, key: str, start: int, end: int, acc: Any) -> _Slot:
        slot: _Slot = [end, acc, key, start]
        self._open[(key, start)] = slot
        self._dumped.pop((key, start), None)
        self._index_end((key, start), end)
        if self._gap:
            self._sessions.setdefault(key, []).append(slot)
        return slot

    def _index_end(self, name: tuple[str, int], end: int) -> None:
        names = self._by_end.get(end)
        if names is None:
            self._by_end[end] = [name]
            heapq.heappush(self._ends, end)
        else:
            names.append(name)

    def _add_session(
        self, key: str, t: int, value: Mapping[str, Any], touched: dict[tuple[str, int], _Slot]
    ) -> bool:
        gap, open_ = self._gap, self._open
        start, end = t, t + gap
        overlapping = sorted(
            (s for s in self._sessions.get(key, ()) if s[3] < end and t < s[0]),
            key=lambda s: s[3],
        )
        for slot in overlapping:
            start, end = min(start, slot[3]), max(end, slot[0])
        if end + self._lateness <= self._watermark:
            return False
        agg = self._agg
        if not overlapping:
            slot = self._open_window(key, start, end, agg.init())
        elif len(overlapping) == 1 and overlapping[0][3] == start:
            slot = overlapping[0]
            if slot[0] != end:
                slot[0] = end
                self._index_end((key, start), end)
        else:
            acc = overlapping[0][1]
            for other in overlapping[1:]:
                acc = agg.merge(acc, other[1])  # type: ignore[attr-defined]
            for old in overlapping:
                name = (key, old[3])
                del open_[name]
                touched.pop(name, None)
                self._dumped.pop(name, None)
                _drop(self._sessions, key, old)
                if old[3] != start:  # its output key goes away with it
                    self._retracted.append((key, Window(old[3], old[0])))
            slot = self._open_window(key, start, end, acc)
        slot[1] = agg.add(slot[1], value)
        touched[(key, start)] = slot
        return True

    def _take_retracted(self) -> list[tuple[str, Window]]:
        retracted, self._retracted = self._retracted, []
        return retracted

    def _emit(
        self, touched: dict[tuple[str, int], _Slot], finals: list[OutputRecord]
    ) -> list[OutputRecord]:
        result, dumped = self._agg.result, self._dumped
        updates: list[OutputRecord] = []
        for (key, start), slot in touched.items():
            dumped.pop((key, start), None)  # changed: copied again at the next snapshot
            window = Window(start, slot[0])
            value = result(slot[1], key, window)
            if "final" in value:
                value["final"] = False
            updates.append(OutputRecord(key, window, value, False))
        updates += finals
        self._counters["updates"] += len(updates)
        self._counters["finals"] += len(finals)
        return updates

    def _foreign(self, record: InputRecord) -> ConfigError:
        return ConfigError(
            f"{self.product} task {self.partition}: record from {record.topic}[{record.partition}]"
            f"@{record.offset} is not one of its inputs {sorted(self._parts)}; a task reads one "
            "partition number of every input"
        )

    def _bad(self, record: InputRecord, exc: Exception) -> ConfigError:
        return ConfigError(
            f"{self.product}: record {record.topic}[{record.partition}]@{record.offset} has no "
            f"usable key field {self._key_field!r} or event-time field {self._time_field!r} "
            f"({type(exc).__name__}: {exc}); every input must carry both (mesh product lint)"
        )


def _drop(sessions: dict[str, list[_Slot]], key: str, slot: _Slot) -> None:
    """Remove ``slot`` (by identity: slots are lists, equal content is not the same window)."""
    left = [other for other in sessions[key] if other is not slot]
    if left:
        sessions[key] = left
    else:
        del sessions[key]
