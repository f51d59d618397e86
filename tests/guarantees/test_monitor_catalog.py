"""The monitor follows the catalog: a product applied while it runs is picked up at the next
catalog read, a retired one is dropped and its observations are tombstoned (README,
"Guarantees")."""

from __future__ import annotations

import datetime
import json
import uuid

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from streams.catalog import CatalogEntry, CatalogStore, Product, entry_key
from streams.config import Settings
from streams.guarantees import observations
from streams.guarantees.runner import Monitor
from streams.guarantees.watched import MonitorOptions
from streams.kafka.topics import create_topic
from tests.guarantees.test_monitor import SCHEMA, descriptor


def _publish(settings: Settings, product: Product) -> None:
    """The product's topic, schema and catalog entry, as `mesh product apply` leaves them."""
    create_topic(AdminClient(settings.kafka.librdkafka()), product.topic)
    with (
        SchemaRegistryClient({"url": settings.registry.url}) as registry,
        CatalogStore(settings=settings) as catalog,
    ):
        catalog.ensure_topic()
        schema_id = registry.register_schema(
            product.ref.subject, Schema(json.dumps(SCHEMA), "AVRO")
        )
        catalog.publish(
            CatalogEntry(
                key=entry_key(product),
                product=product,
                schema=json.dumps(SCHEMA),
                schema_id=schema_id,
                subject=product.ref.subject,
                published_at=datetime.datetime.now(datetime.UTC),
            )
        )


def test_applied_products_are_picked_up_and_retired_ones_dropped(settings: Settings) -> None:
    first, second = (descriptor(f"t{uuid.uuid4().hex[:10]}") for _ in range(2))
    _publish(settings, first)
    suffix = uuid.uuid4().hex[:8]
    options = MonitorOptions(
        window_s=60,
        publish_every_s=3600,  # only when asked
        catalog_every_s=3600,  # refreshed by hand below
        only=frozenset({first.topic, second.topic}),
        state_topic=f"_mesh.test.state.{suffix}",
        observations_topic=f"_mesh.test.observations.{suffix}",
        alerts_topic=f"_mesh.test.alerts.{suffix}",
    )

    def published() -> set[str]:
        found = observations(settings=settings, topic=options.observations_topic)
        return {o.topic for o in found}

    monitor = Monitor(settings=settings, options=options)
    try:
        monitor.start()
        assert monitor.products == [first.topic]
        monitor.publish()
        assert published() == {first.topic}

        _publish(settings, second)  # applied while the monitor runs
        monitor.refresh()
        assert monitor.products == sorted([first.topic, second.topic])
        monitor.publish()
        assert published() == {first.topic, second.topic}

        _publish(settings, first.model_copy(update={"status": "retired"}))
        monitor.refresh()
        assert monitor.products == [second.topic]
        monitor.publish()
        # The retired product's observations were tombstoned: readers no longer list them.
        assert published() == {second.topic}
    finally:
        monitor.close()
