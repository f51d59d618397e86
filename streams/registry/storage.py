"""Where the registry's log lives: a compacted Kafka topic (``_schemas``), or memory for tests.

Reading. :meth:`Storage.replay` reads the whole log at start with ``assign()`` and stops at the
end-of-partition event, not at ListOffsets: the embedded broker answers ListOffsets wrongly after
multi-record batches (BROKER.md), while the end-of-partition offset comes from Fetch and is right
on every broker. :meth:`Storage.follow` then keeps reading from there on one thread, as
Confluent's KafkaStore reader does, and hands every record to the registry marked as written by
this instance or not, so records written by another tool appear within a fetch wait (100 ms).

Writing: one writer per topic. Writes go through a transactional producer whose
``transactional.id`` is derived from the topic (``streams-registry-<topic>``). A starting instance
calls ``init_transactions()`` before it replays, which (a) fences any older instance on the same
topic: its next commit fails with a fenced error, it becomes read-only and answers writes with
503/50004 naming the problem, and keeps serving reads from its tail; and (b) aborts a transaction
a killed instance left open, which would otherwise stall ``read_committed`` readers (BROKER.md
quirk 8). Readers use ``isolation.level=read_committed``, so an aborted write is never applied
anywhere. Fencing is enforced by the broker, so two instances can never both acknowledge ids
(the alternative, detecting foreign records after the fact, can only find a collision once both
records are in the log). Issue 8's HA mode builds on this: the instance holding the
transactional id is the primary; the others follow the log and forward writes.

Group commit: a transaction costs three round trips (AddPartitionsToTxn, Produce, EndTxn, ~2.5 ms
on the embedded broker), so writes staged while a commit is in flight are committed together in
the next transaction, and a batch smaller than the previous one lingers up to 2 ms for the
writers just answered to come back; each caller's future resolves only once its transaction is
committed (``scripts/bench registry``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, ConfigResource  # type: ignore[attr-defined]

from streams.errors import BrokerUnavailableError, RegistryRequestError
from streams.kafka.topics import COMPACTED, create_topic, read_to_end, topic_names
from streams.registry import codes

__all__ = ["Entry", "KafkaStorage", "LogRecord", "MemoryStorage", "Storage"]

logger = logging.getLogger(__name__)

LogRecord = tuple[bytes, bytes | None]

# librdkafka's default message.max.bytes, and Kafka's default broker limit is barely above it.
DEFAULT_MAX_MESSAGE_BYTES = 1_000_000
# Record batch and record headers around one key and value (generous: Kafka's is ~70 bytes).
_FRAMING_BYTES = 512
# Group commit: how long a partial batch waits for the writers of the previous one to come back
# (two clients: batches of 1 alternate without it, 317/s; with it, batches of 2).
_LINGER_S = 0.002
_FENCED = {
    KafkaError._FENCED,
    KafkaError.PRODUCER_FENCED,
    KafkaError.INVALID_PRODUCER_EPOCH,
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One record read from the log."""

    offset: int
    key: bytes
    value: bytes | None
    own: bool


Deliver = Callable[[list[Entry]], None]


class Storage(Protocol):
    """The registry's durable log."""

    def replay(self) -> Iterator[Entry]:
        """Every record from the beginning up to the current end, in order."""
        ...

    def follow(self, deliver: Deliver) -> None:
        """Keep reading after the last replayed record; ``deliver`` may be called on any thread."""
        ...

    def check_size(self, records: Sequence[LogRecord]) -> None:
        """Raise 422/42209 if a record is larger than the broker accepts."""
        ...

    def stage(self, records: Sequence[LogRecord]) -> asyncio.Future[None]:
        """Queue records for the next transaction; the future resolves once they are committed.

        A failure fails every staged write after it too (they were decided on a state holding
        it); :attr:`healthy` is then False until :meth:`reset`.
        """
        ...

    @property
    def healthy(self) -> bool:
        """False after a failed write, until the registry re-read the log and called reset."""
        ...

    @property
    def fenced(self) -> bool:
        """True once another instance took over writing: writes then fail for good."""
        ...

    def reset(self) -> None:
        """Accept writes again (after the registry rebuilt its state from the log)."""
        ...

    async def idle(self) -> None:
        """Wait until no write is staged or being committed."""
        ...

    async def warm_up(self) -> None:
        """Open connections ahead of the first write."""
        ...

    def close(self) -> None:
        """Stop following and release clients."""
        ...


