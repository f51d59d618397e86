"""send_acked: every record acknowledged, or the count and the reasons of those that were not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from confluent_kafka import KafkaError, Producer

from streams.kafka.acked import send_acked

Callback = Callable[[KafkaError | None, Any], None]


class _Message:
    def __init__(self, topic: str) -> None:
        self._topic = topic

    def topic(self) -> str:
        return self._topic


class FakeProducer:
    """A producer whose queue holds ``room`` records and that refuses the topics in ``refuse``
    and never acknowledges those in ``stall``."""

    def __init__(self, *, room: int = 100, refuse: frozenset[str] = frozenset()) -> None:
        self.room, self.refuse = room, refuse
        self.stall: frozenset[str] = frozenset()
        self.queue: list[tuple[str, Callback]] = []
        self.sent: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.polls = 0

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        partition: int | None = None,
        *,
        on_delivery: Callback,
    ) -> None:
        if len(self.queue) >= self.room:
            raise BufferError("Local: Queue full")
        self.queue.append((topic, on_delivery))
        self.sent.append((topic, key, value, partition))

    def poll(self, _timeout: float) -> int:
        self.polls += 1
        return self._deliver()

    def flush(self, _timeout: float) -> int:
        self._deliver()
        return len(self.queue)

    def _deliver(self) -> int:
        done = [(t, cb) for t, cb in self.queue if t not in self.stall]
        self.queue = [(t, cb) for t, cb in self.queue if t in self.stall]
        for topic, callback in done:
            error = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE) if topic in self.refuse else None
            callback(error, _Message(topic))
        return len(done)


def _send(producer: FakeProducer, records: list[Any], **kwargs: Any) -> Any:
    return send_acked(cast(Producer, producer), records, **kwargs)


def test_all_acknowledged_is_falsy_and_keeps_the_partition() -> None:
    producer = FakeProducer()
    unacked = _send(producer, [("a", b"k", b"v"), ("a", b"k2", None)], timeout_s=1, partition=0)
    assert not unacked
    assert unacked.count == 0
    assert producer.sent == [("a", b"k", b"v", 0), ("a", b"k2", None, 0)]


def test_a_full_queue_is_waited_out_not_raised() -> None:
    producer = FakeProducer(room=1)
    unacked = _send(
        producer, [("a", None, b"1"), ("a", None, b"2"), ("a", None, b"3")], timeout_s=5
    )
    assert not unacked
    assert len(producer.sent) == 3
    assert producer.polls >= 2


def test_refused_records_are_counted_with_their_topic_and_error() -> None:
    producer = FakeProducer(refuse=frozenset({"big"}))
    unacked = _send(producer, [("ok", None, b"1"), ("big", None, b"2")], timeout_s=1)
    assert unacked.count == 1
    assert unacked.failures == [("big", KafkaError(KafkaError.MSG_SIZE_TOO_LARGE).str())]
    assert unacked.reason == unacked.failures[0][1]


def test_records_never_acknowledged_or_never_queued_count_as_unacked() -> None:
    producer = FakeProducer(room=1)
    producer.stall = frozenset({"slow"})
    unacked = _send(producer, [("slow", None, b"1"), ("slow", None, b"2")], timeout_s=0.2)
    assert unacked.count == 2  # one waiting for its ack, one that never got queue space
    assert unacked.reason == "not acknowledged within 0.2 s"


def test_a_record_may_name_its_own_partition() -> None:
    producer = FakeProducer()
    unacked = _send(producer, [("a", b"k", b"v", 3), ("a", b"k", b"w")], timeout_s=1, partition=0)
    assert not unacked
    assert producer.sent == [("a", b"k", b"v", 3), ("a", b"k", b"w", 0)]
