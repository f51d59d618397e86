"""The engine's rules one at a time (the oracle test covers their combinations)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from streams.agents import engine
from streams.agents.definition import DerivedProduct, Hopping, InputPort, Session, Tumbling, Window
from streams.agents.engine import InputRecord, OutputRecord, Task, event_time_ms, output_key
from streams.agents.state import decode_checkpoint, encode_checkpoint
from streams.errors import ConfigError

HOUR = 3_600_000
TOPIC = "shop.clicks.v1"


class Count:
    def init(self) -> int:
        return 0

    def add(self, acc: int, event: Mapping[str, Any]) -> int:
        return acc + 1

    def result(self, acc: int, key: str, window: Window) -> dict[str, Any]:
        return {"count": acc, "final": None}


def product(**changes: Any) -> DerivedProduct:
    fields: dict[str, Any] = {
        "product": "shop.counts",
        "version": 2,
        "inputs": (InputPort("shop.clicks", 1),),
        "key": "key",
        "window": Tumbling(timedelta(hours=1)),
        "allowed_lateness": timedelta(minutes=10),
        "aggregation": Count(),
    }
    fields.update(changes)
    return DerivedProduct(**fields)


class Feed:
    def __init__(self, task: Task, topic: str = TOPIC) -> None:
        self.task, self.topic, self.offset = task, topic, 0

    def __call__(self, *events: tuple[str, int]) -> tuple[list[OutputRecord], list[int]]:
        batch = []
        for key, t in events:
            value = {"key": key, "event_time": t}
            batch.append(InputRecord(self.topic, 0, self.offset, 0, key.encode(), value))
            self.offset += 1
        step = self.task.process(batch)
        return step.updates, [int(r.value["event_time"]) for r in step.late]


def shown(updates: list[OutputRecord]) -> list[tuple[str, int, int, bool]]:
    return [(u.key, u.window.start_ms, u.value["count"], u.final) for u in updates]


def test_an_open_window_is_updated_once_per_batch_then_final_once() -> None:
    feed = Feed(Task(product(), partition=0))
    updates, late = feed(("a", 10), ("a", 20), ("b", HOUR - 1))
    assert shown(updates) == [("a", 0, 2, False), ("b", 0, 1, False)]
    assert late == []
    # The watermark reaches the end of hour 0 plus 10 minutes: both windows close.
    updates, late = feed(("a", HOUR + 10 * 60_000))
    assert shown(updates) == [("a", HOUR, 1, False), ("a", 0, 2, True), ("b", 0, 1, True)]
    assert all(u.value["final"] is u.final for u in updates)
    # A play of hour 0 now is late: returned, never counted, never re-emitted.
    updates, late = feed(("a", 30))
    assert updates == []
    assert late == [30]
    assert Task(product(), partition=0).counters == {
        "events": 0,
        "late": 0,
        "miskeyed": 0,
        "updates": 0,
        "finals": 0,
    }
    assert feed.task.counters["late"] == 1


def test_an_event_within_the_allowed_lateness_still_counts() -> None:
    feed = Feed(Task(product(), partition=0))
    feed(("a", 10), ("a", HOUR + 9 * 60_000))
    updates, late = feed(("a", 20))
    assert shown(updates) == [("a", 0, 2, False)]
    assert late == []


def test_a_window_that_closes_in_its_own_batch_is_emitted_only_as_final() -> None:
    feed = Feed(Task(product(), partition=0))
    updates, _ = feed(("a", 10), ("b", 2 * HOUR))
    assert shown(updates) == [("b", 2 * HOUR, 1, False), ("a", 0, 1, True)]


def test_hopping_windows_count_an_event_in_each_window_containing_it() -> None:
    task = Task(product(window=Hopping(timedelta(hours=1), timedelta(minutes=20))), partition=0)
    updates, _ = Feed(task)(("a", HOUR + 1))
    starts = sorted(u.window.start_ms for u in updates)
    assert starts == [HOUR - 40 * 60_000, HOUR - 20 * 60_000, HOUR]
    assert {u.window.end_ms - u.window.start_ms for u in updates} == {HOUR}


class Merging(Count):
    def merge(self, a: int, b: int) -> int:
        return a + b


def test_session_windows_merge_when_an_event_bridges_them() -> None:
    minute = 60_000
    task = Task(product(window=Session(timedelta(minutes=10)), aggregation=Merging()), partition=0)
    feed = Feed(task)
    updates, _ = feed(("a", 0), ("a", 15 * minute))
    assert [(u.window.start_ms, u.window.end_ms) for u in updates] == [
        (0, 10 * minute),
        (15 * minute, 25 * minute),
    ]
    updates, _ = feed(("a", 8 * minute))  # within 10 minutes of both: one session
    assert [(u.window.start_ms, u.window.end_ms, u.value["count"]) for u in updates] == [
        (0, 25 * minute, 3)
    ]
    assert task.open_windows == 1


def test_a_session_merged_into_an_earlier_one_is_retracted() -> None:
    minute = 60_000
    task = Task(product(window=Session(timedelta(minutes=10)), aggregation=Merging()), partition=0)
    feed = Feed(task)
    feed(("a", 0), ("a", 15 * minute))  # two sessions, both emitted
    batch = [InputRecord(TOPIC, 0, 2, 0, b"a", {"key": "a", "event_time": 8 * minute})]
    step = task.process(batch)
    # The session at 15 min is now part of the one at 0: its output key must be deleted.
    assert [(key, w.start_ms) for key, w in step.retracted] == [("a", 15 * minute)]
    assert [u.kafka_key for u in step.updates] == ["a@0"]
    assert task.process([]).retracted == []


def test_session_windows_need_merge() -> None:
    with pytest.raises(ConfigError, match="the aggregation Count has no merge"):
        Task(product(window=Session(timedelta(minutes=10))), partition=0)


def test_an_idle_partition_stops_holding_the_watermark_back() -> None:
    now = [0.0]
    definition = product(
        inputs=(InputPort("shop.clicks", 1), InputPort("shop.views", 1)),
        idle_timeout=timedelta(seconds=30),
    )
    task = Task(definition, partition=0, clock=lambda: now[0])
    feed = Feed(task)
    updates, _ = feed(("a", 10), ("a", 3 * HOUR))
    assert [u.final for u in updates] == [False, False]  # shop.views.v1 has said nothing
    now[0] = 29.0
    assert task.flush_idle().updates == []
    now[0] = 30.0
    assert shown(task.flush_idle().updates) == [("a", 0, 1, True)]
    assert task.watermark == 3 * HOUR


def test_an_idle_task_follows_the_watermark_of_the_others() -> None:
    # One input, so a task is one partition: when it falls silent, its last windows close only
    # by following the other tasks' watermark (as Flink's idle sources do).
    now = [0.0]
    definition = product(idle_timeout=timedelta(seconds=30))
    quiet = Task(definition, partition=0, clock=lambda: now[0])
    feed = Feed(quiet)
    updates, _ = feed(("a", 10))
    assert [u.final for u in updates] == [False]
    assert quiet.follow(5 * HOUR).updates == []  # not idle yet: its own events decide
    assert quiet.watermark == 10
    now[0] = 30.0
    assert shown(quiet.follow(5 * HOUR).updates) == [("a", 0, 1, True)]
    assert quiet.watermark == 5 * HOUR
    assert quiet.follow(4 * HOUR).updates == []
    assert quiet.watermark == 5 * HOUR
    # An event that arrives later than the followed watermark allows is late, as any other.
    updates, late = feed(("a", 20))
    assert (updates, late) == ([], [20])


def test_a_task_that_never_saw_a_record_does_not_follow() -> None:
    # Its first records may be old (a backlog): they must not be late because of others.
    now = [100.0]
    task = Task(product(idle_timeout=timedelta(seconds=30)), partition=0, clock=lambda: now[0])
    assert task.follow(5 * HOUR).updates == []
    assert task.watermark < 0
    updates, late = Feed(task)(("a", 10))
    assert late == []
    assert len(updates) == 1


def test_a_restored_idle_task_follows_at_once() -> None:
    now = [0.0]
    definition = product(idle_timeout=timedelta(seconds=30))
    task = Task(definition, partition=0, clock=lambda: now[0])
    Feed(task)(("a", 10))
    now[0] = 40.0
    checkpoint = task.snapshot()
    restored = Task(definition, partition=0, clock=lambda: now[0])
    restored.restore(checkpoint)
    assert not restored.active
    assert shown(restored.follow(2 * HOUR).updates) == [("a", 0, 1, True)]


def test_records_below_the_next_offset_are_skipped() -> None:
    task = Task(product(), partition=0)
    record = InputRecord(TOPIC, 0, 5, 0, b"a", {"key": "a", "event_time": 10})
    task.process([record])
    assert task.process([record]).updates == []
    assert task.snapshot().offsets == {(TOPIC, 0): 6}


def test_foreign_and_malformed_records_are_refused_by_name() -> None:
    task = Task(product(), partition=1)
    with pytest.raises(ConfigError, match=r"record from shop\.clicks\.v1\[0\]@0 is not one of"):
        task.process([InputRecord(TOPIC, 0, 0, 0, b"a", {"key": "a", "event_time": 1})])
    with pytest.raises(ConfigError, match=r"@3 has no usable key field 'key' or event-time"):
        task.process([InputRecord(TOPIC, 1, 3, 0, None, {"event_time": 1})])
    other = Task(product(version=3), partition=1)
    with pytest.raises(ConfigError, match=r"checkpoint is of shop\.counts\.v2 task 1"):
        other.restore(task.snapshot())


def test_event_times_may_be_decoded_as_datetimes() -> None:
    at = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    assert event_time_ms(at) == int(at.timestamp() * 1000)
    with pytest.raises(TypeError, match="naive datetime"):
        event_time_ms(datetime(2026, 1, 1))
    task = Task(product(), partition=0)
    step = task.process([InputRecord(TOPIC, 0, 0, 0, b"a", {"key": "a", "event_time": at})])
    assert step.updates[0].window.start_ms == event_time_ms(at) - 30 * 60_000


def test_the_output_key_names_key_and_window_start() -> None:
    assert output_key("u1", Window(3_600_000, 7_200_000)) == "u1@3600000"
    record = OutputRecord("u1", Window(0, 1), {}, final=False)
    assert record.kafka_key == "u1@0"


def test_records_not_keyed_by_the_key_field_are_returned_not_counted() -> None:
    # A null or different Kafka key means the key's events may sit on other partitions too: each
    # task would count a part of them under the same output key. Such records are set aside.
    task = Task(product(), partition=0)

    def record(offset: int, kafka_key: bytes | None, key: Any, t: int) -> InputRecord:
        return InputRecord(TOPIC, 0, offset, 0, kafka_key, {"key": key, "event_time": t})

    null = record(1, None, "a", 10 * HOUR)  # far ahead: must not move the watermark
    other = record(2, b"b", "a", 20)
    step = task.process(
        [record(0, b"a", "a", 10), null, other, record(3, b"7", 7, 30), record(4, b"a", "a", 40)]
    )
    assert step.miskeyed == [null, other]
    assert shown(step.updates) == [("a", 0, 2, False), ("7", 0, 1, False)]
    assert task.watermark == 40
    assert task.counters["events"] == 3
    assert task.counters["miskeyed"] == 2
    assert task.snapshot().offsets == {(TOPIC, 0): 5}  # read past them: dead letters now
    assert task.process([other]).miskeyed == []  # a re-delivery is skipped like any other


class Plays:
    """An accumulator that is a container, so a snapshot's copy of it is a new object."""

    def init(self) -> list[int]:
        return []

    def add(self, acc: list[int], event: Mapping[str, Any]) -> list[int]:
        acc.append(int(event["event_time"]))
        return acc

    def result(self, acc: list[int], key: str, window: Window) -> dict[str, Any]:
        return {"count": len(acc), "final": None}


