"""Writing a few records and waiting until Kafka acknowledged every one of them.

The platform's own records (catalog entries, monitor checkpoints, observations, alerts) are few
and must not be lost: a caller produces them, waits, and refuses to go on (e.g. commit past
them) unless each one was acknowledged. :func:`send_acked` is that loop once: a full local queue
is waited out rather than raised, and each record's delivery report is collected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Message, Producer

__all__ = ["Unacked", "send_acked"]

Outgoing = tuple[str, bytes | None, bytes | None] | tuple[str, bytes | None, bytes | None, int]
"""A record to send: topic, key, value (None: a tombstone), and optionally its partition."""


@dataclass(frozen=True, slots=True)
class Unacked:
    """What Kafka did not acknowledge (falsy when everything was).

    Attributes:
        count: Records not acknowledged: refused ones and those still waiting at the timeout.
        failures: ``(topic, error)`` of each refused record.
        timeout_s: How long the sender waited.
    """

    count: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    timeout_s: float = 0.0

    def __bool__(self) -> bool:
        return self.count > 0

    @property
    def reason(self) -> str:
        """The first refusal's error, else that the acknowledgements did not come in time."""
        if self.failures:
            return self.failures[0][1]
        return f"not acknowledged within {self.timeout_s:g} s"


def send_acked(
    producer: Producer,
    records: Iterable[Outgoing],
    *,
    timeout_s: float,
    partition: int | None = None,
) -> Unacked:
    """Produce ``records`` and wait until Kafka acknowledged (or refused) each one.

    Args:
        producer: The producer (``acks=all`` and idempotence are the caller's choice).
        records: ``(topic, key, value)`` triples, or ``(topic, key, value, partition)``.
        timeout_s: How long to wait in all, for queue space and for acknowledgements.
        partition: The partition of the records that name none (None: the producer's
            partitioner).

    Returns:
        What was not acknowledged; falsy when everything was.
    """
    pending = list(records)
    deadline = time.monotonic() + timeout_s
    failures: list[tuple[str, str]] = []
    acknowledged = 0

    def delivered(err: KafkaError | None, message: Message) -> None:
        nonlocal acknowledged
        if err is None:
            acknowledged += 1
        else:
            failures.append((str(message.topic()), err.str()))

    for record in pending:
        if not _produce(producer, record, delivered, partition, deadline):
            break  # out of time with the rest unsent: they count as not acknowledged
    if pending:
        producer.flush(max(0.0, deadline - time.monotonic()))
    return Unacked(len(pending) - acknowledged, failures, timeout_s)


def _produce(
    producer: Producer,
    record: Outgoing,
    delivered: Callable[[KafkaError | None, Message], None],
    partition: int | None,
    deadline: float,
) -> bool:
    """Produce one record, waiting for queue space until ``deadline``; False if out of time."""
    topic, key, value = record[:3]
    if len(record) == 4:
        partition = record[3]
    while True:
        try:
            if partition is None:
                producer.produce(topic, value, key, on_delivery=delivered)
            else:
                producer.produce(topic, value, key, partition=partition, on_delivery=delivered)
            return True
        except BufferError:  # the local queue is full: let it drain
            if time.monotonic() >= deadline:
                return False
            producer.poll(0.05)
