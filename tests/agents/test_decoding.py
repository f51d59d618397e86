"""Decoding without logical types: same bytes, base-type values the engine reads directly."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from streams.agents.decoding import without_logical_types
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
