from __future__ import annotations

import datetime

import pytest

from streams.errors import DeserializationError, SerializationError
from streams.serialization import AvroDecoder, AvroEncoder, frame, header, schema_id_of

SCHEMA = {
    "type": "record",
    "name": "PlayEvent",
    "namespace": "music.player",
    "fields": [
        {"name": "user_id", "type": "string"},
        {"name": "ms_played", "type": "long"},
        {"name": "device", "type": {"type": "enum", "name": "Device", "symbols": ["IOS", "WEB"]}},
        {"name": "previous_device", "type": ["null", "Device"], "default": None},
        {
            "name": "context",
            "type": {
                "type": "record",
                "name": "Context",
                "fields": [{"name": "playlist_id", "type": ["null", "string"], "default": None}],
            },
        },
        {"name": "track_ids", "type": {"type": "array", "items": "string"}},
        {"name": "event_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}
GOOD = {
    "user_id": "u1",
    "ms_played": 1500,
    "device": "IOS",
    "context": {"playlist_id": None},
    "track_ids": ["a", "b"],
    "event_time": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
}


def test_round_trip_is_confluent_framed() -> None:
    data = AvroEncoder(SCHEMA, schema_id=42)(GOOD)
    assert data[:5] == header(42) == b"\x00\x00\x00\x00\x2a"
    assert schema_id_of(data) == 42
    assert AvroDecoder(SCHEMA, schema_id=42)(data) == {**GOOD, "previous_device": None}


@pytest.mark.parametrize(
    ("change", "path", "expected"),
    [
        ({"ms_played": "1500"}, "ms_played", "long"),
        ({"ms_played": 1.5}, "ms_played", "long"),
        ({"ms_played": True}, "ms_played", "long"),
        ({"device": "FRIDGE"}, "device", "enum music.player.Device ['IOS', 'WEB']"),
        ({"previous_device": "FRIDGE"}, "previous_device", "null | music.player.Device"),
        ({"context": {"playlist_id": 7}}, "context.playlist_id", "null | string"),
        ({"track_ids": ["a", 2]}, "track_ids[1]", "string"),
        ({"user_id": None}, "user_id", "string"),
        ({"usr_id": "typo"}, "usr_id", "no such field"),
    ],
)
def test_invalid_events_name_path_type_and_value(change: dict, path: str, expected: str) -> None:
    encoder = AvroEncoder(SCHEMA, schema_id=1, product="player.play_events")
    with pytest.raises(SerializationError) as caught:
        encoder({**GOOD, **change})
    error = caught.value
    assert error.path == path
    assert error.expected is not None
    assert error.expected.startswith(expected)
    assert f"'{path}'" in str(error)
    assert "player.play_events" in str(error)
    assert "Nothing was sent" in str(error)


def test_missing_required_field() -> None:
    event = {k: v for k, v in GOOD.items() if k != "track_ids"}
    with pytest.raises(
        SerializationError,
        match="missing required field 'track_ids' \\(array<string>, no default\\)",
    ):
        AvroEncoder(SCHEMA, schema_id=1)(event)


def test_reader_schema_projection_both_ways() -> None:
    old = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "string"}]}
    new = {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "a", "type": "string"},
            {"name": "b", "type": ["null", "string"], "default": None},
        ],
    }
    written_new = AvroEncoder(new, schema_id=2)({"a": "x", "b": "y"})
    assert AvroDecoder(new, schema_id=2, reader=old)(written_new) == {"a": "x"}
    written_old = AvroEncoder(old, schema_id=1)({"a": "x"})
    assert AvroDecoder(old, schema_id=1, reader=new)(written_old) == {"a": "x", "b": None}


@pytest.mark.parametrize(
    ("data", "reason"),
    [(None, "null"), (b"\x00\x01", "not-framed"), (b'{"json": true}', "not-framed")],
)
def test_unframed_values(data: bytes | None, reason: str) -> None:
    with pytest.raises(DeserializationError) as caught:
        schema_id_of(data)
    assert caught.value.reason == reason


