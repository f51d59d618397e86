"""The engine against an independent, obviously-correct computation (hypothesis).

The oracle walks the input one event at a time in arrival order, keeping per input partition
the highest event time and the wall-clock time of its last event, and decides each event's
fate from the watermark at its arrival: counted in every window containing it that is still
open (``end + lateness > watermark``), late when there is none. It then buckets the counted
events per key and window and aggregates each bucket from scratch. Nothing of the engine's
data structures (heaps, slots, incremental watermark) is reused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.agents.definition import DerivedProduct, Hopping, InputPort, Session, Tumbling, Window
from streams.agents.engine import InputRecord, OutputRecord, Task
from streams.agents.engine import Step as EngineStep
from streams.agents.state import decode_checkpoint, encode_checkpoint

HOUR = 3_600_000
MINUTE = 60_000
IDLE = 10.0  # seconds of the injected clock
BASE = 1_780_000_000_000 - 1_780_000_000_000 % HOUR - 30 * MINUTE  # half past an hour
INPUTS = ("shop.clicks", "shop.views")
TOPICS = tuple(f"{name}.v1" for name in INPUTS)
TASK = 3


class Collect:
    """Count, sum and the ids counted: order-independent, so arrival order cannot matter."""

    def init(self) -> list[Any]:
        return [0, 0, []]

    def add(self, acc: list[Any], event: Mapping[str, Any]) -> list[Any]:
        acc[0] += 1
        acc[1] += event["n"]
        acc[2].append(event["id"])
        return acc

    def merge(self, a: list[Any], b: list[Any]) -> list[Any]:
        return [a[0] + b[0], a[1] + b[1], a[2] + b[2]]

    def result(self, acc: list[Any], key: str, window: Window) -> dict[str, Any]:
        return {"key": key, "count": acc[0], "total": acc[1], "ids": sorted(acc[2])}


def expected_value(key: str, events: Sequence[Event]) -> dict[str, Any]:
    return {
        "key": key,
        "count": len(events),
        "total": sum(e.n for e in events),
        "ids": sorted(e.id for e in events),
    }


@dataclass(frozen=True)
class Event:
    input: int
    key: str
    t: int
    n: int
    id: int


@dataclass(frozen=True)
class Tick:
    seconds: float


Step = Event | Tick


def definition(window: Tumbling | Hopping | Session, lateness_ms: int) -> DerivedProduct:
    return DerivedProduct(
        product="shop.sessions",
        version=1,
        inputs=tuple(InputPort(name, 1) for name in INPUTS),
        key="key",
        window=window,
        allowed_lateness=timedelta(milliseconds=lateness_ms),
        idle_timeout=timedelta(seconds=IDLE),
        aggregation=Collect(),
        event_time="at",
    )


# -- the oracle ----------------------------------------------------------------------------


def windows_containing(t: int, size: int, advance: int) -> list[tuple[int, int]]:
    """Every [start, start + size) with start a multiple of advance that contains t."""
    first = (t - size) // advance * advance
    return [
        (start, start + size) for start in range(first, t + 1, advance) if start <= t < start + size
    ]


@dataclass
class Oracle:
    finals: dict[tuple[str, int], dict[str, Any]]
    open: dict[tuple[str, int], dict[str, Any]]
    late: list[int]


def oracle(script: Sequence[Step], size: int, advance: int, lateness: int) -> Oracle:
    now = 0.0
    marks: dict[int, float] = {0: -math.inf, 1: -math.inf}
    seen = {0: 0.0, 1: 0.0}
    watermark = -math.inf

    def candidate() -> float:
        active = [i for i in marks if now - seen[i] < IDLE]
        return min(marks[i] for i in active) if active else max(marks.values())

    counted: dict[tuple[str, int, int], list[Event]] = {}
    late: list[int] = []
    for step in script:
        watermark = max(watermark, candidate())
        if isinstance(step, Tick):
            now += step.seconds
            watermark = max(watermark, candidate())
            continue
        open_windows = [
            w for w in windows_containing(step.t, size, advance) if w[1] + lateness > watermark
        ]
        if not open_windows:
            late.append(step.id)
        for start, end in open_windows:
            counted.setdefault((step.key, start, end), []).append(step)
        seen[step.input] = now
        marks[step.input] = max(marks[step.input], step.t)
    watermark = max(watermark, candidate())
    result = Oracle({}, {}, late)
    for (key, start, end), events in counted.items():
        events = sorted(events, key=lambda e: e.t)  # bucketed per key, in event-time order
        target = result.finals if end + lateness <= watermark else result.open
        target[(key, start)] = expected_value(key, events) | {"end": end}
    return result


# -- driving the engine ----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Run:
    finals: dict[tuple[str, int], dict[str, Any]]
    last: dict[tuple[str, int], dict[str, Any]]
    late: list[int]
    open_windows: int


def run(
    product: DerivedProduct,
    script: Sequence[Step],
    cuts: set[int],
    *,
    restore_at: int | None = None,
    redeliver: bool = False,
) -> Run:
    """Feed ``script`` in batches cut before the indexes in ``cuts`` (and at every tick)."""
    clock = Clock()
    task = Task(product, partition=TASK, clock=clock)
    offsets = [0, 0]
    outputs: list[OutputRecord | tuple[str, int]] = []  # updates, and retracted (key, start)
    late: list[int] = []

    def take(step: EngineStep) -> None:
        outputs.extend((key, window.start_ms) for key, window in step.retracted)
        outputs.extend(step.updates)

    batch: list[InputRecord] = []
    previous: list[InputRecord] = []

    def flush() -> None:
        nonlocal batch, previous
        if batch:
            step = task.process(batch)
            take(step)
            late.extend(int(r.value["id"]) for r in step.late)
            previous, batch = batch, []

    for index, step in enumerate(script):
        if index in cuts:
            flush()
        if index == restore_at:
            flush()
            data = encode_checkpoint(task.snapshot())
            task = Task(product, partition=TASK, clock=clock)
            task.restore(decode_checkpoint(data, source="test"))
            if redeliver:  # what a worker re-reads after a crash: already counted, skipped
                take(task.process(previous))
        if isinstance(step, Tick):
            flush()
            clock.now += step.seconds
            take(task.flush_idle())
            continue
        value = {"key": step.key, "at": step.t, "n": step.n, "id": step.id}
        topic = TOPICS[step.input]
        batch.append(InputRecord(topic, TASK, offsets[step.input], 0, step.key.encode(), value))
        offsets[step.input] += 1
    flush()
    take(task.flush_idle())
    finals: dict[tuple[str, int], dict[str, Any]] = {}
    last: dict[tuple[str, int], dict[str, Any]] = {}
    for record in outputs:
        if isinstance(record, tuple):  # a tombstone: the compacted topic forgets the key
            assert record not in finals, f"{record} retracted after its final record"
            last.pop(record, None)
            continue
        name = (record.key, record.window.start_ms)
        value = record.value | {"end": record.window.end_ms}
        assert name not in finals, f"{name} updated after its final record"
        if record.final:
            finals[name] = value
        last[name] = value
    return Run(finals, last, late, task.open_windows)


# -- strategies ----------------------------------------------------------------------------

FIXED = st.sampled_from(
    [
        (HOUR, HOUR),  # hourly tumbling
        (45 * MINUTE, 45 * MINUTE),  # tumbling windows that straddle hour boundaries
        (HOUR, 20 * MINUTE),  # hopping: every event in three windows
        (30 * MINUTE, 25 * MINUTE),  # hopping with gaps between windows' overlaps
    ]
)
LATENESS = st.sampled_from([0, 10 * MINUTE, HOUR])


@st.composite
def scripts(draw: st.DrawFn, *, max_events: int = 60) -> list[Step]:
    """Out-of-order events on two input partitions (one possibly silent) and clock ticks."""
    silent = draw(st.sampled_from([None, 0, 1]))
    steps: list[Step] = []
    count = draw(st.integers(0, max_events))
    for id_ in range(count):
        if draw(st.integers(0, 9)) == 0:
            steps.append(Tick(draw(st.sampled_from([IDLE / 2, IDLE * 1.5]))))
        inputs = [i for i in (0, 1) if i != silent]
        steps.append(
            Event(
                input=draw(st.sampled_from(inputs)),
                key=draw(st.sampled_from(["k0", "k1", "k2"])),
                # Whole minutes half the time, so events land exactly on window bounds.
                t=BASE
                + draw(st.integers(0, 5 * 60)) * MINUTE
                + draw(st.sampled_from([0, 1]) | st.integers(0, 59_999)),
                n=draw(st.integers(0, 100)),
                id=id_,
            )
        )
    return steps


def cut_points(script: Sequence[Step]) -> st.SearchStrategy[set[int]]:
    return st.sets(st.integers(0, max(len(script) - 1, 0)))


# -- properties ----------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(data=st.data(), fixed=FIXED, lateness=LATENESS)
def test_fixed_windows_match_the_oracle(
    data: st.DataObject, fixed: tuple[int, int], lateness: int
) -> None:
    size, advance = fixed
    window = (
        Tumbling(timedelta(milliseconds=size))
        if size == advance
        else Hopping(timedelta(milliseconds=size), timedelta(milliseconds=advance))
    )
    product = definition(window, lateness)
    script = data.draw(scripts())
    expected = oracle(script, size, advance, lateness)
    got = run(product, script, data.draw(cut_points(script)))
    assert got.late == expected.late
    assert got.finals == expected.finals
    assert {name: got.last[name] for name in expected.open} == expected.open
    assert got.open_windows == len(expected.open)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), fixed=FIXED, lateness=LATENESS)
def test_any_batch_split_and_a_restore_give_the_same_result(
    data: st.DataObject, fixed: tuple[int, int], lateness: int
) -> None:
    size, advance = fixed
    window = (
        Tumbling(timedelta(milliseconds=size))
        if size == advance
        else Hopping(timedelta(milliseconds=size), timedelta(milliseconds=advance))
    )
    product = definition(window, lateness)
    script = data.draw(scripts())
    whole = run(product, script, set())
    one_by_one = run(product, script, set(range(len(script))))
    restore_at = data.draw(st.integers(0, len(script)))
    restored = run(
        product,
        script,
        data.draw(cut_points(script)),
        restore_at=restore_at,
        redeliver=data.draw(st.booleans()),
    )
    for other in (one_by_one, restored):
        assert other.finals == whole.finals
        assert other.late == whole.late
        assert other.open_windows == whole.open_windows
        assert {n: other.last[n] for n in whole.last if n not in whole.finals} == {
            n: v for n, v in whole.last.items() if n not in whole.finals
        }


def sessions_oracle(script: Sequence[Step], gap: int) -> dict[tuple[str, int], dict[str, Any]]:
    """Per key, events in event-time order, a new session where the gap reaches ``gap``."""
    by_key: dict[str, list[Event]] = {}
    for step in script:
        if isinstance(step, Event):
            by_key.setdefault(step.key, []).append(step)
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for key, events in by_key.items():
        events.sort(key=lambda e: e.t)
        group = [events[0]]
        for event in events[1:]:
            if event.t - group[-1].t >= gap:
                found[(key, group[0].t)] = expected_value(key, group) | {"end": group[-1].t + gap}
                group = []
            group.append(event)
        end = max(g.t for g in group) + gap
        found[(key, group[0].t)] = expected_value(key, group) | {"end": end}
    return found


@settings(max_examples=100, deadline=None)
@given(data=st.data(), gap_minutes=st.sampled_from([5, 20, 45]))
def test_session_windows_merge_like_the_oracle(data: st.DataObject, gap_minutes: int) -> None:
    gap = gap_minutes * MINUTE
    # A day of lateness: nothing is late, so sessions are what the gaps make them; a last
    # event far in the future on both inputs then closes every session.
    product = definition(Session(timedelta(milliseconds=gap)), 24 * HOUR)
    events = [s for s in data.draw(scripts()) if isinstance(s, Event)]
    far = BASE + 30 * 24 * HOUR
    script: list[Step] = [
        *events,
        Event(0, "sentinel", far, 0, 10_000),
        Event(1, "sentinel", far, 0, 10_001),
    ]
    restore_at = data.draw(st.none() | st.integers(0, len(script)))
    got = run(product, script, data.draw(cut_points(script)), restore_at=restore_at)
    expected = sessions_oracle(events, gap) if events else {}
    assert got.finals == expected
    # The compacted topic holds the real sessions only: merged-away ones were deleted.
    assert {name: v for name, v in got.last.items() if name[0] != "sentinel"} == expected
    assert got.late == []
