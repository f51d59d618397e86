"""The monitor: every product in the catalog measured continuously against its promises.

One confluent-kafka consumer is assigned (no group join, so it never triggers a rebalance of
anyone) to every partition of every active product's topic and of its dead-letter topic. It
reads as an independent consumer: producers are never slowed or blocked. Records are decoded by
their writer's schema (without logical types) and fed to the product's
:class:`~streams.guarantees.measures.ProductMeasures`.

Every ``publish_every_s`` the monitor judges each product (:func:`evaluate`), publishes its
observations to the compacted ``_mesh.observations`` and the state changes to ``_mesh.alerts``,
then stores each product's checkpoint (measures + the offsets they reflect) on
``_mesh.monitor_state``; a restarted monitor restores them and resumes from those offsets, so
nothing is counted twice. The catalog is read again every ``catalog_every_s``: products applied
since are picked up, retired or removed ones dropped; so is ``_mesh.agent_runs``, to check the
windows of aggregates computed by a live agent with a tumbling window
(:mod:`~streams.guarantees.aggregates`): their inputs' records, the copies the agent routed to
``<input>.late`` (also read, by the same consumer) and their own final records feed a
:class:`~streams.guarantees.windows.WindowCompleteness`, checkpointed with the product.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from streams.catalog.agents import AgentRunStore
from streams.catalog.store import CatalogEntry, CatalogStore
from streams.config import Settings
from streams.errors import DeserializationError, StreamsError
from streams.guarantees.aggregates import (
    WindowChecks,
    expect_past,
    has_inputs,
)
from streams.guarantees.evaluate import alerts
from streams.guarantees.judge import judge
from streams.guarantees.measures import Record
from streams.guarantees.publish import ObservationPublisher
from streams.guarantees.records import Observation
from streams.guarantees.state import ProductState, StateStore
from streams.guarantees.usage import group_lags
from streams.guarantees.watched import MonitorOptions, Watched
from streams.kafka import SchemaSource
from streams.kafka.client import build_client
from streams.kafka.decoders import WriterDecoders
from streams.kafka.topics import topic_names
from streams.naming import internal_topic

__all__ = ["MONITOR_GROUP", "MONITOR_READY", "Monitor", "MonitorOptions", "run_monitor"]

logger = logging.getLogger(__name__)

MONITOR_GROUP = internal_topic("monitor")
"""The monitor's consumer group id (never joined; left out of usage)."""

MONITOR_READY = "monitor ready"
"""Logged once the monitor's topics exist and it watches the catalog (``mesh up`` waits for it)."""


