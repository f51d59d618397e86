"""Observations and alerts as JSON records: round trips, keys, and clear errors."""

from __future__ import annotations

import re

import orjson
import pytest

from streams.errors import DeserializationError
from streams.guarantees.records import Alert, Observation, observation_key


def observation() -> Observation:
    return Observation(
        product="player.play_events",
        version=1,
        topic="player.play_events.v1",
        guarantee="validity",
        promised=0.99,
        observed=0.5,
        unit="share",
        state="breached",
        since_ms=1,
        window_ms=300_000,
        measured_at_ms=2,
        details={"failures": [{"partition": 0, "offset": 3, "value": "'x'"}]},
    )


def test_observation_round_trip_and_key() -> None:
    found = observation()
    assert found.key == observation_key("player.play_events.v1", "validity")
    assert found.key == "player.play_events.v1/validity"
    assert Observation.from_value(found.to_value()) == found
    assert orjson.loads(found.to_value())["details"]["failures"][0]["offset"] == 3


def test_alert_round_trip() -> None:
    alert = Alert(
        product="player.play_events",
        version=1,
        topic="player.play_events.v1",
        guarantee="freshness",
        previous=None,
        state="at_risk",
        promised=60_000,
        observed=None,
        unit="ms",
        since_ms=5,
        measured_at_ms=5,
    )
    assert Alert.from_value(alert.to_value()) == alert


def test_unknown_fields_are_ignored() -> None:
    data = orjson.loads(observation().to_value()) | {"added_later": 1}
    assert Observation.from_value(orjson.dumps(data)) == observation()


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (b"{nope", "on _mesh.observations is not JSON"),
        (b"[1]", "is a JSON list, not an object"),
        (b'{"product": "x"}', "is not an observation: version: Field required"),
    ],
)
def test_bad_records_say_what_is_wrong(value: bytes, words: str) -> None:
    with pytest.raises(DeserializationError, match=re.escape(words)) as caught:
        Observation.from_value(value)
    assert caught.value.topic == "_mesh.observations"


def test_bad_alert_names_its_topic() -> None:
    data = orjson.loads(observation().to_value()) | {"previous": "met", "state": "fine"}
    with pytest.raises(DeserializationError, match=r"on t\.alerts is not an alert: state: "):
        Alert.from_value(orjson.dumps(data), topic="t.alerts")