class MemoryStorage:
    """A log in a list: for unit tests and ``--storage memory``. Lost when the process ends."""

    def __init__(self) -> None:
        self.records: list[LogRecord] = []
        self._deliver: Deliver | None = None
        self._failures: list[Exception] = []
        self._healthy = True

    def replay(self) -> Iterator[Entry]:
        """Every record so far."""
        return iter([Entry(n, k, v, False) for n, (k, v) in enumerate(list(self.records))])

    def follow(self, deliver: Deliver) -> None:
        """Remember whom to tell about appended records."""
        self._deliver = deliver

    def write(self, key: bytes, value: bytes | None) -> None:
        """Append a record as another writer would (tests): the registry sees it on its tail."""
        self.records.append((key, value))
        if self._deliver is not None:
            self._deliver([Entry(len(self.records) - 1, key, value, False)])

    def fail_next(self, exc: Exception) -> None:
        """Make the next staged write fail with ``exc`` (tests)."""
        self._failures.append(exc)

    def check_size(self, records: Sequence[LogRecord]) -> None:
        """No limit in memory."""

    def stage(self, records: Sequence[LogRecord]) -> asyncio.Future[None]:
        """Append at once (or fail, see :meth:`fail_next`)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._failures:
            self._healthy = False
            future.set_exception(self._failures.pop(0))
            return future
        start = len(self.records)
        self.records.extend(records)
        future.set_result(None)
        if self._deliver is not None:
            entries = [Entry(start + n, k, v, True) for n, (k, v) in enumerate(records)]
            asyncio.get_running_loop().call_soon(self._deliver, entries)
        return future

    @property
    def healthy(self) -> bool:
        """False after a failed write, until reset."""
        return self._healthy

    @property
    def fenced(self) -> bool:
        """Memory has one writer."""
        return False

    def reset(self) -> None:
        """Accept writes again."""
        self._healthy = True

    async def idle(self) -> None:
        """Nothing is ever in flight."""

    async def warm_up(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to release."""


@dataclass(slots=True)
class _Staged:
    records: Sequence[LogRecord]
    future: asyncio.Future[None]


