"""Where the registry's log lives: a compacted Kafka topic (``_schemas``), or memory for tests.

Reading. :meth:`Storage.replay` reads the whole log at start with ``assign()`` and stops at the
end-of-partition event, not at ListOffsets: the embedded broker answers ListOffsets wrongly after
multi-record batches (BROKER.md), while the end-of-partition offset comes from Fetch and is right
on every broker. :meth:`Storage.follow` then keeps reading from there on one thread, as
Confluent's KafkaStore reader does, and hands every record to the registry marked as written by
this instance or not, so records written by another tool appear within a fetch wait (100 ms).

Writing: one fenced transactional writer per topic, with group commit; why and how in
:mod:`streams.registry._writer`. Which instance writes is elected through Kafka
(:mod:`streams.registry._election`); the others follow the log and serve reads. Readers use
``isolation.level=read_committed``, so an aborted write is never applied anywhere. Records over
the broker's size limit are refused before they are written (:meth:`KafkaStorage.check_size`),
with the limit read from the topic's ``max.message.bytes`` where the broker reports it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaException,
    Message,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, ConfigResource  # type: ignore[attr-defined]

from streams.config import KafkaSettings
from streams.errors import BrokerUnavailableError, RegistryRequestError
from streams.kafka.topics import COMPACTED, create_topic, read_to_end, topic_names
from streams.registry import codes
from streams.registry._admin import open_admin
from streams.registry._election import Election
from streams.registry._writer import DEFAULT_MAX_MESSAGE_BYTES, TransactionalWriter

__all__ = ["Entry", "KafkaStorage", "LogRecord", "MemoryStorage", "Storage"]

logger = logging.getLogger(__name__)

LogRecord = tuple[bytes, bytes | None]

# Record batch and record headers around one key and value (generous: Kafka's is ~70 bytes).
_FRAMING_BYTES = 512


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

    def elect(self, on_change: Callable[[bool], None]) -> None:
        """Join the election; ``on_change(primary)`` may be called on any thread."""
        ...

    def publish(self, url: str) -> None:
        """Tell the other instances this primary's URL (blocking)."""
        ...

    async def take_over(self) -> None:
        """Become the writer, fencing any other (call when elected)."""
        ...

    def step_down(self) -> None:
        """Refuse writes from now on (another instance was elected)."""
        ...

    @property
    def primary_url(self) -> str | None:
        """Where the primary answers (None while unknown)."""
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
        self._url: str | None = None

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

    def elect(self, on_change: Callable[[bool], None]) -> None:
        """The only instance: primary at once."""
        on_change(True)

    def publish(self, url: str) -> None:
        """Nobody else to tell."""
        self._url = url

    async def take_over(self) -> None:
        """Nothing to fence."""

    def step_down(self) -> None:
        """Never happens in memory."""

    @property
    def primary_url(self) -> str | None:
        """This instance's URL once published."""
        return self._url

    def close(self) -> None:
        """Nothing to release."""


