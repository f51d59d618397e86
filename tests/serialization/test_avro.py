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
    with pytest.raises(SerializationError, match="'track_ids' expects array<string>"):
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
