"""Where the registry's log lives: a compacted Kafka topic (``_schemas``), or memory for tests.

The Kafka storage reads the whole topic at start with ``assign()`` and stops at the end-of-partition
event, not at ListOffsets: the embedded broker answers ListOffsets wrongly after multi-record
batches (see BROKER.md), while the end-of-partition offset comes from Fetch and is right on every
broker. Writes are acknowledged by the broker (``acks=all``, idempotent producer) before the
registry changes its state or answers the client.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from confluent_kafka import (
    KafkaError,
    KafkaException,
    Message,
    Producer,
)
from confluent_kafka.admin import AdminClient

from streams.errors import BrokerUnavailableError
from streams.kafka.topics import COMPACTED, create_topic, read_to_end, topic_names

__all__ = ["KafkaStorage", "LogRecord", "MemoryStorage", "Storage"]

logger = logging.getLogger(__name__)

LogRecord = tuple[bytes, bytes | None]


class Storage(Protocol):
    """The registry's durable log."""

    def replay(self) -> Iterator[LogRecord]:
        """Every record from the beginning, in order."""
        ...

    async def append(self, records: Sequence[LogRecord]) -> None:
        """Durably append records, in order; raise if any was not stored."""
        ...

    async def warm_up(self) -> None:
        """Open connections ahead of the first write."""
        ...

    def close(self) -> None:
        """Release clients."""
        ...


class MemoryStorage:
    """A log in a list: for unit tests and ``--storage memory``. Lost when the process ends."""

    def __init__(self) -> None:
        self.records: list[LogRecord] = []

    def replay(self) -> Iterator[LogRecord]:
        """Every record so far."""
        return iter(list(self.records))

    async def append(self, records: Sequence[LogRecord]) -> None:
        """Append at once."""
        self.records.extend(records)

    async def warm_up(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to release."""


class KafkaStorage:
    """The log as a single-partition compacted topic."""

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
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def topic(self) -> str:
        """The topic name."""
        return self._topic

    def ensure_topic(self) -> None:
        """Create the topic (compacted, one partition) unless it exists; wait for the broker."""
        admin = AdminClient({"bootstrap.servers": self._bootstrap})
        if self._topic in topic_names(admin, bootstrap=self._bootstrap, timeout_s=self._timeout):
            return
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

    def replay(self) -> Iterator[LogRecord]:
        """Every record from the beginning up to the topic's current end."""
        self.ensure_topic()
        conf = {"bootstrap.servers": self._bootstrap, "group.id": "streams-registry-replay"}
        for message in read_to_end(conf, self._topic, timeout_s=self._timeout):
            key = message.key()
            if key is not None:
                yield key, message.value()

    def _ensure_producer(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(
                {
                    "bootstrap.servers": self._bootstrap,
                    "acks": "all",
                    "enable.idempotence": True,
                    "linger.ms": 0,
                    "message.timeout.ms": int(self._timeout * 1000),
                }
            )
            self._poller = threading.Thread(
                target=self._poll, name="registry-producer", daemon=True
            )
            self._poller.start()
        return self._producer

    def _poll(self) -> None:
        # Delivery callbacks run on this thread and hand results to the event loop.
        while not self._stop.is_set():
            assert self._producer is not None
            self._producer.poll(0.05)

    async def warm_up(self) -> None:
        """Create the producer and fetch the topic's metadata, so the first write is not slow."""
        producer = self._ensure_producer()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: producer.list_topics(self._topic, timeout=10))

    async def append(self, records: Sequence[LogRecord]) -> None:
        """Produce in order and wait until the broker acknowledged every record."""
        producer = self._ensure_producer()
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[None]] = []

        def delivered(fut: asyncio.Future[None]) -> Callable[[KafkaError | None, Message], None]:
            def callback(err: KafkaError | None, _msg: Message) -> None:
                if err is None:
                    loop.call_soon_threadsafe(_resolve, fut, None)
                else:
                    exc = BrokerUnavailableError(
                        f"Could not store the change in {self._topic!r}: {err.str()}",
                        bootstrap_servers=self._bootstrap,
                    )
                    loop.call_soon_threadsafe(_resolve, fut, exc)

            return callback

        for key, value in records:
            fut: asyncio.Future[None] = loop.create_future()
            futures.append(fut)
            producer.produce(
                self._topic, key=key, value=value, partition=0, on_delivery=delivered(fut)
            )
        await asyncio.gather(*futures)

    def close(self) -> None:
        """Flush and stop the producer."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=2)
        if self._producer is not None:
            self._producer.flush(5)
            self._producer = None


def _resolve(fut: asyncio.Future[None], exc: Exception | None) -> None:
    if fut.done():
        return
    if exc is None:
        fut.set_result(None)
    else:
        fut.set_exception(exc)