class KafkaStorage:
    """The log as a single-partition compacted topic, written by one fenced transactional producer.

    Args:
        bootstrap_servers: The Kafka cluster.
        topic: The log topic (``_schemas``, as Confluent's registry).
        replication_factor: Used when the topic is created.
        timeout_s: How long a read or write may wait for Kafka.
    """

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str = "_schemas",
        replication_factor: int = 1,
        timeout_s: float = 30.0,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._topic = topic
        self._replication = replication_factor
        self._timeout = timeout_s
        self._producer: Producer | None = None
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="registry-tx")
        self._own: set[int] = set()
        self._own_lock = threading.Lock()
        self._next_offset = OFFSET_BEGINNING
        self._tail: threading.Thread | None = None
        self._stop = threading.Event()
        self._staged: list[_Staged] = []
        self._committing = False
        self._expected = 1
        self._linger: asyncio.TimerHandle | None = None
        self._idle = asyncio.Event()
        self._healthy = True
        self._fenced = False
        self.max_message_bytes = DEFAULT_MAX_MESSAGE_BYTES

    @property
    def topic(self) -> str:
        """The topic name."""
        return self._topic

    @property
    def transactional_id(self) -> str:
        """The id every instance writing this topic shares, so a new one fences the old."""
        return f"streams-registry-{self._topic}"

    def ensure_topic(self) -> None:
        """Create the topic (compacted, one partition) unless it exists; learn its size limit."""
        admin = AdminClient({"bootstrap.servers": self._bootstrap})
        if self._topic not in topic_names(
            admin, bootstrap=self._bootstrap, timeout_s=self._timeout
        ):
            try:
                created = create_topic(
                    admin,
                    self._topic,
                    replication_factor=self._replication,
                    config=COMPACTED,
                    timeout_s=self._timeout,
                )
            except KafkaException as exc:
                raise BrokerUnavailableError(
                    f"Could not create the registry topic {self._topic!r}: {exc}",
                    bootstrap_servers=self._bootstrap,
                ) from exc
            if created:
                logger.info("created registry topic %s", self._topic)
        self.max_message_bytes = min(DEFAULT_MAX_MESSAGE_BYTES, self._topic_limit(admin))

    def _topic_limit(self, admin: AdminClient) -> int:
        # Brokers that report only explicitly set configs (the embedded one) leave the default.
        resource = ConfigResource(ConfigResource.Type.TOPIC, self._topic)
        try:
            configs = admin.describe_configs([resource])[resource].result(timeout=self._timeout)
            entry = configs.get("max.message.bytes")
            return int(entry.value) if entry is not None and entry.value else 2**31 - 1
        except (KafkaException, ValueError) as exc:
            logger.debug("could not read max.message.bytes of %s: %s", self._topic, exc)
            return 2**31 - 1

    # --- reading -----------------------------------------------------------------------------

    def replay(self) -> Iterator[Entry]:
        """Fence older writers, then read every committed record up to the topic's end."""
        self.ensure_topic()
        if self._producer is None and not self._fenced:
            self._producer = self._new_producer()
        conf = {
            "bootstrap.servers": self._bootstrap,
            "group.id": "streams-registry-replay",
            "isolation.level": "read_committed",
        }
        for message in read_to_end(conf, self._topic, timeout_s=self._timeout):
            offset = message.offset() or 0
            self._next_offset = offset + 1
            key = message.key()
            if key is not None:
                yield Entry(offset, key, message.value(), False)

    def follow(self, deliver: Deliver) -> None:
        """Read on from the end of the replay on a background thread."""
        consumer = Consumer(
            {
                "bootstrap.servers": self._bootstrap,
                "group.id": "streams-registry-tail",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "auto.offset.reset": "earliest",
                # The embedded broker holds an empty fetch for the whole wait, even when a record
                # arrives: this bounds how late another writer's record is seen.
                "fetch.wait.max.ms": 100,
            }
        )
        consumer.assign([TopicPartition(self._topic, 0, self._next_offset)])
        self._tail = threading.Thread(
            target=self._follow, args=(consumer, deliver), name="registry-tail", daemon=True
        )
        self._tail.start()

    def _follow(self, consumer: Consumer, deliver: Deliver) -> None:
        try:
            while not self._stop.is_set():
                messages = consumer.consume(1000, 0.2)
                entries = [e for e in map(self._entry, messages) if e is not None]
                if entries:
                    deliver(entries)
        except Exception:  # the thread must say why it stopped; reads then go stale
            logger.exception("the registry stopped following %s", self._topic)
        finally:
            consumer.close()

    def _entry(self, message: Message) -> Entry | None:
        error = message.error()
        if error is not None:
            if error.fatal():
                raise KafkaException(error)
            logger.warning("reading %s: %s", self._topic, error.str())
            return None
        key = message.key()
        if key is None:
            logger.warning("skipping a record without key at offset %d", message.offset())
            return None
        offset = message.offset() or 0
        with self._own_lock:
            own = offset in self._own
            self._own.discard(offset)
        return Entry(offset, key, message.value(), own)

    # --- writing -----------------------------------------------------------------------------

    def _new_producer(self) -> Producer:
        producer = Producer(
            {
                "bootstrap.servers": self._bootstrap,
                "transactional.id": self.transactional_id,
                "acks": "all",
                "linger.ms": 0,
                "message.max.bytes": DEFAULT_MAX_MESSAGE_BYTES,
                "transaction.timeout.ms": int(self._timeout * 1000),
                "message.timeout.ms": int(self._timeout * 1000),
            }
        )
        try:
            producer.init_transactions(self._timeout)
        except KafkaException as exc:
            raise BrokerUnavailableError(
                f"Could not start writing to {self._topic!r}: {exc.args[0].str()}",
                bootstrap_servers=self._bootstrap,
            ) from exc
        return producer

    def check_size(self, records: Sequence[LogRecord]) -> None:
        """Refuse, before anything is written, a record the broker would refuse."""
        for key, value in records:
            size = len(key) + len(value or b"") + _FRAMING_BYTES
            if size > self.max_message_bytes:
                raise RegistryRequestError(
                    422,
                    codes.SCHEMA_TOO_LARGE,
                    f"The schema is too large to store: its log record is {size:,} bytes and "
                    f"{self._topic!r} accepts at most {self.max_message_bytes:,} bytes per record "
                    "(producer message.max.bytes / topic max.message.bytes). Split it with "
                    "schema references, or raise both limits.",
                )

    @property
    def healthy(self) -> bool:
        """False after a failed write (or for good once fenced)."""
        return self._healthy and not self._fenced

    @property
    def fenced(self) -> bool:
        """True once a newer instance took the transactional id."""
        return self._fenced

    def reset(self) -> None:
        """Accept writes again; a producer left in a fatal state is replaced (same id)."""
        if self._fenced:
            return
        self._healthy = True

    def stage(self, records: Sequence[LogRecord]) -> asyncio.Future[None]:
        """Queue records for the next transaction (see the module docstring)."""
        if self._fenced:
            raise _fenced_error(self._topic)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._staged.append(_Staged(records, future))
        self._idle.clear()
        self._maybe_commit()
        return future

    def _maybe_commit(self) -> None:
        """Commit what is staged now, or linger briefly while more writers are expected back."""
        if self._committing or not self._staged:
            return
        if len(self._staged) >= self._expected:
            if self._linger is not None:
                self._linger.cancel()
                self._linger = None
            self._commit_next()
        elif self._linger is None:
            self._linger = asyncio.get_running_loop().call_later(_LINGER_S, self._linger_over)

    def _linger_over(self) -> None:
        self._linger = None
        if not self._committing and self._staged:
            self._commit_next()

    def _commit_next(self) -> None:
        batch, self._staged = self._staged, []
        self._committing = True
        loop = asyncio.get_running_loop()
        pending = loop.run_in_executor(self._writer, self._commit, [s.records for s in batch])
        pending.add_done_callback(lambda done: self._committed(batch, done))

    def _commit(self, groups: list[Sequence[LogRecord]]) -> None:
        """One transaction holding every staged group (runs on the writer thread)."""
        if self._producer is None:
            self._producer = self._new_producer()
        producer = self._producer
        failures: list[KafkaError | None] = [None] * len(groups)

        def delivered(index: int) -> Callable[[KafkaError | None, Message], None]:
            def callback(err: KafkaError | None, message: Message) -> None:
                if err is not None:
                    failures[index] = failures[index] or err
                    return
                with self._own_lock:
                    self._own.add(message.offset() or 0)

            return callback

        try:
            producer.begin_transaction()
            for index, records in enumerate(groups):
                for key, value in records:
                    producer.produce(
                        self._topic, key=key, value=value, partition=0, on_delivery=delivered(index)
                    )
            producer.commit_transaction(self._timeout)
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.code() in _FENCED:
                raise _FencedError(error.str()) from exc
            self._abort(producer, error)
            raise _CommitFailedError(error, failures) from exc
        except BufferError as exc:
            self._abort(producer, None)
            raise _CommitFailedError(None, failures) from exc

    def _abort(self, producer: Producer, error: KafkaError | None) -> None:
        if error is not None and error.fatal():
            self._producer = None  # the next commit starts a new one with the same id
            return
        try:
            producer.abort_transaction(self._timeout)
        except KafkaException as exc:
            logger.warning("aborting a failed write to %s: %s", self._topic, exc)
            self._producer = None

    def _committed(self, batch: list[_Staged], done: asyncio.Future[None]) -> None:
        self._committing = False
        exc = done.exception()
        if exc is None:
            # The writers answered now usually come back together with those still waiting:
            # the next batch waits (briefly) for all of them.
            self._expected = len(batch) + len(self._staged)
            for staged in batch:
                if not staged.future.done():
                    staged.future.set_result(None)
            if self._staged:
                self._maybe_commit()
            else:
                self._idle.set()
            return
        # Writes staged after the failed ones were decided on a state holding them: fail all.
        failed, self._staged = batch + self._staged, []
        self._healthy = False
        if isinstance(exc, _FencedError):
            self._fenced = True
            logger.error(
                "another registry instance now writes to %s (%s); this one is read-only",
                self._topic,
                exc,
            )
        for index, staged in enumerate(failed):
            if not staged.future.done():
                staged.future.set_exception(self._answer(exc, index))
        self._idle.set()

    def _answer(self, exc: BaseException, index: int) -> RegistryRequestError:
        if isinstance(exc, _FencedError):
            return _fenced_error(self._topic)
        if isinstance(exc, _CommitFailedError) and index < len(exc.failures):
            own = exc.failures[index]
            if own is not None and own.code() == KafkaError.MSG_SIZE_TOO_LARGE:
                return RegistryRequestError(
                    422,
                    codes.SCHEMA_TOO_LARGE,
                    f"The schema is too large to store: Kafka refused its record in "
                    f"{self._topic!r} as larger than the topic's max.message.bytes. Split it "
                    "with schema references, or raise the topic's limit.",
                )
        logger.error("could not store a change in %s: %s", self._topic, exc)
        return RegistryRequestError(
            503,
            codes.STORE_ERROR,
            f"The change was not stored: Kafka did not accept the write to {self._topic!r}. "
            "Nothing was changed; retry the request.",
        )

    async def idle(self) -> None:
        """Wait until nothing is staged or committing."""
        if self._staged or self._committing:
            await self._idle.wait()

    async def warm_up(self) -> None:
        """Create the producer (fencing older writers) unless the replay did."""
        if self._producer is None:
            await asyncio.get_running_loop().run_in_executor(self._writer, self._warm)

    def _warm(self) -> None:
        if self._producer is None:
            self._producer = self._new_producer()

    def close(self) -> None:
        """Stop following, finish the writer and release the producer."""
        self._stop.set()
        if self._tail is not None:
            self._tail.join(timeout=5)
        self._writer.shutdown(wait=True)
        if self._producer is not None:
            self._producer.flush(5)
            self._producer = None


class _FencedError(Exception):
    """A newer instance took the transactional id (internal to the writer thread)."""


class _CommitFailedError(Exception):
    """A transaction was aborted; ``failures`` holds each group's delivery error, if any."""

    def __init__(self, error: KafkaError | None, failures: list[KafkaError | None]) -> None:
        super().__init__(error.str() if error is not None else "the producer queue is full")
        self.failures = failures


def _fenced_error(topic: str) -> RegistryRequestError:
    return RegistryRequestError(
        503,
        codes.NOT_THE_WRITER,
        f"Another registry instance now writes to {topic!r}; this one is read-only (it still "
        "answers reads). Point clients at the other instance, or restart this one to take over "
        "writing.",
    )
