"""A derived product's inputs on the cluster: one check shared by the live and replay drivers."""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from streams.agents.definition import DerivedProduct
from streams.config import Settings
from streams.errors import BrokerUnavailableError, ConfigError
from streams.kafka.client import build_client

__all__ = ["input_partitions"]


def input_partitions(definition: DerivedProduct, settings: Settings) -> int:
    """The inputs' common partition count: the number of tasks.

    Raises:
        ConfigError: An input topic is missing, or the inputs' partition counts differ
            (they must be co-partitioned by the key).
        BrokerUnavailableError: Kafka did not answer.
    """
    admin = build_client(AdminClient, settings.kafka.librdkafka(), settings=settings.kafka)
    counts: dict[str, int] = {}
    for port in definition.inputs:
        topic = port.ref.topic
        try:
            # All topics, not this one: asking for one topic lets the broker auto-create it.
            metadata = admin.list_topics(timeout=10).topics.get(topic)
        except KafkaException as exc:
            raise BrokerUnavailableError(
                f"Kafka at {settings.kafka.bootstrap_servers} did not describe {topic}: "
                f"{exc.args[0].str()}; check that the broker runs (mesh up)",
                bootstrap_servers=settings.kafka.bootstrap_servers,
            ) from exc
        if metadata is None or metadata.error is not None or not metadata.partitions:
            raise ConfigError(
                f"input topic {topic} of {definition.ref.id} ({port.product} v{port.version}) "
                "does not exist: publish that product first (mesh product apply), or fix the "
                "definition's inputs"
            )
        counts[topic] = len(metadata.partitions)
    if len(set(counts.values())) != 1:
        shown = ", ".join(f"{topic}: {n}" for topic, n in counts.items())
        raise ConfigError(
            f"the inputs of {definition.ref.id} have different partition counts ({shown}); "
            "a task reads one partition number of every input, so give them the same count"
        )
    return next(iter(counts.values()))
