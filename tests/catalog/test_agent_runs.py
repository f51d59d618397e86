"""Agent-run records carry the window the live agent computes, and old records still parse."""

from __future__ import annotations

import datetime

import orjson
import pytest

from streams.catalog.agents import AgentRunRecord
from streams.errors import DeserializationError

NOW = datetime.datetime(2026, 5, 1, 12, 0, tzinfo=datetime.UTC)
OLD = {
    "job": "player.hourly_play_sessions.v1",
    "inputs": ["player.play_events.v1"],
    "outputs": ["player.hourly_play_sessions.v1"],
    "agent_version": "sha256:0123456789abcdef",
    "processing": "STREAMING",
    "run_id": "r",
    "started_at": NOW.isoformat(),
}


def test_a_record_without_the_window_fields_still_parses() -> None:
    record = AgentRunRecord.from_value(orjson.dumps(OLD))
    assert record.key is None
    assert record.window_kind is None
    assert record.window_size_ms is None
    assert record.allowed_lateness_ms is None
    assert record.event_time is None


def test_the_window_fields_round_trip() -> None:
    record = AgentRunRecord(
        job="d.p.v1",
        inputs=("d.i.v1",),
        outputs=("d.p.v1",),
        agent_version="sha256:0123456789abcdef",
        processing="STREAMING",
        run_id="r",
        started_at=NOW,
        key="user_id",
        event_time="event_time",
        window_kind="hopping",
        window_size_ms=3_600_000,
        window_advance_ms=600_000,
        allowed_lateness_ms=60_000,
    )
    assert AgentRunRecord.from_value(record.to_value()) == record
    assert orjson.loads(record.to_value())["window"] == {
        "kind": "hopping",
        "size_ms": 3_600_000,
        "advance_ms": 600_000,
    }


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"kind": "sliding", "size_ms": 1000}, "tumbling, hopping or session"),
        ({"kind": "tumbling", "size_ms": 0}, "size_ms"),
        ({"kind": "tumbling"}, "size_ms"),
    ],
)
def test_a_bad_window_is_named(window: dict[str, object], message: str) -> None:
    with pytest.raises(DeserializationError, match=message):
        AgentRunRecord.from_value(orjson.dumps({**OLD, "window": window}))
