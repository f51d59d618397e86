"""Decoding without logical types: same bytes, base-type values the engine reads directly."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import pytest

from streams.agents.decoding import MiskeyedLog, not_an_input, not_keyed, without_logical_types
from streams.agents.definition import DerivedProduct, load_definition
from streams.agents.records import InputRecord
from streams.serialization.avro import AvroDecoder, AvroEncoder

PLAY = (Path(__file__).parents[2] / "schemas/player/PlayEvent.avsc").read_text()


def test_values_come_back_as_their_base_types() -> None:
    event = {
        "event_id": str(uuid.uuid4()),
        "event_time": 1_780_000_000_123,
        "user_id": str(uuid.uuid4()),
        "track_id": str(uuid.uuid4()),
        "device": "IOS",
        "country": "DE",
        "ms_played": 1000,
        "context_type": "PLAYLIST",
        "context_id": str(uuid.uuid4()),
        "end_reason": "TRACK_DONE",
        "offline": False,
        "app_version": "8.9.12",
        "session_hint": None,
    }
    data = AvroEncoder(PLAY, schema_id=7)(event)
    plain = AvroDecoder(without_logical_types(json.loads(PLAY)), schema_id=7)
    assert plain(data) == event
    assert "logicalType" not in json.dumps(without_logical_types(json.loads(PLAY)))
    assert "logicalType" in PLAY  # the input is not modified in place


def _counts() -> DerivedProduct:
    return load_definition(Path(__file__).parents[2] / "products/player/hourly_play_sessions.py")


def test_a_miskeyed_record_gets_a_dead_letter_reason_that_says_how_to_fix_it() -> None:
    value = {"user_id": "u-1", "event_time": 5}
    unkeyed = not_keyed(_counts(), InputRecord("player.play_events.v1", 3, 9, 0, None, value))
    assert unkeyed.reason == "not-keyed-by-user_id"
    assert (unkeyed.topic, unkeyed.partition, unkeyed.offset) == ("player.play_events.v1", 3, 9)
    text = str(unkeyed)
    assert "player.play_events.v1[3]@9" in text
    assert "null Kafka key" in text
    assert "'u-1'" in text
    assert "mesh produce" in text
    other = not_keyed(_counts(), InputRecord("player.play_events.v1", 3, 9, 0, b"u-2", value))
    assert "Kafka key b'u-2'" in str(other)


def test_miskeyed_records_are_logged_once_per_interval_with_topic_and_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    log = MiskeyedLog(_counts(), every_s=10.0, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="streams.agents.decoding")
    log.add("player.play_events.v1", 3)
    now[0] = 4.0
    log.add("player.play_events.v1", 5)
    assert len(caplog.records) == 1  # the first at once, then at most one line per interval
    assert "3 records of player.play_events.v1" in caplog.records[0].getMessage()
    now[0] = 11.0
    log.add("player.play_events.v1", 1)
    assert len(caplog.records) == 2
    message = caplog.records[1].getMessage()
    assert "6 records of player.play_events.v1" in message
    assert "9 in all" in message
    assert "not keyed by user_id" in message
    log.add("player.play_events.v1", 2)
    log.flush()  # what is still unreported when the driver stops
    assert len(caplog.records) == 3
    assert "2 records of player.play_events.v1" in caplog.records[2].getMessage()
    log.flush()
    assert len(caplog.records) == 3


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"user_id": "u-1", "event_time": None}, "its 'event_time' is None"),
        ({"user_id": "u-1", "event_time": "yesterday"}, "its 'event_time' is 'yesterday'"),
        ({"user_id": None, "event_time": 5}, "its 'user_id' is None"),
        ("just text", "the value is a str, not a record"),
        ({"x": 1}, "its fields: ['x']"),
    ],
)
def test_a_value_the_engine_cannot_count_is_refused_with_what_is_wrong(
    value: object, words: str
) -> None:
    refused = not_an_input(_counts(), value)
    assert refused is not None
    assert refused.reason == "not-an-input"
    assert words in str(refused)


def test_an_event_with_key_and_time_is_an_input() -> None:
    assert not_an_input(_counts(), {"user_id": "u-1", "event_time": 5, "more": 1}) is None
