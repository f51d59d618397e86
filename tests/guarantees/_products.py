"""Putting a test product where the monitor finds it: its topic (kept a day, so old event
times are not deleted), its schema in the registry and its catalog entry, as `mesh product
apply` leaves them."""

from __future__ import annotations

import datetime
import json
from typing import Any

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from streams.catalog import CatalogEntry, CatalogStore, Product, entry_key
from streams.config import Settings
from streams.kafka.topics import create_topic
from streams.naming import dlq_topic


def publish(
    settings: Settings, product: Product, schema: dict[str, Any], *, dlq: bool = False
) -> int:
    """Create, register and publish ``product``; its schema id. ``dlq``: its ``.dlq`` too."""
    admin = AdminClient(settings.kafka.librdkafka())
    create_topic(admin, product.topic, config={"retention.ms": "86400000"})
    if dlq:
        create_topic(admin, dlq_topic(product.topic))
    text = json.dumps(schema)
    with (
        SchemaRegistryClient(settings.registry.client_conf()) as registry,
        CatalogStore(settings=settings) as catalog,
    ):
        catalog.ensure_topic()
        schema_id = registry.register_schema(product.ref.subject, Schema(text, "AVRO"))
        catalog.publish(
            CatalogEntry(
                key=entry_key(product),
                product=product,
                schema=text,
                schema_id=schema_id,
                subject=product.ref.subject,
                published_at=datetime.datetime.now(datetime.UTC),
            )
        )
    return int(schema_id)
