"""Unit tests of the batch processor's pieces that need no broker."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from streams.agents.batches import _Decoders
from streams.errors import DeserializationError
from streams.kafka import SchemaSource
from streams.serialization import AvroEncoder

_V1 = {"type": "record", "name": "E", "fields": [{"name": "n", "type": "long"}]}
_V2 = {
    "type": "record",
    "name": "E",
    "fields": [{"name": "n", "type": "long"}, {"name": "s", "type": "string", "default": ""}],
}


class _Schemas:
    def __init__(self) -> None:
        self.fetched: list[int] = []

    def writer(self, schema_id: int) -> tuple[str, list[str]]:
        self.fetched.append(schema_id)
        return json.dumps({1: _V1, 2: _V2}[schema_id]), []


def test_each_writer_schema_is_fetched_once_and_its_decoder_found_by_the_header() -> None:
    schemas = _Schemas()
    decoders = _Decoders(cast(SchemaSource, schemas))
    one = AvroEncoder(_V1, schema_id=1)({"n": 7})
    two = AvroEncoder(_V2, schema_id=2)({"n": 8, "s": "x"})
    assert decoders.decode(one) == {"n": 7}
    assert decoders.decode(two) == {"n": 8, "s": "x"}
    assert decoders.decode(one) == {"n": 7}
    assert schemas.fetched == [1, 2]
    assert set(decoders.by_header) == {one[:5], two[:5]}
    assert decoders.by_header[two[:5]](two) == {"n": 8, "s": "x"}


@pytest.mark.parametrize("value", [None, b"", b"\x00\x00", b"\x01\x00\x00\x00\x01\x0e"])
def test_values_without_a_valid_header_are_refused_and_never_cached(value: Any) -> None:
    decoders = _Decoders(cast(SchemaSource, _Schemas()))
    with pytest.raises(DeserializationError):
        decoders.decode(value)
    assert decoders.by_header == {}


def test_a_corrupt_body_after_a_known_header_is_still_refused() -> None:
    decoders = _Decoders(cast(SchemaSource, _Schemas()))
    good = AvroEncoder(_V1, schema_id=1)({"n": 7})
    decoders.decode(good)
    with pytest.raises(DeserializationError, match="trailing"):
        decoders.by_header[good[:5]](good + b"\x00")