def test_corrupt_body_is_a_deserialization_error() -> None:
    with pytest.raises(DeserializationError) as caught:
        AvroDecoder(SCHEMA, schema_id=3)(frame(3, b"\xff\xff\xff\xff\xff\xff\xff"))
    assert caught.value.reason == "corrupt"
    assert caught.value.schema_id == 3


def test_fast_path_matches_fastavros_public_api() -> None:
    import io
    import json
    from pathlib import Path

    import fastavro

    from streams.serialization import _fastavro

    assert _fastavro.FAST, "fastavro's compiled entry points moved: check _fastavro.py"
    schema = json.loads((Path(__file__).parents[2] / "schemas/player/PlayEvent.avsc").read_text())
    parsed = fastavro.parse_schema(schema)
    event = {
        "event_id": "2f3c1d9a-1111-2222-3333-444455556666",
        "event_time": 1_795_000_000_000,
        "user_id": "2f3c1d9a-1111-2222-3333-444455556667",
        "track_id": "2f3c1d9a-1111-2222-3333-444455556668",
        "device": "WEB",
        "country": "SE",
        "ms_played": 181_000,
        "context_type": "PLAYLIST",
        "context_id": "2f3c1d9a-1111-2222-3333-444455556669",
        "end_reason": "TRACK_DONE",
        "app_version": "8.9.2",
    }
    ours = AvroEncoder(schema, schema_id=9)(event)
    reference = io.BytesIO()
    fastavro.schemaless_writer(reference, parsed, event)
    assert ours[5:] == reference.getvalue()
    stream = io.BytesIO(ours[5:])
    assert AvroDecoder(schema, schema_id=9)(ours) == fastavro.schemaless_reader(stream, parsed)


def test_unknown_nested_field_is_refused() -> None:
    with pytest.raises(SerializationError) as caught:
        AvroEncoder(SCHEMA, schema_id=1)({**GOOD, "context": {"playlist_id": None, "extra": 1}})
    assert caught.value.path == "context.extra"


def test_trailing_bytes_after_a_valid_event_are_refused() -> None:
    data = AvroEncoder(SCHEMA, schema_id=4)(GOOD) + b"\x02\x04\x06"
    with pytest.raises(DeserializationError, match="3 trailing bytes") as caught:
        AvroDecoder(SCHEMA, schema_id=4)(data)
    assert caught.value.reason == "trailing-bytes"
    assert caught.value.schema_id == 4


@pytest.mark.parametrize(
    "writer",
    [
        {"type": "bytes", "logicalType": "decimal", "precision": 2, "scale": 5},
        {"type": "record", "name": "R", "fields": [{"name": "x", "type": "music.Missing"}]},
    ],
    ids=["decimal-scale-above-precision", "unresolved-reference"],
)
def test_a_writer_schema_fastavro_cannot_load_is_a_deserialization_error(writer: dict) -> None:
    with pytest.raises(DeserializationError, match="schema id 77 cannot be loaded") as caught:
        AvroDecoder(writer, schema_id=77)
    assert caught.value.reason == "unreadable-schema"
    assert caught.value.schema_id == 77


def test_references_are_loaded_before_the_writer() -> None:
    import json

    money = {
        "type": "record",
        "name": "Money",
        "namespace": "shop",
        "fields": [{"name": "cents", "type": "long"}, {"name": "currency", "type": "Currency"}],
    }
    currency = {"type": "enum", "name": "Currency", "namespace": "shop", "symbols": ["EUR"]}
    order = {
        "type": "record",
        "name": "Order",
        "namespace": "shop",
        "fields": [{"name": "total", "type": "shop.Money"}],
    }
    value = {"total": {"cents": 250, "currency": "EUR"}}
    full = {
        **order,
        "fields": [
            {
                "name": "total",
                "type": {
                    **money,
                    "fields": [money["fields"][0], {"name": "currency", "type": currency}],
                },
            }
        ],
    }
    data = AvroEncoder(full, schema_id=5)(value)
    decoder = AvroDecoder(json.dumps(order), schema_id=5, references=[currency, json.dumps(money)])
    assert decoder(data) == value