class Monitor:
    """Measures every product in the catalog (see the module docstring).

    Args:
        settings: Where Kafka and the registry are.
        options: Window and intervals.
        clock: Epoch seconds (injected by tests).
    """

    def __init__(
        self,
        *,
        settings: Settings,
        options: MonitorOptions | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options or MonitorOptions()
        self._settings = settings
        self._clock = clock
        self._window_ms = self.options.window_ms
        self._watched: dict[str, Watched] = {}
        self._routes: dict[str, tuple[Watched, bool]] = {}  # topic -> (product, is dead-letter)
        self._checks = WindowChecks()
        kafka = settings.kafka
        conf = kafka.librdkafka(
            group_id=MONITOR_GROUP,
            enable_auto_commit=False,
            enable_partition_eof=True,
            auto_offset_reset="earliest",
        )
        self._consumer = build_client(Consumer, conf, settings=kafka)
        self._admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
        self._schemas = SchemaSource.from_settings(settings.registry)
        self._decoders = WriterDecoders(self._schemas)
        self._catalog = CatalogStore(settings=settings)
        self._runs = AgentRunStore(settings=settings)
        self._store = StateStore(settings=settings, topic=self.options.state_topic)
        self._publisher = ObservationPublisher(
            settings=settings,
            observations_topic=self.options.observations_topic,
            alerts_topic=self.options.alerts_topic,
        )
        self._saved: dict[str, ProductState] = {}
        self._next_publish = 0.0
        self._next_catalog = 0.0
        self.events = 0
        self.publications = 0

    @property
    def products(self) -> list[str]:
        """The product topics watched now."""
        return sorted(self._watched)

    # --- the loop -------------------------------------------------------------------------

    def start(self) -> None:
        """Create the topics it writes and restore the checkpoints."""
        self._store.ensure_topic()
        self._saved = self._store.read()
        self.refresh()

    def run(self, stop: threading.Event) -> None:
        """Measure until ``stop`` is set; publish once more on the way out."""
        self.start()
        logger.info("%s: watching %d products", MONITOR_READY, len(self._watched))
        while not stop.is_set():
            self.step()
        self.publish()

    def step(self, timeout_s: float = 0.5) -> int:
        """Consume one batch, and publish or refresh the catalog when due; return the records."""
        now = self._clock()
        if now >= self._next_catalog:
            self.refresh()
        count = self._consume(timeout_s)
        if self._clock() >= self._next_publish:
            self.publish()
        return count

    def _consume(self, timeout_s: float) -> int:
        # The hot loop: per record only what must be (route, decode, collect); offsets, ends
        # and lag samples are updated per partition and batch below. scripts/bench monitor
        # measures it against decoding alone.
        messages = self._consumer.consume(self.options.batch, timeout_s)
        routes, decode = self._routes, self._decoders.decode
        batches: dict[str, list[Record]] = {}
        for message in messages:
            error = message.error()
            topic = message.topic() or ""
            route = routes.get(topic)
            if route is None:
                aggregates = self._checks.late.get(topic)
                if aggregates is not None:
                    self._checks.late_copy(message, aggregates, decode)
                continue
            if error is not None:
                self._error(route, message, error)
                continue
            watched, dead = route
            if dead:
                watched.measures.dead_letter(message.timestamp()[1])
                watched.offsets.setdefault(topic, {})[message.partition() or 0] = (
                    message.offset() or 0
                ) + 1
                continue
            value = message.value()
            try:
                decoded = decode(value)
            except DeserializationError as exc:
                self._undecodable(watched, message, exc)
                continue
            records = batches.get(topic)
            if records is None:
                records = batches[topic] = []
            records.append(
                (
                    message.partition() or 0,
                    message.offset() or 0,
                    message.timestamp()[1],
                    decoded,
                    int.from_bytes(value[1:5], "big") if value else 0,
                )
            )
        count = 0
        for topic, records in batches.items():
            watched = self._watched[topic]
            watched.measures.observe_many(records)
            watched.advance(records)
            if watched.windows is not None:
                watched.windows.emit(record[3] for record in records)
            for aggregate in self._checks.fed.get(topic, ()):
                if aggregate.windows is not None:
                    aggregate.windows.expect(topic, records)
            count += len(records)
        self.events += count
        return count

    @staticmethod
    def _error(route: tuple[Watched, bool], message: Message, error: KafkaError) -> None:
        watched, dead = route
        partition = message.partition() or 0
        if error.code() != KafkaError._PARTITION_EOF:
            logger.warning("reading %s[%d]: %s", message.topic(), partition, error.str())
        elif not dead:
            watched.ends[partition] = message.offset() or 0

    @staticmethod
    def _undecodable(watched: Watched, message: Message, exc: DeserializationError) -> None:
        # Producers through our library cannot write such a record; say so once, go on.
        watched.undecodable += 1
        offsets = watched.offsets.setdefault(watched.topic, {})
        offsets[message.partition() or 0] = (message.offset() or 0) + 1
        if watched.undecodable == 1:
            logger.warning(
                "%s[%d]@%d is undecodable (not counted): %s",
                message.topic(),
                message.partition(),
                message.offset(),
                exc,
            )

    # --- the catalog ----------------------------------------------------------------------

    def refresh(self) -> None:
        """Watch the products the catalog lists now; drop retired and removed ones."""
        self._next_catalog = self._clock() + self.options.catalog_every_s
        entries = self._catalog.read()
        only = self.options.only
        wanted = {
            entry.product.topic: entry
            for entry in entries.values()
            if entry.product.status != "retired" and (only is None or entry.product.topic in only)
        }
        gone = sorted(set(self._watched) - set(wanted))
        for topic in gone:
            self._drop(topic)
        existing = topic_names(self._admin, bootstrap=self._settings.kafka.bootstrap_servers)
        for topic, entry in sorted(wanted.items()):
            if topic in existing and topic not in self._watched:
                self._add(entry)
            watched = self._watched.get(topic)
            if watched is not None and not watched.dlq_assigned and watched.dlq in existing:
                self._assign(watched.dlq, watched)
                watched.dlq_assigned = True
        self._check_windows(existing)

    def _check_windows(self, existing: set[str]) -> None:
        """Set up the window check of each aggregate (see :mod:`.aggregates`) and its routes."""
        if not any(has_inputs(w.product) for w in self._watched.values()):
            self._checks.fed, self._checks.late = {}, {}
            return  # no aggregate: no need to read the agents' runs
        try:
            runs = self._runs.read()
        except (StreamsError, KafkaException) as exc:  # best effort: checks go on as they were
            logger.warning("could not read the agents' runs: %s", exc)
            return
        grace_ms = round(self.options.window_grace_s * 1000)
        self._checks.configure(self._watched, runs, window_ms=self._window_ms, grace_ms=grace_ms)
        for topic, aggregates in self._checks.unassigned(existing):
            self._assign_late(topic, aggregates)
        unseen, self._checks.unseen = self._checks.unseen, []
        conf = self._settings.kafka.librdkafka(group_id=MONITOR_GROUP)
        now_ms = int(self._clock() * 1000)
        for aggregate in unseen:
            expect_past(aggregate, self._watched, conf, self._decoders.decode, now_ms=now_ms)

    def _assign_late(self, topic: str, aggregates: list[Watched]) -> None:
        partitions = sorted(self._consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        starts = [
            min(w.offsets.get(topic, {}).get(p, OFFSET_BEGINNING) for w in aggregates)
            for p in partitions
        ]
        self._consumer.incremental_assign(
            [TopicPartition(topic, p, s) for p, s in zip(partitions, starts, strict=True)]
        )
        self._checks.assigned.add(topic)

    def _add(self, entry: CatalogEntry) -> None:
        topic = entry.product.topic
        saved = self._saved.pop(topic, None)
        metadata = self._consumer.list_topics(topic, timeout=10).topics[topic]
        watched = Watched.open(
            entry, sorted(metadata.partitions), saved=saved, options=self.options
        )
        self._watched[topic] = watched
        self._assign(topic, watched)
        logger.info(
            "watching %s (%d partitions)%s",
            topic,
            len(watched.partitions),
            " from its checkpoint" if watched.restored else "",
        )

    def _assign(self, topic: str, watched: Watched) -> None:
        partitions = (
            watched.partitions
            if topic == watched.topic
            else sorted(self._consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        )
        start = watched.offsets.get(topic, {})
        self._routes[topic] = (watched, topic != watched.topic)
        self._consumer.incremental_assign(
            [TopicPartition(topic, p, start.get(p, OFFSET_BEGINNING)) for p in partitions]
        )

    def _drop(self, topic: str) -> None:
        watched = self._watched.pop(topic)
        for name in (topic, watched.dlq):
            if self._routes.pop(name, None) is not None:
                parts = watched.partitions if name == topic else list(watched.offsets.get(name, {}))
                assigned = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
                drop = [TopicPartition(name, p) for p in parts if (name, p) in assigned]
                if drop:
                    self._consumer.incremental_unassign(drop)
        self._store.remove([topic])
        self._publisher.forget(watched.previous)
        logger.info("stopped watching %s (retired or removed from the catalog)", topic)

    # --- publishing -----------------------------------------------------------------------

    def publish(self) -> list[Observation]:
        """Judge every product now, publish observations and alerts, then checkpoint."""
        now = self._clock()
        self._next_publish = now + self.options.publish_every_s
        now_ms = int(now * 1000)
        if not self._watched:
            return []
        try:
            committed = group_lags(self._admin, list(self._watched), exclude=[MONITOR_GROUP])
        except KafkaException as exc:  # usage is best effort: the other guarantees go on
            logger.warning("could not list consumer groups: %s", exc)
            committed = {}
        self.publications += 1
        published: list[Observation] = []
        for watched in self._watched.values():
            current = judge(watched, committed, now_ms=now_ms, window_ms=self._window_ms)
            self._publisher.publish(current, alerts(watched.previous, current))
            watched.previous = {o.key: o for o in current}
            published.extend(current)
        self._store.write(w.state() for w in self._watched.values())
        return published

    def close(self) -> None:
        """Release the clients."""
        try:
            self._consumer.close()
        finally:
            self._store.close()
            self._publisher.close()
            self._schemas.close()
            self._catalog.close()


def run_monitor(*, settings: Settings, options: MonitorOptions | None = None) -> str:
    """Run the monitor until SIGINT or SIGTERM; return one line of what it did."""
    stop = threading.Event()

    def stopping(signum: int, _frame: object) -> None:
        logger.info("stopping the monitor (%s)", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGINT, signal.SIGTERM)}
    began = time.monotonic()
    monitor = Monitor(settings=settings, options=options)
    try:
        monitor.run(stop)
    finally:
        monitor.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    seconds = time.monotonic() - began
    return (
        f"monitor stopped: {monitor.events} events of {len(monitor.products)} products "
        f"measured in {seconds:.1f} s; {monitor.publications} publications"
    )
