"""One live batch, start to finish, without faust: decode, compute, emit, checkpoint.

The live driver (:mod:`streams.agents.live`) hands each batch of raw input records it took from
faust to :meth:`BatchProcessor.handle`. Per batch, in this order:

1. tasks not yet running on this worker are restored from their checkpoints;
2. records below a task's checkpointed offsets are skipped (re-deliveries after a restart or
   a rebalance); the others are decoded with the writer's schema (by id, from the registry),
   logical types left as their base types as replays decode (:mod:`streams.agents.decoding`);
   what cannot be decoded goes to the input's dead-letter topic, as in :mod:`streams.kafka`;
3. each task's :class:`~streams.agents.engine.Task` processes its records; those whose Kafka
   key is not their key field's value go to the dead-letter topic too (``not-keyed-by-<field>``,
   summarized in one warning line per interval, :class:`~streams.agents.decoding.MiskeyedLog`);
4. output updates are emitted to the product topic (key from :func:`output_key`), late
   records are copied to ``<input topic>.late``;
5. outputs, late records and dead letters are flushed (acks=all), and only then
6. the checkpoint of every task the batch advanced is written (state + next offsets).

Any failure raises, and the driver must then stop without acknowledging the batch: the
checkpoint is what makes the output exact, so nothing may move past it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from confluent_kafka import TIMESTAMP_CREATE_TIME, Message

from streams.agents.checkpoints import CheckpointStore
from streams.agents.decoding import MiskeyedLog, not_an_input, not_keyed, without_logical_types
from streams.agents.definition import DerivedProduct
from streams.agents.engine import InputRecord, Step, Task, output_key
from streams.agents.late import LateRecords
from streams.agents.outage import PatientSchemaSource
from streams.config import Settings
from streams.errors import DeserializationError
from streams.kafka import DeadLetters, Producer, SchemaSource
from streams.serialization import AvroDecoder, schema_id_of

__all__ = ["BatchProcessor", "Counters", "RawRecord"]

logger = logging.getLogger(__name__)

_Partition = tuple[str, int]


class RawRecord(NamedTuple):
    """An input record as the Kafka client delivered it (value still Avro bytes)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None]

    def message(self) -> Message:
        """The record as a confluent-kafka Message (what dead letters are made of)."""
        headers = self.headers
        return Message(
            topic=self.topic,
            partition=self.partition,
            offset=self.offset,
            key=self.key,
            value=self.value,
            headers=list(headers.items() if isinstance(headers, Mapping) else headers) or None,
            timestamp=(TIMESTAMP_CREATE_TIME, self.timestamp_ms),
        )


@dataclass
class Counters:
    """What this worker did so far."""

    batches: int = 0
    events: int = 0
    skipped: int = 0
    dead_letters: int = 0
    late: int = 0
    updates: int = 0
    checkpoints: int = 0
    checkpoint_bytes: int = 0
    seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)


def _offsets(offsets: Mapping[_Partition, int]) -> str:
    """Next offsets as log lines write positions: ``player.play_events.v1[5]@11, ...``."""
    return ", ".join(f"{topic}[{part}]@{at}" for (topic, part), at in sorted(offsets.items()))


class _Decoders:
    """Decoders by writer schema id, each fetched from the registry once."""

    def __init__(self, schemas: SchemaSource) -> None:
        self._schemas = schemas
        self._decoders: dict[int, Callable[[bytes], Any]] = {}
        #: The decoders by the 5-byte header of the values they decode (magic byte, schema id).
        self.by_header: dict[bytes, Callable[[bytes], Any]] = {}

    def decode(self, value: bytes | None) -> Any:
        """The decoded value; raises DeserializationError (the record is dead-lettered)."""
        if value is None:
            raise DeserializationError(
                "a tombstone (null value): a deletion marker, not an event", reason="tombstone"
            )
        if len(value) < 5 or value[0] != 0:
            schema_id_of(value)  # raises with the precise reason
        schema_id = int.from_bytes(value[1:5], "big")
        decoder = self._decoders.get(schema_id)
        if decoder is None:
            # Base types only (uuid as str, timestamps as int), exactly as replays decode.
            writer, references = self._schemas.writer(schema_id)
            decoder = AvroDecoder(
                without_logical_types(orjson.loads(writer)),
                schema_id=schema_id,
                references=[without_logical_types(orjson.loads(text)) for text in references],
            )
            self._decoders[schema_id] = decoder
            self.by_header[value[:5]] = decoder
        return decoder(value)