def test_fast_path_probe_accepts_fastavros_internals() -> None:
    from fastavro._read import _read_data  # type: ignore[attr-defined]
    from fastavro._write import write_data  # type: ignore[attr-defined]

    from streams.serialization import _fastavro

    assert _fastavro._probe(write_data, _read_data)
    assert _fastavro._load() == (write_data, _read_data)


def test_fast_path_falls_back_when_fastavros_internals_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import fastavro._read
    import fastavro._write

    from streams.serialization import _fastavro

    def wrong_bytes(buffer: bytearray, datum: object, *args: object) -> None:
        buffer += b"\x00"

    def new_signature(stream: object, writer: object) -> object:
        return {}

    monkeypatch.setattr(fastavro._write, "write_data", wrong_bytes)
    assert _fastavro._load() is None
    monkeypatch.undo()
    monkeypatch.setattr(fastavro._read, "_read_data", new_signature)
    assert _fastavro._load() is None
    monkeypatch.delattr(fastavro._write, "write_data")
    assert _fastavro._load() is None


def test_the_public_fallback_writes_and_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.serialization import _fastavro

    fast = AvroEncoder(SCHEMA, schema_id=6)(GOOD)
    monkeypatch.setattr(_fastavro, "FAST", False)
    assert AvroEncoder(SCHEMA, schema_id=6)(GOOD) == fast
    assert AvroDecoder(SCHEMA, schema_id=6)(fast) == {**GOOD, "previous_device": None}
    with pytest.raises(DeserializationError) as caught:
        AvroDecoder(SCHEMA, schema_id=6)(fast + b"\x00")
    assert caught.value.reason == "trailing-bytes"


