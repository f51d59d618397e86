"""A SASL_PLAINTEXT Apache Kafka: the settings reach librdkafka and ``mesh doctor`` passes.

Uses the session's SASL/SCRAM Kafka (``tests/helpers/sasl_kafka.py``); the session platform
stays PLAINTEXT.
"""

from __future__ import annotations

import pytest

from streams.catalog.doctor import diagnose
from streams.config import RegistrySettings, Settings
from tests.helpers.sasl_kafka import SaslKafka

HOST = "127.0.0.1"


@pytest.mark.brokers("kafka")
def test_doctor_passes_with_the_right_credentials(broker_kind: str, sasl_kafka: SaslKafka) -> None:
    settings = Settings(
        kafka=sasl_kafka.settings(), registry=RegistrySettings(url=f"http://{HOST}:1")
    )
    found = {f.check: f.outcome for f in diagnose(settings, timeout_s=10)}
    assert found["broker"] == "ok"
    assert found["topics"] == "ok"
    assert found["catalog"] == "ok"


@pytest.mark.brokers("kafka")
def test_doctor_names_a_wrong_password(broker_kind: str, sasl_kafka: SaslKafka) -> None:
    settings = Settings(
        kafka=sasl_kafka.settings(password="wrong"),
        registry=RegistrySettings(url=f"http://{HOST}:1"),
    )
    broker = diagnose(settings, timeout_s=2)[0]
    assert broker.outcome == "failed"
    assert "refused the credentials" in broker.detail
    assert "kafka.sasl_password" in broker.fix
    assert "wrong" not in broker.detail
