"""The registry's admin client, which says at once when Kafka refuses its credentials.

librdkafka reports a refused SASL login only to the error callback and keeps retrying, so a
registry with a wrong password would wait out its whole timeout and then blame the network.
The first metadata request is therefore tried in short steps while the callback listens.
"""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from streams.config import KafkaSettings
from streams.errors import ConfigError

__all__ = ["open_admin"]


def open_admin(kafka: KafkaSettings, *, probe_s: float = 5.0) -> AdminClient:
    """An admin client configured by ``kafka``, after a first metadata request.

    Args:
        kafka: The cluster and how to authenticate to it.
        probe_s: How long to look for a refusal; an unreachable Kafka is left to the caller.

    Raises:
        ConfigError: Kafka refused the credentials (the message names the settings to fix).
    """
    refused: list[KafkaError] = []

    def on_error(error: KafkaError) -> None:
        if error.code() == KafkaError._AUTHENTICATION:
            refused.append(error)

    conf: dict[str, Any] = kafka.librdkafka()
    conf["error_cb"] = on_error
    admin = AdminClient(conf)
    deadline = time.monotonic() + probe_s
    while time.monotonic() < deadline:
        try:
            admin.list_topics(timeout=0.5)
            return admin
        except KafkaException:
            admin.poll(0)  # serves the error callback
            if refused:
                raise _refused(kafka, refused[-1]) from None
    return admin


def _refused(kafka: KafkaSettings, error: KafkaError) -> ConfigError:
    user = kafka.sasl_username
    who = f"{kafka.sasl_mechanism} user {user!r}, " if user else ""
    return ConfigError(
        f"Kafka at {kafka.bootstrap_servers} refused the registry's credentials ({who}"
        f"{kafka.security_protocol}): {error.str()}. Check kafka.sasl_mechanism, "
        "kafka.sasl_username and kafka.sasl_password (STREAMS_KAFKA__SASL_PASSWORD), or the "
        "client certificate."
    )
