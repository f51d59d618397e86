"""Read one product into an Arrow table: its latest record per key, or its events in a window.

A product name resolves through the signed catalog (``_mesh.products``): ``domain.name`` is
its latest active major version, ``domain.name.vN`` that version. Records are read with the
catalog's view consumer (:class:`streams.kafka.viewer.ViewConsumer`): decoded with their
writer's schema and projected onto the version's published schema, personal fields revealed
where the registry releases their keys to this identity (as :class:`streams.kafka.Consumer`
does), and nothing written anywhere: a record that cannot be decoded is skipped and counted
(``mesh dlq`` and ``mesh tail`` show such records), never a crash.

Reading stops at the end of every partition, and records written after the query started are
left out, so a product written live still gives a consistent answer.
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource  # type: ignore[attr-defined]

from streams.catalog import Catalog, CatalogEntry, CatalogStore
from streams.config import Settings, load_settings
from streams.errors import BrokerUnavailableError
from streams.kafka.client import build_client
from streams.kafka.viewer import Undecodable, ViewConsumer
from streams.query._deps import arrow_layout
from streams.query._window import Time, Window, window
from streams.serialization.plain import without_logical_types

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Snapshot", "is_snapshot", "load_catalog", "read", "read_entry", "table_of"]

logger = logging.getLogger(__name__)

UUID_TEXT = frozenset({"uuid"})
"""Logical types read as their base type: a table holds uuids as text."""

_BATCH = 5000
_POLL_S = 0.2


def load_catalog(settings: Settings) -> Catalog:
    """The catalog as ``_mesh.products`` holds it now.

    Raises:
        BrokerUnavailableError: Kafka cannot be reached.
    """
    with CatalogStore(settings=settings) as store:
        return Catalog.from_store(store)


def is_snapshot(entry: CatalogEntry, settings: Settings) -> bool:
    """Whether a product is read as its latest record per key: an aggregate, or a product whose
    topic is compacted (``cleanup.policy`` holds ``compact``)."""
    if entry.product.kind == "aggregate":
        return True
    kafka = settings.kafka
    resource = ConfigResource("topic", entry.product.topic)
    try:
        admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
        found = admin.describe_configs([resource])[resource].result(10)
    except KafkaException as exc:  # e.g. not allowed to describe it: read it as events
        logger.debug("no configs of %s: %s", entry.product.topic, exc)
        return False
    policy = found.get("cleanup.policy")
    return policy is not None and "compact" in str(policy.value)


@dataclass
class Snapshot:
    """What a read found, before it becomes a table.

    Attributes:
        records: The decoded records, in topic order (per partition).
        skipped: Records that could not be decoded, by reason (``corrupt``, ``not-framed``...).
        read: Records read in the window (skipped ones included; tombstones too).
    """

    records: list[Any] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    read: int = 0


def read(
    product: str,
    *,
    since: Time | None = None,
    until: Time | None = None,
    settings: Settings | None = None,
    catalog: Catalog | None = None,
    timeout_s: float = 30.0,
) -> pa.Table:
    """A product as an Arrow table (``.to_pandas()`` where pandas is installed).

    Aggregates and compacted products give their latest record per Kafka key (a tombstone
    removes its key); other products give their events, in topic order per partition.

    Args:
        product: ``domain.name`` (its latest active major version in the catalog) or
            ``domain.name.vN`` (that version).
        since: Only records written since then: a datetime, a duration back from now
            (``"1h"``, ``"7d"``), an ISO date and time (``"2026-11-30T10:00"``, UTC unless it
            names a zone) or ``"all"``. Default: the last 24 hours for events, the whole
            retained history for aggregates and compacted products.
        until: Only records written before then (same forms); default: the query's start.
        settings: Where Kafka and the registry are, and who reads (default:
            :func:`~streams.config.load_settings`).
        catalog: The catalog to resolve ``product`` in (default: read it from Kafka).
        timeout_s: How long to wait for the broker without progress.

    Returns:
        A table with one column per field of the version's value schema (nested records as
        structs); its schema's metadata names the product version (``streams.product``),
        whether it is a snapshot (``streams.snapshot``) and how many records were skipped
        because they could not be decoded (``streams.skipped``).

    Raises:
        ConfigError: The product is unknown (the message lists close matches), or a time
            cannot be read; also when the ``query`` extra (pyarrow, duckdb) is missing.
        BrokerUnavailableError: Kafka cannot be reached.
        RegistryUnavailableError: The registry cannot be reached.
    """
    arrow_layout()  # a missing extra fails before any network call
    settings = settings or load_settings()
    catalog = catalog if catalog is not None else load_catalog(settings)
    entry = catalog.show(product).entry
    return table_of(
        entry, since=since, until=until, settings=settings, catalog=catalog, timeout_s=timeout_s
    )


def table_of(
    entry: CatalogEntry,
    *,
    since: Time | None,
    until: Time | None,
    settings: Settings,
    catalog: Catalog | None = None,
    now: datetime.datetime | None = None,
    timeout_s: float = 30.0,
) -> pa.Table:
    """One published product version as a table (see :func:`read`); ``now`` is the query's
    start, shared by the products of one SQL query."""
    snapshot = is_snapshot(entry, settings)
    span = window(since, until, snapshot=snapshot, now=now)
    found = read_entry(
        entry, span, snapshot=snapshot, settings=settings, catalog=catalog, timeout_s=timeout_s
    )
    skipped = sum(found.skipped.values())
    if skipped:
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(found.skipped.items()))
        logger.warning(
            "%s: skipped %d record(s) that cannot be decoded (%s); 'mesh tail %s' shows them",
            entry.key,
            skipped,
            reasons,
            entry.key,
        )
    metadata = {
        "streams.product": entry.key,
        "streams.snapshot": "true" if snapshot else "false",
        "streams.skipped": str(skipped),
        "streams.window": span.describe(),
    }
    return arrow_layout()(entry.schema).table(found.records, metadata=metadata)


def read_entry(
    entry: CatalogEntry,
    span: Window,
    *,
    snapshot: bool,
    settings: Settings,
    catalog: Catalog | None = None,
    timeout_s: float = 30.0,
) -> Snapshot:
    """The records of one published product version in ``span`` (see :func:`read`)."""
    found = Snapshot()
    latest: dict[bytes | None, Any] = {}
    keyless: list[Any] = []
    with ViewConsumer(
        entry.key,
        group_id=None,
        settings=settings,
        directory=catalog,
        reader_schema=without_logical_types(orjson.loads(entry.schema), only=UUID_TEXT),
        uuid_text=True,  # no uuid.UUID made per value, then written back as text
        from_beginning=True,
        start_ms=span.start_ms,
        tombstones=True,
        config={"fetch.wait.max.ms": 10},  # we read what exists: no empty fetch held back
    ) as consumer:
        # Partitions that handed out a record written after the window's end: read far enough
        # (a product written live never lets every partition sit at its end at once).
        passed: set[tuple[str, int]] = set()
        deadline = time.monotonic() + timeout_s
        while not consumer.at_end_or(passed):
            batch = consumer.consume(_BATCH, _POLL_S)
            if batch:
                deadline = time.monotonic() + timeout_s
            elif time.monotonic() > deadline:
                raise BrokerUnavailableError(
                    f"reading {entry.key} made no progress for {timeout_s:.0f}s before reaching "
                    "its end; check that the broker runs (mesh status)",
                    bootstrap_servers=settings.kafka.bootstrap_servers,
                )
            for event in batch:
                timestamp = event.timestamp_ms
                if timestamp not in span:
                    if timestamp >= span.end_ms:
                        passed.add((event.topic, event.partition))
                    continue
                found.read += 1
                value = event.value
                if isinstance(value, Undecodable):
                    found.skipped[value.reason] = found.skipped.get(value.reason, 0) + 1
                elif not snapshot:
                    if value is not None:
                        found.records.append(value)
                else:
                    key = event.key
                    if key is None:
                        if value is not None:
                            keyless.append(value)
                    elif value is None:
                        latest.pop(key, None)
                    else:
                        latest.pop(key, None)  # re-inserted: the order is the latest writes'
                        latest[key] = value
    if snapshot:
        found.records = keyless + list(latest.values())
    return found
