"""The test suite's Kafka tier: skipped with one reason, or a failure when CI requires it."""

from __future__ import annotations

import pytest

from tests.helpers import brokers


@pytest.fixture
def no_kafka(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(brokers, "_kafka_problem", lambda: "no `java` was found")


@pytest.mark.usefixtures("no_kafka")
def test_missing_kafka_is_a_skip_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(brokers.REQUIRE_KAFKA, raising=False)
    with pytest.raises(pytest.skip.Exception, match="Kafka tier skipped: no `java` was found"):
        brokers.kafka_settings()


@pytest.mark.usefixtures("no_kafka")
def test_missing_kafka_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(brokers.REQUIRE_KAFKA, "1")
    with pytest.raises(pytest.fail.Exception, match=r"tier required .*no `java` was found"):
        brokers.kafka_settings()


def test_the_tiers_can_be_narrowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(brokers.ONLY_BROKERS, "kafka")
    assert brokers.brokers() == ("kafka",)
    monkeypatch.setenv(brokers.ONLY_BROKERS, "")
    assert brokers.brokers() == ("tansu", "kafka")
    monkeypatch.setenv(brokers.ONLY_BROKERS, "redpanda")
    with pytest.raises(pytest.UsageError, match="redpanda"):
        brokers.brokers()
