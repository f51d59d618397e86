"""JSON values into the codec's Python values, as `mesh produce` reads them."""

from __future__ import annotations

import datetime
import decimal
import json
from typing import Any

import pytest

from streams.avro import parse_schema
from streams.avro.json_values import from_json
from streams.serialization import AvroDecoder, AvroEncoder

UTC = datetime.UTC


def _schema(kind: Any) -> Any:
    return {"type": "record", "name": "R", "fields": [{"name": "f", "type": kind}]}


def _convert(kind: Any, value: Any) -> Any:
    return from_json({"f": value}, parse_schema(json.dumps(_schema(kind))))["f"]


MILLIS = {"type": "long", "logicalType": "timestamp-millis"}


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        (MILLIS, "2026-01-02T03:04:05.678Z", datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, UTC)),
        (
            {"type": "long", "logicalType": "timestamp-micros"},
            "2026-01-02T05:04:05.000001+02:00",
            datetime.datetime(2026, 1, 2, 3, 4, 5, 1, UTC),
        ),
        (
            {"type": "long", "logicalType": "local-timestamp-millis"},
            "2026-01-02T03:04:05",
            datetime.datetime(2026, 1, 2, 3, 4, 5),
        ),
        ({"type": "int", "logicalType": "date"}, "2026-01-02", datetime.date(2026, 1, 2)),
        ({"type": "int", "logicalType": "time-millis"}, "03:04:05", datetime.time(3, 4, 5)),
        (
            {"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2},
            "12.30",
            decimal.Decimal("12.30"),
        ),
        ("bytes", "ab\u00ff", b"ab\xff"),
        (["null", MILLIS], "2026-01-02T03:04:05Z", datetime.datetime(2026, 1, 2, 3, 4, 5, 0, UTC)),
        (
            {"type": "array", "items": MILLIS},
            ["1970-01-01T00:00:00Z"],
            [datetime.datetime(1970, 1, 1, tzinfo=UTC)],
        ),
    ],
)
def test_text_becomes_the_logical_types_value(kind: Any, text: Any, expected: Any) -> None:
    assert _convert(kind, text) == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (MILLIS, 1767322800000),  # epoch millis stay: the codec takes them
        (MILLIS, "2026-01-02T03:04:05"),  # no zone: left for the validator to refuse
        (MILLIS, "yesterday"),
        (["null", "string", MILLIS], "2026-01-02T03:04:05Z"),  # a string branch takes text
        ({"type": "string", "logicalType": "uuid"}, "6f1b9f3e-1c0a-4a55-9c1e-000000000001"),
        ("bytes", "\u20ac"),  # not Latin-1: left for the validator
        (["null", MILLIS], None),
    ],
)
def test_other_values_are_left_as_they_are(kind: Any, value: Any) -> None:
    assert _convert(kind, value) == value


def test_what_mesh_tail_prints_encodes_back_to_the_same_event() -> None:
    """`mesh tail` prints datetimes as ISO 8601: `mesh produce` must take them back."""
    schema = {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "at", "type": MILLIS},
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            {
                "name": "inner",
                "type": [
                    "null",
                    {
                        "type": "record",
                        "name": "I",
                        "fields": [
                            {"name": "at", "type": MILLIS},
                        ],
                    },
                ],
            },
        ],
    }
    event = {
        "at": datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, UTC),
        "day": datetime.date(2026, 1, 2),
        "inner": {"at": datetime.datetime(2026, 1, 2, tzinfo=UTC)},
    }
    printed = json.loads(json.dumps(event, default=lambda value: value.isoformat()))
    encode = AvroEncoder(schema, schema_id=1)
    back = encode(from_json(printed, parse_schema(json.dumps(schema))))
    assert back == encode(event)
    assert AvroDecoder(schema, schema_id=1)(back) == event
