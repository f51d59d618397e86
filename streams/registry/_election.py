"""Which registry instance writes: elected through a Kafka consumer group.

Every instance on a log topic ``T`` joins the consumer group ``streams-registry-T`` subscribed to
the single-partition election topic ``T_election``; the member assigned partition 0 is the
primary. The group coordinator guarantees at most one member holds the partition in a
generation; a member that stops heartbeating (kill -9) is expired after ``session.timeout.ms``
(6 s here) and the partition goes to a survivor. Being assigned the partition is only the
licence to try: the new primary then calls ``init_transactions`` with the shared transactional
id (:mod:`~streams.registry._writer`), which fences a zombie writer at the broker, so two
instances can never both commit records even while the group is still deciding.

The primary publishes its advertised URL as a record keyed by ``T`` in the election topic
(compacted); every instance reads that topic with ``assign()`` and keeps the last URL, so
secondaries know where to forward writes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

from streams.config import KafkaSettings
from streams.errors import BrokerUnavailableError
from streams.kafka.topics import COMPACTED, create_topic, topic_names
from streams.registry._admin import open_admin

__all__ = ["Election"]

logger = logging.getLogger(__name__)

# Quick failover and, on the embedded broker, quick joins (BROKER.md quirk 1).
SESSION_TIMEOUT_MS = 6000
HEARTBEAT_MS = 1000


class Election:
    """Runs the election for one log topic on a background thread.

    Args:
        kafka: The Kafka cluster and how to authenticate to it.
        topic: The registry's log topic.
        on_change: Called on the election thread with True when this instance became the
            primary, False when it stopped being it.
        timeout_s: How long admin and produce calls may wait for Kafka.
    """

    def __init__(
        self,
        *,
        kafka: KafkaSettings,
        topic: str,
        on_change: Callable[[bool], None],
        timeout_s: float = 30.0,
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self.url: str | None = None  # set by publish
        self._on_change = on_change
        self._timeout = timeout_s
        self._primary = False
        self._primary_url: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def election_topic(self) -> str:
        """The single-partition topic whose partition 0 makes its holder the primary."""
        return f"{self._topic}_election"

    @property
    def group_id(self) -> str:
        """The consumer group every instance on the topic joins."""
        return f"streams-registry-{self._topic}"

    @property
    def primary(self) -> bool:
        """Whether this instance holds partition 0."""
        return self._primary

    @property
    def primary_url(self) -> str | None:
        """The primary's advertised URL (this instance's own when it is the primary)."""
        return self.url if self._primary else self._primary_url

    def start(self) -> None:
        """Create the election topic if needed and join the group (in the background)."""
        admin = open_admin(self._kafka, probe_s=min(5.0, self._timeout))
        if self.election_topic not in topic_names(
            admin, bootstrap=self._kafka.bootstrap_servers, timeout_s=self._timeout
        ):
            try:
                create_topic(admin, self.election_topic, config=COMPACTED, timeout_s=self._timeout)
            except KafkaException as exc:
                raise BrokerUnavailableError(
                    f"Could not create the registry election topic {self.election_topic!r}: {exc}",
                    bootstrap_servers=self._kafka.bootstrap_servers,
                ) from exc
        self._thread = threading.Thread(target=self._run, name="registry-election", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        member = Consumer(
            self._kafka.librdkafka(
                group_id=self.group_id,
                enable_auto_commit=False,
                session_timeout_ms=SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=HEARTBEAT_MS,
                # Sticky: a joining instance does not take the partition from the primary.
                partition_assignment_strategy="cooperative-sticky",
            )
        )
        reader = Consumer(
            self._kafka.librdkafka(
                group_id=f"{self.group_id}-reader", enable_auto_commit=False, fetch_wait_max_ms=100
            )
        )
        reader.assign([TopicPartition(self.election_topic, 0, OFFSET_BEGINNING)])
        member.subscribe(
            [self.election_topic],
            on_assign=lambda _, parts: self._assigned(parts),
            on_revoke=lambda _, parts: self._revoked(parts),
            on_lost=lambda _, parts: self._revoked(parts),
        )
        try:
            while not self._stop.is_set():
                member.poll(0.1)  # heartbeats and rebalance callbacks; records are ignored
                for message in reader.consume(100, 0.05):
                    if message.error() is None and message.key() == self._topic.encode():
                        value = message.value()
                        self._primary_url = value.decode() if value else None
        except Exception:  # the thread must say why it stopped
            logger.exception("the registry election for %s stopped", self._topic)
        finally:
            try:
                self._revoked(None)
            finally:
                member.close()  # leaves the group: a survivor takes over at once
                reader.close()

    def _assigned(self, partitions: list[TopicPartition]) -> None:
        if any(p.partition == 0 for p in partitions) and not self._primary:
            self._primary = True
            logger.info("this registry instance is now the primary of %s", self._topic)
            self._on_change(True)

    def _revoked(self, partitions: list[TopicPartition] | None) -> None:
        if partitions is not None and all(p.partition != 0 for p in partitions):
            return
        if self._primary:
            self._primary = False
            logger.info("this registry instance is no longer the primary of %s", self._topic)
            self._on_change(False)

    def publish(self, url: str) -> None:
        """Tell the other instances where the primary is (blocking; call once it writes)."""
        self.url = url
        producer = Producer(self._kafka.librdkafka(acks="all"))
        producer.produce(self.election_topic, key=self._topic.encode(), value=url.encode())
        if producer.flush(self._timeout) != 0:
            logger.warning("could not publish the primary's URL to %s", self.election_topic)

    def close(self) -> None:
        """Leave the group (a survivor becomes the primary) and stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
