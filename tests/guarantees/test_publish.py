"""Publishing observations and alerts, and reading them back, on both brokers.

Every test uses its own uuid topics (passed as keywords), so tests never see each other's records.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from streams.config import Settings
from streams.errors import ConfigError
from streams.guarantees import (
    Alert,
    Observation,
    ObservationPublisher,
    State,
    alerts,
    observations,
)
from streams.guarantees.publish import ALERTS_RETENTION_MS


@dataclass
class Topics:
    observations: str
    alerts: str


@pytest.fixture
def topics() -> Topics:
    name = f"t{uuid.uuid4().hex[:10]}"
    return Topics(f"{name}.observations", f"{name}.alerts")


@pytest.fixture
def publisher(settings: Settings, topics: Topics) -> Iterator[ObservationPublisher]:
    with ObservationPublisher(
        settings=settings, observations_topic=topics.observations, alerts_topic=topics.alerts
    ) as found:
        yield found


def observed(
    topic: str, guarantee: str = "freshness", state: State = "met", at: int = 1_000
) -> Observation:
    domain, name, version = topic.split(".")
    return Observation.model_validate(
        {
            "product": f"{domain}.{name}",
            "version": int(version[1:]),
            "topic": topic,
            "guarantee": guarantee,
            "promised": 60_000,
            "observed": 1_000 if state == "met" else 90_000,
            "unit": "ms",
            "state": state,
            "since_ms": at,
            "window_ms": 300_000,
            "measured_at_ms": at,
        }
    )


def alert(topic: str, previous: State | None, state: State, at: int) -> Alert:
    data = observed(topic, state=state, at=at).model_dump(exclude={"window_ms", "details"})
    return Alert.model_validate(data | {"previous": previous})


def test_topics_are_created_with_their_configs(
    publisher: ObservationPublisher, settings: Settings, topics: Topics
) -> None:
    publisher.publish([observed("a.b.v1")], [alert("a.b.v1", None, "breached", 1)])
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    for topic, policy, retention in (
        (topics.observations, "compact", "-1"),
        (topics.alerts, "delete", str(ALERTS_RETENTION_MS)),
    ):
        assert len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 1
        resource = ConfigResource(ResourceType.TOPIC, topic)
        configs = admin.describe_configs([resource])[resource].result(10)
        assert configs["cleanup.policy"].value == policy
        assert configs["retention.ms"].value == retention


def test_latest_observation_per_key_filtered_by_product(
    publisher: ObservationPublisher, settings: Settings, topics: Topics
) -> None:
    publisher.publish(
        [
            observed("a.b.v1", "latency"),
            observed("a.b.v1", "freshness", "met", at=1),
            observed("a.b.v2", "freshness"),
            observed("c.d.v1", "volume"),
        ]
    )
    publisher.publish([observed("a.b.v1", "freshness", "breached", at=2)])
    found = observations(settings=settings, topic=topics.observations)
    assert [(o.topic, o.guarantee, o.state) for o in found] == [
        ("a.b.v1", "freshness", "breached"),
        ("a.b.v1", "latency", "met"),
        ("a.b.v2", "freshness", "met"),
        ("c.d.v1", "volume", "met"),
    ]
    assert found[0] == observed("a.b.v1", "freshness", "breached", at=2)
    by_id = observations("a.b", settings=settings, topic=topics.observations)
    assert [o.topic for o in by_id] == ["a.b.v1", "a.b.v1", "a.b.v2"]
    by_version = observations("a.b.v2", settings=settings, topic=topics.observations)
    assert [o.key for o in by_version] == ["a.b.v2/freshness"]
    assert observations("x.y", settings=settings, topic=topics.observations) == []


def test_no_topic_no_observations_and_no_alerts(settings: Settings, topics: Topics) -> None:
    assert observations(settings=settings, topic=topics.observations) == []
    assert list(alerts(settings=settings, topic=topics.alerts)) == []


def test_bad_records_are_skipped_and_forgotten_keys_dropped(
    publisher: ObservationPublisher, settings: Settings, topics: Topics
) -> None:
    publisher.publish([observed("a.b.v1"), observed("a.b.v1", "latency")])
    raw = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    raw.produce(topics.observations, key=b"a.b.v1/volume", value=b"not json")
    assert raw.flush(10) == 0
    publisher.forget(["a.b.v1/latency"])
    found = observations(settings=settings, topic=topics.observations)
    assert [o.key for o in found] == ["a.b.v1/freshness"]


def test_alerts_read_to_the_end_and_since(
    publisher: ObservationPublisher, settings: Settings, topics: Topics
) -> None:
    sent = [
        alert("a.b.v1", None, "breached", 1_000),
        alert("a.b.v1", "breached", "met", 2_000),
        alert("a.b.v1", "met", "at_risk", 3_000),
    ]
    publisher.publish([], sent)
    assert list(alerts(settings=settings, topic=topics.alerts)) == sent
    assert list(alerts(settings=settings, topic=topics.alerts, since=2_000)) == sent[1:]
    moment = datetime.datetime.fromtimestamp(2.5, tz=datetime.UTC)
    assert list(alerts(settings=settings, topic=topics.alerts, since=moment)) == sent[2:]
    with pytest.raises(ConfigError, match="no time zone"):
        list(alerts(settings=settings, topic=topics.alerts, since=datetime.datetime(2026, 1, 1)))


def test_follow_waits_for_new_alerts(
    publisher: ObservationPublisher, settings: Settings, topics: Topics
) -> None:
    stream = alerts(settings=settings, topic=topics.alerts, follow=True)
    first = alert("a.b.v1", None, "breached", 1_000)
    publisher.publish([], [first])
    assert next(stream) == first
    second = alert("a.b.v1", "breached", "met", 2_000)
    publisher.publish([], [second])
    assert next(stream) == second
    stream.close()
