"""``without_logical_types``: all of them, or only some (a query keeps timestamps, reads uuids
as text)."""

from __future__ import annotations

from typing import Any

from streams.serialization.plain import without_logical_types

SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "R",
    "fields": [
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "maybe", "type": ["null", {"type": "string", "logicalType": "uuid"}]},
    ],
}


def test_every_logical_type_or_only_those_named_are_removed() -> None:
    assert without_logical_types(SCHEMA)["fields"] == [
        {"name": "id", "type": {"type": "string"}},
        {"name": "at", "type": {"type": "long"}},
        {"name": "maybe", "type": ["null", {"type": "string"}]},
    ]
    assert without_logical_types(SCHEMA, only={"uuid"})["fields"] == [
        {"name": "id", "type": {"type": "string"}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "maybe", "type": ["null", {"type": "string"}]},
    ]
