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
since are picked up, retired or removed ones dropped.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from streams.catalog._model import Product
from streams.catalog.store import CatalogEntry, CatalogStore
from streams.config import Settings
from streams.errors import DeserializationError, StateError
from streams.guarantees.evaluate import alerts, evaluate
from streams.guarantees.measures import ProductMeasures, Record
from streams.guarantees.publish import ObservationPublisher
from streams.guarantees.records import Observation
from streams.guarantees.state import ProductState, StateStore
from streams.guarantees.usage import OffsetTimes, group_lags, lags_by_topic
from streams.kafka import SchemaSource
from streams.kafka.client import build_client
from streams.kafka.decoders import WriterDecoders
from streams.kafka.topics import topic_names
from streams.naming import dlq_topic, internal_topic

__all__ = ["MONITOR_GROUP", "MONITOR_READY", "Monitor", "MonitorOptions", "run_monitor"]

logger = logging.getLogger(__name__)

MONITOR_GROUP = internal_topic("monitor")
"""The monitor's consumer group id (never joined; left out of usage)."""

MONITOR_READY = "monitor ready"
"""Logged once the monitor's topics exist and it watches the catalog (``mesh up`` waits for it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorOptions:
    """How the monitor measures and how often it publishes.

    Attributes:
        window_s: The sliding window every guarantee is judged over.
        publish_every_s: How often observations are published and state checkpointed.
        catalog_every_s: How often the catalog is read for new and retired products.
        batch: Most records per consume call.
        only: Watch only these product topics (None: every product in the catalog).
        state_topic: Where checkpoints go (default ``_mesh.monitor_state``).
        observations_topic: Where observations go (default ``_mesh.observations``).
        alerts_topic: Where alerts go (default ``_mesh.alerts``).
    """

    window_s: float = 300.0
    publish_every_s: float = 10.0
    catalog_every_s: float = 10.0
    batch: int = 5000
    only: frozenset[str] | None = None
    state_topic: str | None = None
    observations_topic: str | None = None
    alerts_topic: str | None = None

    @property
    def window_ms(self) -> int:
        return round(self.window_s * 1000)

    @property
    def bucket_ms(self) -> int:
        """The measures' bucket: a minute, or a fifth of a shorter window; divides an hour."""
        return math.gcd(min(60_000, max(1, self.window_ms // 5)), self.window_ms, 3_600_000)


@dataclass(slots=True)
class _Watched:
    """One product under watch: its measures and where its partitions are."""

    product: Product
    measures: ProductMeasures
    partitions: list[int]
    dlq: str
    offsets: dict[str, dict[int, int]] = field(default_factory=dict)
    ends: dict[int, int] = field(default_factory=dict)
    times: dict[int, OffsetTimes] = field(default_factory=dict)
    previous: dict[str, Observation] = field(default_factory=dict)
    dlq_assigned: bool = False
    undecodable: int = 0

    @property
    def topic(self) -> str:
        return self.product.topic

    def state(self) -> ProductState:
        return ProductState(
            topic=self.topic,
            measures=self.measures.state(),
            offsets={t: dict(parts) for t, parts in self.offsets.items()},
            ends=dict(self.ends),
            times={p: s.state() for p, s in self.times.items()},
            previous={k: o.model_dump(mode="json") for k, o in self.previous.items()},
        )


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
        self._watched: dict[str, _Watched] = {}
        self._routes: dict[str, tuple[_Watched, bool]] = {}  # topic -> (product, is dead-letter)
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
        self._store = StateStore(
            settings=settings, **({"topic": t} if (t := self.options.state_topic) else {})
        )
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
            self._positions(watched, records)
            count += len(records)
        self.events += count
        return count

    @staticmethod
    def _positions(watched: _Watched, records: list[Record]) -> None:
        """Next offsets, ends and a lag sample per partition, from one batch's records."""
        first: dict[int, tuple[int, int]] = {}
        last: dict[int, int] = {}
        for partition, offset, append_ms, _, _ in records:
            if partition not in first:
                first[partition] = (offset, append_ms)
            last[partition] = offset
        offsets = watched.offsets.setdefault(watched.topic, {})
        for partition, offset in last.items():
            offsets[partition] = offset + 1
            if offset + 1 > watched.ends.get(partition, 0):
                watched.ends[partition] = offset + 1
            times = watched.times.get(partition)
            if times is None:
                times = watched.times[partition] = OffsetTimes()
            times.add(*first[partition])

    @staticmethod
    def _error(route: tuple[_Watched, bool], message: Message, error: KafkaError) -> None:
        watched, dead = route
        partition = message.partition() or 0
        if error.code() != KafkaError._PARTITION_EOF:
            logger.warning("reading %s[%d]: %s", message.topic(), partition, error.str())
        elif not dead:
            watched.ends[partition] = message.offset() or 0

    @staticmethod
    def _undecodable(watched: _Watched, message: Message, exc: DeserializationError) -> None:
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

    def _add(self, entry: CatalogEntry) -> None:
        product = entry.product
        topic = product.topic
        saved = self._saved.pop(topic, None)
        window_ms, bucket_ms, fields = (
            self._window_ms,
            self.options.bucket_ms,
            _fields(entry.schema),
        )
        measures: ProductMeasures | None = None
        if saved is not None:
            try:
                measures = ProductMeasures.restore(
                    product,
                    saved.measures,
                    window_ms=window_ms,
                    bucket_ms=bucket_ms,
                    schema_fields=fields,
                )
            except StateError as exc:
                logger.warning("%s: measuring afresh: %s", topic, exc)
                saved = None
        if measures is None:
            measures = ProductMeasures(
                product, window_ms=window_ms, bucket_ms=bucket_ms, schema_fields=fields
            )
        metadata = self._consumer.list_topics(topic, timeout=10).topics[topic]
        watched = _Watched(
            product=product,
            measures=measures,
            partitions=sorted(metadata.partitions),
            dlq=dlq_topic(topic),
        )
        if saved is not None:
            watched.offsets = {t: dict(parts) for t, parts in saved.offsets.items()}
            watched.ends = dict(saved.ends)
            watched.times = {p: OffsetTimes.restore(s) for p, s in saved.times.items()}
            watched.previous = {k: Observation.model_validate(o) for k, o in saved.previous.items()}
        self._watched[topic] = watched
        self._assign(topic, watched)
        logger.info(
            "watching %s (%d partitions)%s",
            topic,
            len(watched.partitions),
            " from its checkpoint" if saved is not None else "",
        )

    def _assign(self, topic: str, watched: _Watched) -> None:
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
        for topic, watched in self._watched.items():
            ends = {(topic, p): o for p, o in watched.ends.items()}
            times = {(topic, p): s for p, s in watched.times.items()}
            mine = {g: {k: v for k, v in o.items() if k[0] == topic} for g, o in committed.items()}
            usage = lags_by_topic(
                {g: o for g, o in mine.items() if o}, ends, times, now_ms=now_ms
            ).get(topic, [])
            summary = watched.measures.window(now_ms)
            current = evaluate(
                watched.product,
                summary,
                now_ms=now_ms,
                window_ms=self._window_ms,
                usage=usage,
                previous=watched.previous,
                duplicates_by=watched.measures.id_field,
            )
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


def _fields(schema: str) -> list[str] | None:
    """The top-level field names of a record schema's text (None: not a record)."""
    try:
        parsed = orjson.loads(schema)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("fields"), list):
        return None
    return [f["name"] for f in parsed["fields"] if isinstance(f, dict) and "name" in f]


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
