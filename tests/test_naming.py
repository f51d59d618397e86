from __future__ import annotations

from pathlib import Path

import pytest

from streams.errors import ConfigError
from streams.naming import (
    agent_group,
    alerts_topic,
    checkpoint_topic,
    dlq_topic,
    internal_topic,
    late_topic,
    observations_topic,
    parse_product,
    product_id,
    schema_file,
    subject_domain,
    superseded_major,
    topic_for,
    value_subject,
)


def test_the_conventions() -> None:
    ref = parse_product("player.play_events")
    assert (ref.id, ref.topic, ref.subject, ref.dlq) == (
        "player.play_events",
        "player.play_events.v1",
        "player.play_events.v1-value",
        "player.play_events.v1.dlq",
    )
    assert parse_product("player.play_events.v3").major == 3
    assert parse_product("player.play_events", major=2).topic == "player.play_events.v2"
    assert product_id("artists", "tracks") == "artists.tracks"
    assert topic_for("artists.tracks", 2) == "artists.tracks.v2"
    assert value_subject("a.b.v1") == "a.b.v1-value"
    assert dlq_topic("a.b.v1") == "a.b.v1.dlq"
    assert internal_topic("products") == "_mesh.products"
    assert observations_topic() == "_mesh.observations"
    assert alerts_topic() == "_mesh.alerts"
    assert late_topic("a.b.v1") == "a.b.v1.late"
    derived = parse_product("player.hourly_play_sessions", major=2)
    assert agent_group(derived) == "_mesh.agents.player.hourly_play_sessions.v2"
    assert checkpoint_topic(derived) == "_mesh.agents.player.hourly_play_sessions.v2.checkpoints"
    assert late_topic("player.play_events.v1") == "player.play_events.v1.late"
    assert schema_file(Path("/r"), "player", "PlayEvent") == Path(
        "/r/schemas/player/PlayEvent.avsc"
    )


@pytest.mark.parametrize(
    ("ref", "words"),
    [
        ("player", "<domain>.<product>"),
        ("Player.plays", "invalid domain name 'Player'"),
        ("player.play-events", "invalid product name 'play-events'"),
        ("player.plays.v0", "versions start at 1"),
    ],
)
def test_bad_names_say_how_to_fix(ref: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace(".", r"\.")):
        parse_product(ref)


def test_conflicting_versions() -> None:
    with pytest.raises(ConfigError, match="names version 1"):
        parse_product("a.b.v1", major=2)


def test_a_superseded_versions_files() -> None:
    assert schema_file(Path("/r"), "player", "PlayEvent", major=1) == Path(
        "/r/schemas/player/PlayEvent.v1.avsc"
    )
    with pytest.raises(ConfigError, match="versions start at 1"):
        schema_file(Path("/r"), "player", "PlayEvent", major=0)
    assert superseded_major(Path("schemas/player/PlayEvent.v12.avsc")) == 12
    assert superseded_major(Path("products/player/play_events.v1.yaml")) == 1
    assert superseded_major(Path("schemas/player/PlayEvent.avsc")) is None
    assert superseded_major(Path("products/player/play_events_v1.yaml")) is None


@pytest.mark.parametrize(
    ("subject", "domain"),
    [
        ("player.play_events.v1-value", "player"),
        ("listeners.registered.v12-value", "listeners"),
        ("player.play_events.v1-key", None),  # key subjects are not products' subjects
        ("player.play_events-value", None),  # no major version
        ("player.play_events.v1.dlq-value", None),
        ("_mesh.products-value", None),
        ("Player.play_events.v1-value", None),
        ("anything", None),
    ],
)
def test_subject_domain_is_the_owner_of_a_product_subject_only(
    subject: str, domain: str | None
) -> None:
    assert subject_domain(subject) == domain
