"""Avro types as Arrow columns: decoded with the project's codec, then converted."""

from __future__ import annotations

import datetime
import decimal
import io
import json
import uuid
from typing import Any

import fastavro
import pyarrow as pa
import pytest

from streams.query._arrow import layout_of
from streams.query._read import UUID_TEXT
from streams.serialization import AvroDecoder
from streams.serialization.plain import without_logical_types

SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Everything",
    "namespace": "test.query",
    "fields": [
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}, "doc": "The id."},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "user", "type": "string", "pii": "pseudonymize", "doc": "Who."},
        {"name": "n", "type": "int"},
        {"name": "big", "type": "long"},
        {"name": "ratio", "type": "double"},
        {"name": "ok", "type": "boolean"},
        {"name": "raw", "type": "bytes"},
        {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 2}},
        {
            "name": "price",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2},
        },
        {"name": "device", "type": {"type": "enum", "name": "Device", "symbols": ["IOS", "WEB"]}},
        {
            "name": "context",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "Context",
                    "fields": [
                        {"name": "playlist", "type": {"type": "string", "logicalType": "uuid"}},
                        {"name": "position", "type": "int"},
                    ],
                },
            ],
            "default": None,
        },
        {
            "name": "tracks",
            "type": {"type": "array", "items": {"type": "string", "logicalType": "uuid"}},
        },
        {"name": "counts", "type": {"type": "map", "values": "long"}},
        {"name": "either", "type": ["null", "long", "string"], "default": None},
        {
            "name": "tree",
            "type": {
                "type": "record",
                "name": "Node",
                "fields": [
                    {"name": "label", "type": "string"},
                    {"name": "child", "type": ["null", "Node"], "default": None},
                ],
            },
        },
    ],
}

ID = uuid.UUID(int=7)
PLAYLIST = uuid.UUID(int=8)
AT = datetime.datetime(2026, 11, 30, 10, 0, 0, 123000, tzinfo=datetime.UTC)


def record(**changes: Any) -> dict[str, Any]:
    return {
        "id": ID,
        "at": AT,
        "day": datetime.date(2026, 11, 30),
        "user": "pseudo-1",
        "n": 3,
        "big": 2**40,
        "ratio": 0.5,
        "ok": True,
        "raw": b"\x00\x01",
        "hash": b"ab",
        "price": decimal.Decimal("12.34"),
        "device": "WEB",
        "context": {"playlist": PLAYLIST, "position": 2},
        "tracks": [ID, PLAYLIST],
        "counts": {"a": 1},
        "either": 5,
        "tree": {"label": "root", "child": {"label": "leaf", "child": None}},
        **changes,
    }


def decoded(*records: dict[str, Any]) -> list[dict[str, Any]]:
    """The records written and read back as a query reads them (logical types applied, except
    uuids, read as text)."""
    parsed = fastavro.parse_schema(SCHEMA)
    plain = without_logical_types(SCHEMA, only=UUID_TEXT)
    decoder = AvroDecoder(plain, schema_id=1, reader=plain)
    out = []
    for value in records:
        buffer = io.BytesIO(b"\x00\x00\x00\x00\x01")
        buffer.seek(5)
        fastavro.schemaless_writer(buffer, parsed, value)
        out.append(decoder(buffer.getvalue()))
    return out


def test_every_avro_type_has_a_column_type() -> None:
    schema = layout_of(json.dumps(SCHEMA)).schema
    assert dict(zip(schema.names, schema.types, strict=True)) == {
        "id": pa.string(),
        "at": pa.timestamp("ms", tz="UTC"),
        "day": pa.date32(),
        "user": pa.string(),
        "n": pa.int32(),
        "big": pa.int64(),
        "ratio": pa.float64(),
        "ok": pa.bool_(),
        "raw": pa.binary(),
        "hash": pa.binary(2),
        "price": pa.decimal128(6, 2),
        "device": pa.string(),
        "context": pa.struct([("playlist", pa.string()), ("position", pa.int32())]),
        "tracks": pa.list_(pa.string()),
        "counts": pa.map_(pa.string(), pa.int64()),
        "either": pa.string(),
        "tree": pa.struct([("label", pa.string()), ("child", pa.string())]),
    }
    assert schema.field("id").metadata == {b"doc": b"The id."}
    assert schema.field("user").metadata == {b"doc": b"Who.", b"pii": b"pseudonymize"}


def test_decoded_records_become_rows_with_their_values() -> None:
    rows = decoded(record(), record(context=None, either="x", tracks=[], counts={}))
    table = layout_of(json.dumps(SCHEMA)).table(rows, metadata={"streams.product": "t.p.v1"})
    assert table.schema.metadata == {b"streams.product": b"t.p.v1"}
    first, second = table.to_pylist()
    assert first["id"] == str(ID)
    assert first["at"] == AT
    assert first["day"] == datetime.date(2026, 11, 30)
    assert first["price"] == decimal.Decimal("12.34")
    assert first["hash"] == b"ab"
    assert first["context"] == {"playlist": str(PLAYLIST), "position": 2}
    assert first["tracks"] == [str(ID), str(PLAYLIST)]
    assert first["counts"] == [("a", 1)]
    assert first["either"] == "5"
    assert first["tree"] == {"label": "root", "child": '{"label":"leaf","child":null}'}
    assert second["context"] is None
    assert second["either"] == '"x"'
    assert second["tracks"] == []


def test_no_records_still_give_the_columns() -> None:
    table = layout_of(json.dumps(SCHEMA)).table([])
    assert table.num_rows == 0
    assert table.schema.names[:3] == ["id", "at", "day"]


def test_a_schema_that_is_not_a_record_cannot_be_a_table() -> None:
    with pytest.raises(ValueError, match="must be a record"):
        layout_of('"string"')