NESTED = {
    "type": "record",
    "name": "Outer",
    "fields": [
        {
            "name": "inner",
            "type": {"type": "record", "name": "Inner", "fields": [{"name": "n", "type": "long"}]},
        },
        {"name": "count", "type": "int", "default": 0},
        {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
        {"name": "scores", "type": {"type": "array", "items": "long"}, "default": []},
        {"name": "flag", "type": "boolean", "default": False},
        {"name": "ratio", "type": ["null", "float"], "default": None},
        {"name": "counts", "type": {"type": "map", "values": "int"}, "default": {}},
        {
            "name": "at",
            "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}],
            "default": None,
        },
        {
            "name": "micros",
            "type": {"type": "long", "logicalType": "timestamp-micros"},
            "default": 0,
        },
        {"name": "nothing", "type": "null", "default": None},
    ],
}
NESTED_OK = {"inner": {"n": 5}}


@pytest.mark.parametrize(
    ("change", "path", "expected"),
    [
        # floats, bools and Decimals in nested int/long fields were truncated (5.5 -> 5)
        ({"inner": {"n": 5.5}}, "inner.n", "long"),
        ({"inner": {"n": True}}, "inner.n", "long"),
        ({"scores": [2.7, 3]}, "scores[0]", "long"),
        ({"scores": [2, True]}, "scores[1]", "long"),
        ({"counts": {"a": 1.5}}, "counts['a']", "int"),
        # a string or dict given for an array was written as its characters or keys
        ({"tags": "t1"}, "tags", "array<string>"),
        ({"tags": {"a": "b"}}, "tags", "array<string>"),
        ({"tags": {"a", "b"}}, "tags", "array<string>"),
        # an int beyond 32 bits was written as a varint Avro's readers reject
        ({"count": 99_999_999_999}, "count", "int"),
        ({"count": -(2**31) - 1}, "count", "int"),
        # anything truthy was written as a boolean, anything at all as null
        ({"flag": "yes"}, "flag", "boolean"),
        ({"flag": 1}, "flag", "boolean"),
        ({"nothing": 0}, "nothing", "null"),
        ({"ratio": True}, "ratio", "null | float"),
        ({"ratio": 1e39}, "ratio", "null | float"),
        ({"micros": 1.5}, "micros", "long (timestamp-micros)"),
        # fastavro writes a (branch, value) tuple in a union without validating the value
        ({"at": ("long", 5.5)}, "at", "long (timestamp-millis)"),
    ],
)
def test_lossy_values_are_refused_anywhere(change: dict, path: str, expected: str) -> None:
    encoder = AvroEncoder(NESTED, schema_id=1, product="a.b")
    with pytest.raises(SerializationError) as caught:
        encoder({**NESTED_OK, **change})
    assert caught.value.path == path
    assert caught.value.expected == expected
    assert f"field '{path}' expects {expected}" in str(caught.value)
    assert "Nothing was sent" in str(caught.value)


@pytest.mark.parametrize("field", ["at", "micros"])
def test_naive_datetimes_are_refused(field: str) -> None:
    naive = datetime.datetime(2026, 1, 1, 12)
    with pytest.raises(SerializationError, match="aware datetime") as caught:
        AvroEncoder(NESTED, schema_id=1)({**NESTED_OK, field: naive})
    assert caught.value.path == field
    assert caught.value.value == naive


def test_valid_values_still_encode_and_round_trip() -> None:
    event = {
        "inner": {"n": 2**63 - 1},
        "count": -(2**31),
        "tags": ("a", "b"),
        "scores": [1, -2],
        "flag": True,
        "ratio": 2,
        "counts": {"x": 2**31 - 1},
        "at": datetime.datetime(
            2026, 1, 1, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))
        ),
        "micros": 7,
        "nothing": None,
    }
    data = AvroEncoder(NESTED, schema_id=1)(event)
    decoded = AvroDecoder(NESTED, schema_id=1)(data)
    assert decoded["at"] == datetime.datetime(2026, 1, 1, 17, tzinfo=datetime.UTC)
    assert decoded["tags"] == ["a", "b"]
    assert decoded["counts"] == {"x": 2**31 - 1}


def test_an_int_beyond_64_bits_is_named() -> None:
    with pytest.raises(SerializationError) as caught:
        AvroEncoder(NESTED, schema_id=1)({"inner": {"n": 2**63}})
    assert caught.value.path == "inner.n"
    assert "out of range" in str(caught.value)


EDGES = {
    "type": "record",
    "name": "Edges",
    "fields": [
        {"name": "empty", "type": {"type": "record", "name": "Empty", "fields": []}, "default": {}},
        {"name": "labels", "type": {"type": "map", "values": "string"}, "default": {}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}, "default": 0},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}, "default": 0},
        {
            "name": "price",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 2, "scale": 0},
            "default": "",
        },
    ],
}


@pytest.mark.parametrize(
    ("change", "path", "hint"),
    [
        # found by tests/avro/test_properties.py::test_wrong_values_are_refused_never_altered
        ({"empty": ""}, "empty", ""),  # fastavro writes an empty record for any value
        ({"labels": ""}, "labels", "dict"),  # ... and an empty map for "" or []
        ({"labels": []}, "labels", "dict"),
        ({"at": -62_135_596_800_001}, "at", "out of range"),  # before year 1: unreadable
        ({"day": 2_932_897}, "day", "out of range"),  # after year 9999
        ({"price": b"\x00\x64"}, "price", "more than 2 digits"),  # 100: readers round it
    ],
)
def test_values_no_reader_gets_back_are_refused(change: dict, path: str, hint: str) -> None:
    with pytest.raises(SerializationError) as caught:
        AvroEncoder(EDGES, schema_id=1)(change)
    assert caught.value.path == path
    assert hint in str(caught.value)
