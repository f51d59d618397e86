"""``build_client``: librdkafka's refusals of a configuration become one ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from streams.config import KafkaSettings
from streams.errors import BrokerUnavailableError, ConfigError
from streams.kafka.client import build_client


@pytest.mark.parametrize("factory", [AdminClient, Producer, Consumer])
def test_an_unknown_extra_property_names_kafka_extra(factory: type) -> None:
    settings = KafkaSettings(bootstrap_servers="127.0.0.1:1", extra={"no.such.prop": 1})
    with pytest.raises(ConfigError, match=r"^kafka\.extra \(STREAMS_KAFKA__EXTRA\).*no\.such"):
        build_client(factory, settings.librdkafka(group_id="g"), settings=settings)


def test_a_ca_file_openssl_cannot_read_names_the_setting(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    settings = KafkaSettings(
        bootstrap_servers="127.0.0.1:1", security_protocol="SSL", ssl_ca_location=ca
    )
    with pytest.raises(ConfigError, match=r"^kafka\.ssl_ca_location \(STREAMS_KAFKA__SSL_CA"):
        build_client(AdminClient, settings.librdkafka(), settings=settings)


def test_a_valid_configuration_builds_the_client() -> None:
    settings = KafkaSettings(bootstrap_servers="127.0.0.1:1", extra={"client.id": "mesh"})
    assert isinstance(
        build_client(AdminClient, settings.librdkafka(), settings=settings), AdminClient
    )


def test_fail_fast_settings_refuse_an_unreachable_broker_at_once() -> None:
    # What the CLI asks for: one BrokerUnavailableError, not librdkafka's retries.
    settings = KafkaSettings(bootstrap_servers="127.0.0.1:1, 127.0.0.1:2")
    assert isinstance(
        build_client(AdminClient, settings.librdkafka(), settings=settings), AdminClient
    )
    eager = settings.failing_fast()
    assert eager.fail_fast
    assert eager.model_copy(update={"bootstrap_servers": "127.0.0.1:3"}).fail_fast
    with pytest.raises(
        BrokerUnavailableError, match=r"^Kafka at 127\.0\.0\.1:1, 127\.0\.0\.1:2 cannot"
    ):
        build_client(Consumer, eager.librdkafka(group_id="g"), settings=eager)
    # A refused configuration is still named as such first.
    refused = KafkaSettings(bootstrap_servers="127.0.0.1:1", extra={"no.such.prop": 1})
    with pytest.raises(ConfigError, match=r"kafka\.extra"):
        build_client(AdminClient, refused.librdkafka(), settings=refused.failing_fast())
