"""Values a new-user trial found slipping through as raw Python errors or unreadable data."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from streams.errors import SerializationError
from streams.serialization import AvroDecoder, AvroEncoder

SCHEMA = {
    "type": "record",
    "name": "Trial",
    "fields": [
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}, "default": 0},
        {
            "name": "at_us",
            "type": {"type": "long", "logicalType": "timestamp-micros"},
            "default": 0,
        },
        {"name": "ratio", "type": "double", "default": 0.0},
        {"name": "small", "type": "float", "default": 0.0},
        {"name": "maybe_ratio", "type": ["null", "double"], "default": None},
        {"name": "name", "type": "string", "default": ""},
        {
            "name": "inner",
            "type": {
                "type": "record",
                "name": "Inner",
                "fields": [{"name": "label", "type": ["null", "string"], "default": None}],
            },
            "default": {},
        },
        {"name": "count", "type": "long", "default": 0},
    ],
}
PLUS_5 = datetime.timezone(datetime.timedelta(hours=5))
MINUS_5 = datetime.timezone(datetime.timedelta(hours=-5))


def _refused(change: dict[str, Any]) -> SerializationError:
    with pytest.raises(SerializationError) as caught:
        AvroEncoder(SCHEMA, schema_id=1)(change)
    return caught.value


@pytest.mark.parametrize("field", ["at", "at_us"])
@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(1, 1, 1, 1, tzinfo=PLUS_5),  # before year 1 in UTC
        datetime.datetime(9999, 12, 31, 23, tzinfo=MINUS_5),  # after year 9999 in UTC
    ],
)
def test_aware_datetimes_outside_the_utc_range_are_refused(
    field: str, value: datetime.datetime
) -> None:
    error = _refused({field: value})
    assert error.path == field
    assert "UTC" in str(error)
    assert repr(value)[:30] in str(error)


def test_aware_datetimes_at_the_utc_edges_round_trip() -> None:
    early = datetime.datetime(1, 1, 1, 5, tzinfo=PLUS_5)  # 0001-01-01 00:00 UTC
    late = datetime.datetime(9999, 12, 31, 18, 59, tzinfo=MINUS_5)  # 23:59 UTC
    data = AvroEncoder(SCHEMA, schema_id=1)({"at": early, "at_us": late})
    decoded = AvroDecoder(SCHEMA, schema_id=1)(data)
    assert decoded["at"] == early
    assert decoded["at_us"] == late


@pytest.mark.parametrize("field", ["ratio", "small", "maybe_ratio"])
def test_an_int_too_large_for_a_float_is_refused_with_its_path(field: str) -> None:
    error = _refused({field: 10**400})
    assert error.path == field
    assert "too large" in str(error)


def test_a_lone_surrogate_names_the_field() -> None:
    error = _refused({"inner": {"label": "bad \udc80 text"}})
    assert error.path == "inner.label"
    assert "UTF-8" in str(error)
    assert _refused({"name": "\ud800"}).path == "name"
