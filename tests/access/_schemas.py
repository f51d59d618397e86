"""Schemas with protected fields for the access tests."""

from __future__ import annotations

import json
from typing import Any

from streams.avro import ParsedSchema, parse_schema

UUID_TYPE = {"type": "string", "logicalType": "uuid"}


def registered(**record: Any) -> ParsedSchema:
    """A listener registration: user_id pseudonymized, email, name and photo encrypted."""
    definition: dict[str, Any] = {
        "type": "record",
        "name": "Registered",
        "namespace": "test.listeners",
        "fields": [
            {"name": "event_id", "type": "string"},
            {"name": "user_id", "type": UUID_TYPE, "pii": "pseudonymize"},
            {"name": "email", "type": "string", "pii": "encrypt"},
            {"name": "display_name", "type": ["null", "string"], "default": None, "pii": "encrypt"},
            {"name": "photo", "type": ["null", "bytes"], "default": None, "pii": "encrypt"},
            {"name": "country", "type": "string"},
        ],
    }
    definition.update(record)
    return parse_schema(json.dumps(definition))


def event(user: str, **changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "event_id": "e-1",
        "user_id": user,
        "email": f"{user[:4]}@example.org",
        "display_name": "Ada Lovelace",
        "photo": b"\x89PNG...",
        "country": "SE",
    }
    value.update(changes)
    return value
