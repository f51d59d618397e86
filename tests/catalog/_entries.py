"""Build catalog entries (descriptor + schema) for tests, each in its own uuid domain."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from streams.catalog import CatalogEntry, Product, entry_key

SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "PlayEvent",
    "namespace": "test.player",
    "doc": "One playback.",
    "fields": [
        {"name": "event_id", "type": "string", "doc": "Unique id of the event."},
        {"name": "user_id", "type": "string", "doc": "The listener.", "pii": "pseudonymize"},
        {
            "name": "context",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "Context",
                    "fields": [
                        {"name": "playlist_id", "type": "string", "doc": "Curated moodboard id."}
                    ],
                },
            ],
            "default": None,
            "doc": "Where playback started.",
        },
        {
            "name": "event_time",
            "type": {"type": "long", "logicalType": "timestamp-millis"},
            "doc": "When the playback ended.",
        },
    ],
}

PUBLISHED = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


def domain() -> str:
    """A fresh domain name, so tests sharing the catalog topic never see each other's products."""
    return f"t{uuid.uuid4().hex[:10]}"


def descriptor(dom: str, name: str = "play_events", version: int = 1, **changes: Any) -> Product:
    """A valid descriptor; ``changes`` replace top-level (camelCase) keys."""
    data: dict[str, Any] = {
        "name": name,
        "domain": dom,
        "version": version,
        "kind": "source-aligned",
        "owner": {"team": "player-platform", "contact": "player@tunewave.example"},
        "description": {"purpose": "Every playback.", "usage": "Royalties and charts."},
        "classification": "confidential",
        "tags": ["playback"],
        "outputPort": {
            "schema": f"schemas/{dom}/PlayEvent.avsc",
            "key": "user_id",
            "eventTime": "event_time",
            "partitions": 3,
            "retention": "30d",
        },
        "guarantees": {
            "freshness": "1m",
            "latency": "30s",
            "completeness": 0.999,
            "maxDuplicateShare": 0.001,
            "availability": 0.999,
        },
        **changes,
    }
    return Product.model_validate(data)


def entry(
    product: Product, *, schema: dict[str, Any] | None = None, schema_id: int = 7
) -> CatalogEntry:
    """The catalog entry publishing ``product``."""
    return CatalogEntry(
        key=entry_key(product),
        product=product,
        schema=json.dumps(schema or SCHEMA),
        schema_id=schema_id,
        subject=product.ref.subject,
        published_at=PUBLISHED,
    )
