"""Topic helpers shared by the registry, the catalog and dead letters.

Reading "everything that exists" stops at the end-of-partition event, never at ListOffsets: the
embedded broker answers ListOffsets wrongly after multi-record batches (BROKER.md), while the
end-of-partition offset comes from Fetch and is right on every broker.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message
from confluent_kafka import TopicPartition as _TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from streams.errors import BrokerUnavailableError

__all__ = ["COMPACTED", "create_topic", "read_to_end", "topic_names"]

# Set explicitly: the embedded broker only reports the configs given at creation.
COMPACTED = {"cleanup.policy": "compact", "retention.ms": "-1"}


def topic_names(admin: AdminClient, *, bootstrap: str, timeout_s: float = 30.0) -> set[str]:
    """The topics that exist, waiting up to ``timeout_s`` for Kafka to answer.

    Raises:
        BrokerUnavailableError: Kafka did not answer in time.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return set(admin.list_topics(timeout=min(5.0, timeout_s)).topics)
        except KafkaException as exc:
            if time.monotonic() > deadline:
                raise BrokerUnavailableError(
                    f"Kafka at {bootstrap} did not answer within {timeout_s:.0f}s: {exc}. "
                    "Start it (mesh up) or pass the right --bootstrap-servers.",
                    bootstrap_servers=bootstrap,
                ) from exc
            time.sleep(0.2)


def create_topic(
    admin: AdminClient,
    topic: str,
    *,
    partitions: int = 1,
    replication_factor: int = 1,
    config: Mapping[str, str] | None = None,
    timeout_s: float = 30.0,
) -> bool:
    """Create ``topic``; True if it was created, False if it already existed.

    Raises:
        KafkaException: Kafka refused for another reason (callers say what it means to them).
    """
    new = NewTopic(
        topic,
        num_partitions=partitions,
        replication_factor=replication_factor,
        config=dict(config or {}),
    )
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin.create_topics([new])[topic].result(timeout=timeout_s)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
            # Kafka also answers so for a topic still being deleted, which the metadata no
            # longer lists: it would be gone a moment later. Create it once it is gone.
            # (all topics: a metadata request naming one may create it where brokers auto-create)
            listed = admin.list_topics(timeout=timeout_s).topics.get(topic)
            if listed is not None and listed.error is None:
                return False
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
            continue
        return True


_READ_BATCH = 1000


def read_to_end(
    conf: Mapping[str, Any],
    topic: str,
    *,
    timeout_s: float = 30.0,
    until: Mapping[int, int] | None = None,
) -> Iterator[Message]:
    """Every record of every partition of ``topic`` from the beginning, up to its current end.

    Uses ``assign()`` (no group join). ``timeout_s`` is how long to wait without progress.
    ``until``: only these partitions, each up to (not including) its offset, or its end if
    sooner.

    Raises:
        BrokerUnavailableError: Kafka failed, or the end was not reached in time.
    """
    bootstrap = str(conf.get("bootstrap.servers", ""))
    consumer = Consumer(
        {
            **conf,
            "group.id": conf.get("group.id", "streams-read-to-end"),
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            # We read what exists; an empty fetch must not be held by the broker.
            "fetch.wait.max.ms": 10,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s)
        partitions = sorted(metadata.topics[topic].partitions)
        if until is not None:
            partitions = [p for p in partitions if until.get(p, 0) > 0]
        if not partitions:
            return
        consumer.assign([_TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        pending = set(partitions)
        deadline = time.monotonic() + timeout_s
        while pending:
            # Batches: a poll() per record made reading a 60,000-key _mesh.keys take seconds
            # (scripts/bench events, protection on).
            messages = consumer.consume(_READ_BATCH, 0.1)
            if not messages:
                if time.monotonic() > deadline:
                    raise BrokerUnavailableError(
                        f"reading {topic!r} did not reach its end in {timeout_s:.0f}s",
                        bootstrap_servers=bootstrap,
                    )
                continue
            deadline = time.monotonic() + timeout_s
            for message in messages:
                partition = message.partition() or 0
                if partition not in pending:
                    continue  # past the end it had when it was reached
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        pending.discard(partition)
                        continue
                    raise BrokerUnavailableError(
                        f"reading {topic!r} failed: {error.str()}", bootstrap_servers=bootstrap
                    )
                if until is not None:
                    offset = message.offset() or 0
                    if offset + 1 >= until[partition]:
                        pending.discard(partition)
                    if offset >= until[partition]:
                        continue
                yield message
    finally:
        consumer.close()