class BatchProcessor:
    """Runs a derived product's tasks for the partitions this worker owns.

    Args:
        definition: The derived product.
        settings: Where Kafka and the registry are.
        store: The checkpoint store (its topic must exist).
        clock: Wall-clock seconds for the tasks' idle timeout (injected by tests).
        before_checkpoint: Called before each checkpoint write; raises to prevent it (the
            batch process checks that its worker still runs, :mod:`streams.agents.offload`).
    """

    def __init__(
        self,
        definition: DerivedProduct,
        *,
        settings: Settings,
        store: CheckpointStore,
        clock: Callable[[], float] = time.monotonic,
        before_checkpoint: Callable[[], None] | None = None,
    ) -> None:
        self.definition = definition
        self._before_checkpoint = before_checkpoint
        self.ref = definition.ref
        self.topics = [port.ref.topic for port in definition.inputs]
        self.counters = Counters()
        self._settings = settings
        self._store = store
        self._clock = clock
        self._tasks: dict[int, Task] = {}
        self._next: dict[_Partition, int] = {}
        # Waits while the registry is unreachable, holding the batch (streams.agents.outage).
        self.schemas = PatientSchemaSource(
            url=settings.registry.url, conf=settings.registry.client_conf()
        )
        self._schemas = self.schemas
        self._decoders = _Decoders(self._schemas)
        # An aggregate that breaks its product's quality rules goes to the product's dead
        # letters (the rules' DLQ action) instead of stopping the agent.
        self._outputs = Producer(
            settings=settings,
            domain=self.ref.domain,
            schemas=self.schemas,
            config={"acks": "all"},
            rule_failures="dead-letter",
        )
        self.dead_letters = DeadLetters(settings=settings)
        self.miskeyed = MiskeyedLog(definition)
        self.late = LateRecords(settings=settings, product=self.ref.topic)

    @property
    def tasks(self) -> list[int]:
        """The task numbers running here."""
        return sorted(self._tasks)

    def stop_waiting(self) -> None:
        """End any wait for the registry: the batch in hand fails and is not checkpointed."""
        self.schemas.stop_waiting()

    # --- tasks ----------------------------------------------------------------------------

    def _load(self, numbers: Collection[int]) -> None:
        checkpoints = self._store.read(numbers)
        for number in numbers:
            task = Task(self.definition, partition=number, clock=self._clock, topics=self.topics)
            checkpoint = checkpoints.get(number)
            if checkpoint is not None:
                task.restore(checkpoint)
                self._next.update(checkpoint.offsets)
            else:
                for topic in self.topics:
                    self._next.pop((topic, number), None)
            self._tasks[number] = task
            logger.info(
                "task %d of %s: %s",
                number,
                self.ref.topic,
                "fresh" if checkpoint is None else f"restored at {_offsets(checkpoint.offsets)}",
            )

    def drop(self, numbers: Iterable[int]) -> None:
        """Forget the tasks of revoked partitions (their state is in their last checkpoint)."""
        for number in numbers:
            if self._tasks.pop(number, None) is not None:
                logger.info("task %d of %s left this worker", number, self.ref.topic)
            for topic in self.topics:
                self._next.pop((topic, number), None)

    # --- batches --------------------------------------------------------------------------

    def handle(self, records: Sequence[RawRecord]) -> None:
        """Process one batch (records in per-partition offset order), then checkpoint it."""
        started = time.monotonic()
        missing = {record.partition for record in records} - self._tasks.keys()
        if missing:
            self._load(missing)
        inputs: dict[int, list[InputRecord]] = {}
        next_offsets = self._next
        # Per event, measured with `scripts/bench agents`: the decoder is looked up by the
        # value's 5-byte header (magic byte + schema id) in one dict; the fields the engine
        # needs are checked inline (not_an_input explains a refusal); records are made as
        # tuples.
        decode, by_header = self._decoders.decode, self._decoders.by_header
        definition = self.definition
        key_field, time_field = definition.key, definition.event_time
        new, make = tuple.__new__, InputRecord
        skipped = 0
        for record in records:
            topic, partition, offset, stamp, key, data = record[:6]
            part = (topic, partition)
            if offset < next_offsets.get(part, 0):
                skipped += 1
                continue
            next_offsets[part] = offset + 1
            try:
                if data and (decoder := by_header.get(data[:5])) is not None:
                    value = decoder(data)
                else:
                    value = decode(data)  # a new schema id, or a value to dead-letter
                if not (
                    value.__class__ is dict
                    and value.get(time_field).__class__ is int
                    and value.get(key_field) is not None
                ):
                    refused = not_an_input(definition, value)
                    if refused is not None:
                        raise refused
            except DeserializationError as exc:
                exc.topic, exc.partition, exc.offset = topic, partition, offset
                self.dead_letters.send(record.message(), exc)
                continue
            batch = inputs.get(partition)
            if batch is None:
                batch = inputs[partition] = []
            batch.append(new(make, (topic, partition, offset, stamp, key, value)))
        steps = {number: self._tasks[number].process(batch) for number, batch in inputs.items()}
        # The raw records are needed only to copy late and miskeyed ones (rare): index them
        # only then, not every record of every batch.
        raw = (
            {(record.topic, record.partition, record.offset): record for record in records}
            if any(step.late or step.miskeyed for step in steps.values())
            else {}
        )
        self._publish(steps, raw)
        self.counters.batches += 1
        self.counters.events += sum(len(batch) for batch in inputs.values()) - sum(
            len(step.miskeyed) for step in steps.values()
        )
        self.counters.skipped += skipped
        self.counters.seconds += time.monotonic() - started

    def flush_idle(self, owned: Collection[int] = ()) -> None:
        """Close the windows that only idle input partitions held open; checkpoint if any.

        ``owned`` are the task numbers assigned to this worker: those not open yet are opened
        from their checkpoints, so the windows of a partition that gets no more records close
        too. An idle task follows the lowest watermark of this worker's active tasks
        (:meth:`Task.follow`); a worker whose tasks are all idle moves none.
        """
        missing = set(owned) - self._tasks.keys()
        if missing:
            self._load(missing)
        tasks = self._tasks
        steps = {number: task.flush_idle() for number, task in tasks.items()}
        leading = [task.watermark for task in tasks.values() if task.active]
        if leading:
            mark = min(leading)
            for number, task in tasks.items():
                if not task.active:
                    followed, step = task.follow(mark), steps[number]
                    step.updates.extend(followed.updates)
                    step.retracted.extend(followed.retracted)
        steps = {n: step for n, step in steps.items() if step.updates or step.retracted}
        if steps:
            self._publish(steps, {})

    def _publish(self, steps: dict[int, Step], raw: dict[tuple[str, int, int], RawRecord]) -> None:
        emit, ref = self._outputs.emit, self.ref
        updates = late = 0
        tombstone = self._outputs.tombstone
        for step in steps.values():
            for key, window in step.retracted:
                tombstone(ref, output_key(key, window))
            for update in step.updates:
                emit(ref, update.value, key=update.kafka_key)
            updates += len(step.updates)
            for record in step.late:
                self.late.send(raw[(record.topic, record.partition, record.offset)].message())
            late += len(step.late)
            for record in step.miskeyed:
                original = raw[(record.topic, record.partition, record.offset)].message()
                self.dead_letters.send(original, not_keyed(self.definition, record), log=False)
            for topic, count in Counter(r.topic for r in step.miskeyed).items():
                self.miskeyed.add(topic, count)
        # Everything the checkpoint will claim as done must be stored first.
        self._outputs.flush()
        self.late.flush()
        self.dead_letters.flush()
        if steps:
            if self._before_checkpoint is not None:
                self._before_checkpoint()
            self.counters.checkpoint_bytes += self._store.write(
                self._tasks[number].snapshot() for number in steps
            )
            self.counters.checkpoints += len(steps)
        self.counters.updates += updates
        self.counters.late += late
        self.counters.dead_letters = self.dead_letters.count

    def close(self) -> None:
        """Release the clients (call after the last batch was handled)."""
        self.miskeyed.flush()
        try:
            self.dead_letters.close()
            self.late.close()
            self._outputs.close()
        finally:
            self._schemas.close()
