"""Replays: a derived product recomputed from its inputs' retained history (confluent-kafka).

The same :class:`~streams.agents.engine.Task` code as the live agents, over a bounded range of
history: for every input partition, from the first record at or after ``start_ms`` to the end
of the partition as it was when the replay started (or ``end_ms``). Times are the records'
Kafka timestamps; windows use event time as always.

How it reads (BROKER.md): no consumer group (``assign``); start offsets from
``offsets_for_times``, which is coarse on Tansu, so records below ``start_ms`` are skipped here;
end offsets from end-of-partition events, not ListOffsets. Records are consumed in batches and
decoded without logical-type conversions (:mod:`streams.agents.decoding`); undecodable ones go
to the input's dead-letter topic, and so do those the engine refuses because their Kafka key is
not their key field's value (reason ``not-keyed-by-<field>``, one warning line per interval);
late ones go to its ``.late`` topic. Outputs are written with
our :class:`~streams.kafka.Producer` to the product topic, or to another major version's topic
for a blue/green backfill. When the input is exhausted, every partition counts as idle, so the
windows the last events' watermark passes are closed as the live agents would once the inputs
go quiet.

A replay is a BATCH run in the lineage (:mod:`streams.agents.lineage`): it emits START when it
begins and COMPLETE when it ends (FAIL with the error if it fails) on ``_mesh.lineage``, and
records what it read and wrote in ``_mesh.agent_runs``.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from confluent_kafka import OFFSET_END, KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka import Consumer as _KafkaConsumer

from streams.agents.decoding import MiskeyedLog, not_an_input, not_keyed, without_logical_types
from streams.agents.definition import DerivedProduct
from streams.agents.engine import InputRecord, Step, Task, output_key
from streams.agents.inputs import input_partitions
from streams.agents.late import LateRecords
from streams.agents.lineage import LineageRun
from streams.config import Settings
from streams.errors import BrokerUnavailableError, ConfigError, DeserializationError
from streams.kafka import DeadLetters, Producer, SchemaSource
from streams.kafka.client import build_client
from streams.kafka.deadletter import dead_lettered
from streams.naming import ProductRef
from streams.serialization.avro import AvroDecoder
from streams.serialization.framing import schema_id_of

__all__ = ["ReplayProgress", "ReplayResult", "replay"]

logger = logging.getLogger(__name__)

_Partition = tuple[str, int]
_STALL_S = 30.0


@dataclass(frozen=True, slots=True)
class ReplayProgress:
    """Where a replay is, after each batch.

    Attributes:
        read: Input records read so far (skipped and dead-lettered ones included).
        total: Input records between the start and end offsets (what ``read`` will reach).
        outputs: Output records written so far.
        late: Late events copied to ``.late`` topics so far.
    """

    read: int
    total: int
    outputs: int
    late: int


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What a finished replay did."""

    topic: str
    read: int
    counted: int
    late: int
    dead_letters: int
    outputs: int
    finals: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Input records read per second."""
        return self.read / self.seconds if self.seconds > 0 else 0.0


def replay(
    definition: DerivedProduct,
    *,
    settings: Settings,
    start_ms: int,
    end_ms: int | None = None,
    into_version: int | None = None,
    batch_size: int = 10_000,
    on_progress: Callable[[ReplayProgress], None] | None = None,
    schemas: SchemaSource | None = None,
    lineage: bool = True,
) -> ReplayResult:
    """Recompute ``definition`` from its inputs' records with timestamps in [start, end).

    Args:
        definition: The derived product.
        settings: Where Kafka and the registry are.
        start_ms: First record timestamp (epoch ms) to read.
        end_ms: Records from this timestamp on are left out (default: read to the end).
        into_version: Write to this major version's topic instead of the definition's (a
            blue/green backfill: apply the new version's descriptor first).
        batch_size: Records per consume call (and per engine batch).
        on_progress: Called after every batch.
        schemas: Override the registry access.
        lineage: Emit OpenLineage START and COMPLETE/FAIL and record the run in the catalog.

    Raises:
        ConfigError: An input topic is missing, or the inputs are not co-partitioned.
        BrokerUnavailableError: Kafka failed or stalled.
    """
    job = _Replay(
        definition,
        settings=settings,
        start_ms=start_ms,
        end_ms=end_ms,
        into_version=into_version,
        batch_size=batch_size,
        on_progress=on_progress,
        schemas=schemas,
    )
    if not lineage:
        return job.run()
    run = LineageRun(
        settings=settings, definition=definition, processing="BATCH", output_version=into_version
    )
    with run:
        return job.run()


class _Replay:
    def __init__(
        self,
        definition: DerivedProduct,
        *,
        settings: Settings,
        start_ms: int,
        end_ms: int | None,
        into_version: int | None,
        batch_size: int,
        on_progress: Callable[[ReplayProgress], None] | None,
        schemas: SchemaSource | None,
    ) -> None:
        if end_ms is not None and end_ms <= start_ms:
            raise ConfigError(f"--to ({end_ms}) must be later than --from ({start_ms})")
        if batch_size < 1:
            raise ConfigError(f"batch size must be positive, not {batch_size}")
        ref = definition.ref
        self.output = ProductRef(ref.domain, ref.name, into_version or ref.major)
        self.definition = definition
        self.settings = settings
        self.start_ms, self.end_ms = start_ms, end_ms
        self.batch_size = batch_size
        self.on_progress = on_progress
        self.schemas = schemas or SchemaSource.from_settings(settings.registry)
        self.topics = [port.ref.topic for port in definition.inputs]
        self.decoders: dict[int, Callable[[bytes], Any]] = {}
        self.bootstrap = settings.kafka.bootstrap_servers

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> ReplayResult:
        began = time.monotonic()
        conf: dict[str, Any] = self.settings.kafka.librdkafka(
            group_id=f"streams-replay-{uuid.uuid4().hex}"
        )
        conf.update(
            {
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": 50,
            }
        )
        consumer = build_client(_KafkaConsumer, conf, settings=self.settings.kafka)
        # A consumer of its own for the end offsets: its end-of-partition events must not be
        # queued behind the reads, where they would end them early.
        probe = build_client(
            _KafkaConsumer,
            {**conf, "group.id": f"{conf['group.id']}-ends"},
            settings=self.settings.kafka,
        )
        # A replay re-reads records dead-lettered before (by the live agent, an earlier
        # replay): they are counted, not written twice.
        known = dead_lettered(self.settings, self.topics)
        dead = DeadLetters(settings=self.settings, already=known)
        late = LateRecords(settings=self.settings, product=self.output.topic)
        producer = Producer(
            settings=self.settings,
            domain=self.output.domain,
            schemas=self.schemas,
            rule_failures="dead-letter",  # as the live agent: an aggregate breaking a rule
        )
        try:
            numbers = list(range(input_partitions(self.definition, self.settings)))
            try:
                ends = self._ends(probe, numbers)
            finally:
                probe.close()
            starts = self._starts(consumer, numbers, ends)
            result = self._consume(consumer, numbers, starts, ends, producer, dead, late)
            producer.flush()
            late.flush()
            dead.flush()
        finally:
            consumer.close()
            producer.close()
            late.close()
            dead.close()
        read, counted, outputs, finals = result
        seconds = time.monotonic() - began
        logger.info("replayed %d records into %s in %.1fs", read, self.output.topic, seconds)
        return ReplayResult(
            topic=self.output.topic,
            read=read,
            counted=counted,
            late=late.count,
            dead_letters=dead.count,
            outputs=outputs,
            finals=finals,
            seconds=seconds,
        )

    def _ends(self, consumer: _KafkaConsumer, numbers: list[int]) -> dict[_Partition, int]:
        """Each partition's end offset, from end-of-partition events (not ListOffsets)."""
        parts = [(topic, n) for topic in self.topics for n in numbers]
        consumer.assign([TopicPartition(t, n, OFFSET_END) for t, n in parts])
        ends: dict[_Partition, int] = {}
        deadline = time.monotonic() + _STALL_S
        while len(ends) < len(parts):
            for message in consumer.consume(1000, timeout=0.2):
                error = message.error()
                if error is None:
                    continue  # Tansu's ListOffsets may start us inside the last batch
                if error.code() != KafkaError._PARTITION_EOF:
                    raise self._unavailable(f"reading the end of {message.topic()}: {error.str()}")
                ends[(str(message.topic()), int(message.partition() or 0))] = int(
                    message.offset() or 0
                )
            if time.monotonic() > deadline:
                raise self._unavailable(
                    f"did not report the end of {len(parts) - len(ends)} partitions"
                )
        return ends

    def _starts(
        self, consumer: _KafkaConsumer, numbers: list[int], ends: dict[_Partition, int]
    ) -> dict[_Partition, int]:
        asked = [TopicPartition(t, n, self.start_ms) for t in self.topics for n in numbers]
        try:
            found = consumer.offsets_for_times(asked, timeout=10)
        except KafkaException as exc:
            raise self._unavailable(f"offsets_for_times failed: {exc.args[0].str()}") from exc
        starts: dict[_Partition, int] = {}
        for item in found:
            part = (str(item.topic), int(item.partition))
            # -1: no record at or after the start time; nothing to read there.
            starts[part] = ends[part] if item.offset < 0 else min(int(item.offset), ends[part])
        return starts

    def _consume(
        self,
        consumer: _KafkaConsumer,
        numbers: list[int],
        starts: dict[_Partition, int],
        ends: dict[_Partition, int],
        producer: Producer,
        dead: DeadLetters,
        late: LateRecords,
    ) -> tuple[int, int, int, int]:
        pending = {part for part in starts if starts[part] < ends[part]}
        total = sum(ends[part] - starts[part] for part in pending)
        tasks = {n: Task(self.definition, partition=n, topics=self.topics) for n in numbers}
        consumer.assign([TopicPartition(t, n, starts[(t, n)]) for t, n in sorted(pending)])
        read = outputs = finals = 0
        miskeyed = MiskeyedLog(self.definition)
        start_ms, end_ms = self.start_ms, self.end_ms
        decode = self._decode
        deadline = time.monotonic() + _STALL_S
        while pending:
            messages = consumer.consume(self.batch_size, timeout=0.5)
            if not messages:
                if time.monotonic() > deadline:
                    raise self._unavailable(f"stopped delivering records ({len(pending)} left)")
                continue
            deadline = time.monotonic() + _STALL_S
            batches: dict[int, list[InputRecord]] = {}
            kept: dict[int, list[Message]] = {}
            for message in messages:
                error = message.error()
                # Set on every consumed message; the stubs allow None for produced ones.
                topic: str = message.topic()  # type: ignore[assignment]
                number: int = message.partition()  # type: ignore[assignment]
                offset: int = message.offset()  # type: ignore[assignment]
                part = (topic, number)
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise self._unavailable(f"reading {topic}[{number}]: {error.str()}")
                    if offset >= ends[part]:
                        pending.discard(part)
                    continue
                end = ends[part]
                if offset >= end:
                    pending.discard(part)  # written after the replay started
                    continue
                read += 1
                if offset == end - 1:
                    pending.discard(part)
                stamp = message.timestamp()[1]
                if stamp < start_ms or (end_ms is not None and stamp >= end_ms):
                    continue  # offsets_for_times is coarse on Tansu; --to leaves later out
                value = decode(message, dead)
                if value is None:
                    continue
                batches.setdefault(number, []).append(
                    InputRecord(topic, number, offset, stamp, message.key(), value)
                )
                kept.setdefault(number, []).append(message)
            for number, records in batches.items():
                step = tasks[number].process(records)
                outputs += self._write(producer, step)
                finals += sum(1 for u in step.updates if u.final)
                if step.late or step.miskeyed:
                    by_offset = {(m.topic(), m.offset()): m for m in kept[number]}
                    for record in step.late:
                        late.send(by_offset[(record.topic, record.offset)])
                    for record in step.miskeyed:
                        original = by_offset[(record.topic, record.offset)]
                        dead.send(original, not_keyed(self.definition, record), log=False)
                    for topic, count in Counter(r.topic for r in step.miskeyed).items():
                        miskeyed.add(topic, count)
            if self.on_progress is not None:
                self.on_progress(ReplayProgress(read, total, outputs, late.count))
        for task in tasks.values():
            step = task.flush_idle(math.inf)  # the input is exhausted: every partition is idle
            outputs += self._write(producer, step)
            finals += sum(1 for u in step.updates if u.final)
        if self.on_progress is not None:
            self.on_progress(ReplayProgress(read, total, outputs, late.count))
        miskeyed.flush()
        counted = sum(task.counters["events"] - task.counters["late"] for task in tasks.values())
        return read, counted, outputs, finals

    # -- per record ------------------------------------------------------------------------

    def _decode(self, message: Message, dead: DeadLetters) -> Any:
        data = message.value()
        try:
            schema_id = schema_id_of(data)
            decoder = self.decoders.get(schema_id) or self._decoder(schema_id)
            value = decoder(data)  # type: ignore[arg-type]  # schema_id_of refused None
            refused = not_an_input(self.definition, value)
            if refused is not None:
                raise refused
            return value
        except DeserializationError as exc:
            exc.topic, exc.partition, exc.offset = (
                message.topic(),
                message.partition(),
                message.offset(),
            )
            dead.send(message, exc)
            return None

    def _decoder(self, schema_id: int) -> Callable[[bytes], Any]:
        writer, references = self.schemas.writer(schema_id)
        plain = [without_logical_types(orjson.loads(text)) for text in references]
        decoder = AvroDecoder(
            without_logical_types(orjson.loads(writer)), schema_id=schema_id, references=plain
        )
        self.decoders[schema_id] = decoder
        return decoder

    def _write(self, producer: Producer, step: Step) -> int:
        """Write a step's tombstones (merged-away sessions), then its updates; count the updates."""
        topic = self.output
        for key, window in step.retracted:
            producer.tombstone(topic, output_key(key, window))
        for update in step.updates:
            producer.emit(topic, update.value, key=update.kafka_key)
        return len(step.updates)

    def _unavailable(self, what: str) -> BrokerUnavailableError:
        return BrokerUnavailableError(
            f"replaying {self.definition.product}: Kafka at {self.bootstrap} {what}; check that "
            "the broker runs (mesh up) and try again",
            bootstrap_servers=self.bootstrap,
        )
