"""A corrupt Avro body is dead-lettered with a message a person can act on: the schema id, the
field where decoding stopped, what was wrong in plain words and how to fix it (not fastavro's
raw exception text alone)."""

from __future__ import annotations

import json

import pytest

from streams.errors import DeserializationError
from streams.serialization import AvroDecoder, AvroEncoder

SCHEMA = {
    "type": "record",
    "name": "Play",
    "fields": [
        {"name": "n", "type": "long"},
        {"name": "user_id", "type": "string"},
        {"name": "kind", "type": ["null", "string"]},
        {"name": "done", "type": "boolean"},
    ],
}
VALUE = {"n": 1, "user_id": "abc", "kind": None, "done": True}


def _error(data: bytes) -> str:
    with pytest.raises(DeserializationError) as caught:
        AvroDecoder(SCHEMA, schema_id=12)(data)
    assert caught.value.reason == "corrupt"
    assert caught.value.schema_id == 12
    return str(caught.value)


def _good() -> bytes:
    return AvroEncoder(json.dumps(SCHEMA), schema_id=12)(VALUE)


def test_a_cut_value_names_the_field_it_ends_in() -> None:
    text = _error(_good()[:7])  # header, n, then one byte of user_id's length-prefixed text
    assert "schema id 12" in text
    assert "field 'user_id'" in text
    assert "bytes end before" in text
    assert "produce the event again" in text


def test_bytes_that_are_not_utf8_name_the_string_field() -> None:
    data = bytearray(_good())
    data[7] = 0xFF  # the first character of user_id
    text = _error(bytes(data))
    assert "field 'user_id'" in text
    assert "not valid UTF-8" in text


def test_a_union_branch_out_of_range_names_the_field() -> None:
    data = bytearray(_good())
    data[10] = 0x08  # kind's branch index: 4, of a 2-branch union
    text = _error(bytes(data))
    assert "field 'kind'" in text
    assert "union branch or enum symbol" in text
    assert "IndexError" in text  # the library's own words stay, at the end, for a bug report