def test_a_snapshot_copies_only_the_windows_changed_since_the_last_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    definition = product(aggregation=Plays())
    task = Task(definition, partition=0, clock=lambda: 0.0)
    feed = Feed(task)
    feed(("a", 10), ("b", 20))
    first = {w.key: w.acc for w in task.snapshot().windows}
    copied: list[Any] = []
    real_dump = engine.dump

    def counting_dump(value: Any, **where: Any) -> Any:
        copied.append(where["key"])
        return real_dump(value, **where)

    monkeypatch.setattr(engine, "dump", counting_dump)
    feed(("a", 30))
    second = {w.key: w.acc for w in task.snapshot().windows}
    assert copied == ["a"]  # b did not change: its copy is reused
    assert second == {"a": [10, 30], "b": [20]}
    assert second["b"] is first["b"]
    assert first["a"] == [10]  # the earlier snapshot is not changed by the later one
    task.snapshot()
    assert copied == ["a"]  # nothing changed since: nothing copied

    # A restart restores the reused window as well as the changed one.
    data = encode_checkpoint(task.snapshot())
    restored = Task(definition, partition=0, clock=lambda: 0.0)
    restored.restore(decode_checkpoint(data, source="test"))
    again = Feed(restored)
    again.offset = feed.offset
    updates, _ = again(("b", 40), ("a", 50))
    assert shown(updates) == [("b", 0, 2, False), ("a", 0, 3, False)]


def test_a_closed_window_leaves_the_next_snapshot() -> None:
    definition = product(aggregation=Plays())
    task = Task(definition, partition=0, clock=lambda: 0.0)
    feed = Feed(task)
    feed(("a", 10))
    assert [w.acc for w in task.snapshot().windows] == [[10]]
    feed(("b", 2 * HOUR))  # the watermark passes a's window (1 h + 10 min lateness)
    assert [(w.key, w.acc) for w in task.snapshot().windows] == [("b", [2 * HOUR])]


def test_a_failed_batch_makes_the_next_snapshot_copy_every_window() -> None:
    definition = product(aggregation=Plays())
    task = Task(definition, partition=0, clock=lambda: 0.0)
    feed = Feed(task)
    feed(("a", 10))
    task.snapshot()
    good = InputRecord(TOPIC, 0, feed.offset, 0, b"a", {"key": "a", "event_time": 20})
    with pytest.raises(ConfigError):
        task.process([good, InputRecord(TOPIC, 0, feed.offset + 1, 0, b"a", {"key": "a"})])
    assert [w.acc for w in task.snapshot().windows] == [[10, 20]]
