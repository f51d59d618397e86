"""Checkpoints of a derived product's tasks in a compacted Kafka topic.

One record per task per batch: the task's whole state *and* the input offsets it reflects
(:class:`~streams.agents.state.Checkpoint`, encoded by :mod:`streams.agents.state`), so state
and position can never disagree. Task ``n`` writes to partition ``n`` of
``_mesh.agents.<domain>.<name>.v<N>.checkpoints`` with key ``n``; the last record of a
partition is the task's checkpoint.

A driver writes a checkpoint only after the batch's outputs are acknowledged (acks=all, flush).
A crash between the outputs and the checkpoint makes the restarted task read the batch again and
re-emit identical outputs; nothing is counted twice, because the restored state and the offsets
it resumes from come from the same record.

Reading stops at the end-of-partition event, never at ListOffsets, which the embedded broker
answers wrongly after multi-record batches (BROKER.md quirk 2). The embedded broker does not
compact either (quirk 6), so the reader keeps the last record itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable
from types import TracebackType
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message
from confluent_kafka import Producer as _KafkaProducer
from confluent_kafka import TopicPartition as _TopicPartition
from confluent_kafka.admin import AdminClient

from streams.agents.state import Checkpoint, decode_checkpoint, encode_checkpoint
from streams.config import Settings
from streams.errors import BrokerUnavailableError, ConfigError, DeliveryError
from streams.kafka.acked import Outgoing, send_acked
from streams.kafka.client import build_client
from streams.kafka.topics import COMPACTED, create_topic
from streams.naming import ProductRef, checkpoint_topic

__all__ = ["MAX_CHECKPOINT_BYTES", "CheckpointStore"]

logger = logging.getLogger(__name__)

MAX_CHECKPOINT_BYTES = 64 * 1024 * 1024
"""The largest checkpoint record (compressed); the topic is created to accept it."""


class CheckpointStore:
    """Reads and writes the checkpoints of one derived product's tasks.

    Args:
        ref: The derived product (its checkpoint topic is named after it).
        partitions: How many tasks it has (the input topics' partition count).
        settings: Where Kafka is.
    """

    def __init__(self, ref: ProductRef, *, partitions: int, settings: Settings) -> None:
        self.ref = ref
        self.topic = checkpoint_topic(ref)
        self.partitions = partitions
        self._settings = settings
        self._producer: _KafkaProducer | None = None

    # --- the topic ------------------------------------------------------------------------

    def ensure_topic(self, timeout_s: float = 30.0) -> None:
        """Create the compacted checkpoint topic, or check the existing one has a partition
        per task.

        Raises:
            ConfigError: The topic exists with fewer partitions than there are tasks.
            BrokerUnavailableError: Kafka did not answer.
        """
        kafka = self._settings.kafka
        admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
        config = {**COMPACTED, "max.message.bytes": str(MAX_CHECKPOINT_BYTES)}
        try:
            created = create_topic(
                admin, self.topic, partitions=self.partitions, config=config, timeout_s=timeout_s
            )
            if created:
                return
            found = admin.list_topics(self.topic, timeout=timeout_s).topics[self.topic]
        except KafkaException as exc:
            raise BrokerUnavailableError(
                f"Kafka at {kafka.bootstrap_servers} could not create or describe {self.topic}: "
                f"{exc.args[0].str()}; check that the broker runs (mesh up)",
                bootstrap_servers=kafka.bootstrap_servers,
            ) from exc
        if len(found.partitions) < self.partitions:
            raise ConfigError(
                f"checkpoint topic {self.topic} has {len(found.partitions)} partitions but "
                f"{self.ref.id} has {self.partitions} tasks (its inputs' partitions); delete "
                "the topic to recompute the product from its inputs' retained history"
            )

    # --- reading --------------------------------------------------------------------------

    def read(self, tasks: Collection[int], *, timeout_s: float = 30.0) -> dict[int, Checkpoint]:
        """The latest checkpoint of each of ``tasks`` that has one.

        Raises:
            BrokerUnavailableError: Kafka failed, or the end was not reached in time.
            StateError: A checkpoint record is corrupt or of an unknown format.
        """
        if not tasks:
            return {}
        latest: dict[int, Message] = {}
        for message in self._read_to_end(sorted(tasks), timeout_s):
            latest[int(message.partition() or 0)] = message
        found: dict[int, Checkpoint] = {}
        for task, message in latest.items():
            value = message.value()
            if value is None:  # a tombstone: the task's checkpoint was deleted
                continue
            source = f"{self.topic}[{task}]@{message.offset()}"
            checkpoint = decode_checkpoint(value, source=source)
            if checkpoint.task != task:
                logger.warning("%s holds a checkpoint of task %d; ignored", source, checkpoint.task)
                continue
            found[task] = checkpoint
        return found

    def _read_to_end(self, tasks: list[int], timeout_s: float) -> Iterable[Message]:
        bootstrap = self._settings.kafka.bootstrap_servers
        conf = self._settings.kafka.librdkafka(
            group_id=f"{self.topic}.reader",  # never joined: assign() only, no commits
            enable_auto_commit=False,
            enable_partition_eof=True,
            auto_offset_reset="earliest",
            fetch_wait_max_ms=10,
        )
        consumer = build_client(Consumer, conf, settings=self._settings.kafka)
        try:
            consumer.assign([_TopicPartition(self.topic, t, OFFSET_BEGINNING) for t in tasks])
            pending = set(tasks)
            deadline = time.monotonic() + timeout_s
            while pending:
                batch = consumer.consume(500, 0.1)
                if not batch and time.monotonic() > deadline:
                    raise BrokerUnavailableError(
                        f"reading the checkpoints of tasks {sorted(pending)} from {self.topic} "
                        f"did not reach their end in {timeout_s:.0f}s",
                        bootstrap_servers=bootstrap,
                    )
                for message in batch:
                    error = message.error()
                    if error is None:
                        deadline = time.monotonic() + timeout_s
                        yield message
                    elif error.code() == KafkaError._PARTITION_EOF:
                        pending.discard(int(message.partition() or 0))
                    elif error.fatal() or error.code() in (
                        KafkaError._ALL_BROKERS_DOWN,
                        KafkaError.UNKNOWN_TOPIC_OR_PART,
                    ):
                        raise BrokerUnavailableError(
                            f"reading {self.topic} failed: {error.str()}",
                            bootstrap_servers=bootstrap,
                        )
        finally:
            consumer.close()

    # --- writing --------------------------------------------------------------------------

    def _ensure_producer(self) -> _KafkaProducer:
        if self._producer is None:
            conf: dict[str, Any] = self._settings.kafka.librdkafka(linger_ms=0)
            conf.update(
                {
                    "enable.idempotence": True,  # implies acks=all
                    "message.max.bytes": MAX_CHECKPOINT_BYTES,
                }
            )
            self._producer = build_client(_KafkaProducer, conf, settings=self._settings.kafka)
        return self._producer

    def write(self, checkpoints: Iterable[Checkpoint], *, timeout_s: float = 30.0) -> int:
        """Store ``checkpoints`` (one per task) and wait until Kafka acknowledged all of them.

        Returns:
            How many bytes were written.

        Raises:
            DeliveryError: Some were not stored; the tasks must not go on as if they were.
        """
        records: list[Outgoing] = []
        for checkpoint in checkpoints:
            if checkpoint.task >= self.partitions:
                raise ConfigError(
                    f"{self.ref.id} task {checkpoint.task} has no partition in {self.topic} "
                    f"({self.partitions} partitions)"
                )
            key = str(checkpoint.task).encode()
            records.append((self.topic, key, encode_checkpoint(checkpoint), checkpoint.task))
        unacked = send_acked(self._ensure_producer(), records, timeout_s=timeout_s)
        if unacked:
            raise DeliveryError(
                f"{unacked.count} checkpoints of {self.ref.id} were not stored in {self.topic} "
                f"({unacked.reason}); the agent stops so that its tasks restart from their last "
                "stored checkpoint",
                undelivered=unacked.count,
                failures=unacked.failures[:20],
            )
        return sum(len(value or b"") for _, _, value, *_ in records)

    def close(self) -> None:
        """Release the producer (after :meth:`write`, nothing is pending)."""
        if self._producer is not None:
            self._producer.flush(5)
            self._producer = None

    def __enter__(self) -> CheckpointStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