class KafkaStorage:
    """The log as a single-partition compacted topic, written by one fenced transactional producer.

    Every client it makes (admin, readers, the transactional writer, the election's members)
    is configured by ``kafka.librdkafka(...)``, so SASL, TLS and ``extra`` apply to all of them.

    Args:
        kafka: The Kafka cluster and how to authenticate to it.
        bootstrap_servers: Shorthand for ``kafka=KafkaSettings(bootstrap_servers=...)`` (a
            PLAINTEXT cluster, as in tests); give one of the two.
        topic: The log topic (``_schemas``, as Confluent's registry).
        replication_factor: Used when the topic is created.
        timeout_s: How long a read or write may wait for Kafka.

    Raises:
        TypeError: Neither or both of ``kafka`` and ``bootstrap_servers`` were given.
    """

    def __init__(
        self,
        *,
        kafka: KafkaSettings | None = None,
        bootstrap_servers: str | None = None,
        topic: str = "_schemas",
        replication_factor: int = 1,
        timeout_s: float = 30.0,
    ) -> None:
        if (kafka is None) == (bootstrap_servers is None):
            raise TypeError("KafkaStorage() takes exactly one of kafka= and bootstrap_servers=")
        self._kafka = kafka or KafkaSettings(bootstrap_servers=bootstrap_servers or "")
        self._bootstrap = self._kafka.bootstrap_servers
        self._topic = topic
        self._replication = replication_factor
        self._timeout = timeout_s
        self._writer = TransactionalWriter(
            kafka=self._kafka, topic=topic, timeout_s=timeout_s, elected=True
        )
        self._election: Election | None = None
        self._writer.primary_url = lambda: self.primary_url
        self._next_offset = OFFSET_BEGINNING
        self._tail: threading.Thread | None = None
        self._stop = threading.Event()
        self.max_message_bytes = DEFAULT_MAX_MESSAGE_BYTES

    @property
    def topic(self) -> str:
        """The topic name."""
        return self._topic

    @property
    def transactional_ids(self) -> tuple[str, ...]:
        """The ids every instance writing this topic shares, so a new one fences the old."""
        return self._writer.transactional_ids

    def ensure_topic(self) -> None:
        """Create the topic (compacted, one partition) unless it exists; learn its size limit.

        Raises:
            ConfigError: Kafka refused the credentials (said at once: retrying cannot help).
            BrokerUnavailableError: Kafka did not answer, or refused to create the topic.
        """
        admin = open_admin(self._kafka, probe_s=min(5.0, self._timeout))
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
        """Read every committed record up to the topic's end (the primary fenced others first)."""
        self.ensure_topic()
        conf = self._kafka.librdkafka(
            group_id="streams-registry-replay", isolation_level="read_committed"
        )
        for message in read_to_end(conf, self._topic, timeout_s=self._timeout):
            offset = message.offset() or 0
            self._next_offset = offset + 1
            key = message.key()
            if key is not None:
                yield Entry(offset, key, message.value(), False)

    def follow(self, deliver: Deliver) -> None:
        """Read on from the end of the replay on a background thread."""
        consumer = Consumer(
            self._kafka.librdkafka(
                group_id="streams-registry-tail",
                enable_auto_commit=False,
                isolation_level="read_committed",
                auto_offset_reset="earliest",
                # The embedded broker holds an empty fetch for the whole wait, even when a record
                # arrives: this bounds how late another writer's record is seen.
                fetch_wait_max_ms=100,
            )
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
        return Entry(offset, key, message.value(), self._writer.claim(offset))

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

    # --- writing: see streams.registry._writer ------------------------------------------

    def stage(self, records: Sequence[LogRecord]) -> asyncio.Future[None]:
        """Queue records for the next transaction."""
        return self._writer.stage(records)

    @property
    def healthy(self) -> bool:
        """False after a failed write (or for good once fenced)."""
        return self._writer.healthy

    @property
    def fenced(self) -> bool:
        """True once a newer instance took the transactional id."""
        return self._writer.fenced

    def reset(self) -> None:
        """Accept writes again after the registry re-read the log."""
        self._writer.reset()

    async def idle(self) -> None:
        """Wait until nothing is staged or committing."""
        await self._writer.idle()

    async def warm_up(self) -> None:
        """Create the producer (fencing older writers) unless the replay did."""
        await self._writer.warm_up()

    # --- the election: see streams.registry._election ----------------------------------------

    def elect(self, on_change: Callable[[bool], None]) -> None:
        """Join the election of this topic's primary."""
        self.ensure_topic()
        self._election = Election(
            kafka=self._kafka,
            topic=self._topic,
            on_change=on_change,
            timeout_s=self._timeout,
        )
        self._election.start()

    def publish(self, url: str) -> None:
        """Publish this primary's URL in the election topic."""
        if self._election is not None:
            self._election.publish(url)

    async def take_over(self) -> None:
        """Fence any other writer (``init_transactions``) and accept writes."""
        await self._writer.take_over()

    def step_down(self) -> None:
        """Refuse writes from now on."""
        self._writer.step_down()

    @property
    def primary_url(self) -> str | None:
        """The primary's advertised URL, as published in the election topic."""
        return self._election.primary_url if self._election is not None else None

    def close(self) -> None:
        """Leave the election, stop following, finish the writer and release the producer."""
        if self._election is not None:
            self._election.close()
        self._stop.set()
        if self._tail is not None:
            self._tail.join(timeout=5)
        self._writer.close()
