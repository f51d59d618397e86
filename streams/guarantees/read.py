"""Reading what the monitor published: the latest observations, and the alerts as a stream.

Both read with ``assign()`` (no consumer group to join) and decide "caught up" by the
end-of-partition event, never by ListOffsets, which the embedded broker answers wrongly
(BROKER.md). ``_mesh.observations`` is read whole and folded to the last value per key: the
embedded broker does not really compact. Records that are not observations or alerts are
skipped with a warning, never fatal.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterator

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from streams.config import Settings
from streams.errors import BrokerUnavailableError, ConfigError, DeserializationError
from streams.guarantees.publish import ALERTS_CONFIG, ensure_topic
from streams.guarantees.records import GUARANTEES, Alert, Observation
from streams.kafka.client import build_client
from streams.kafka.topics import read_to_end, topic_names
from streams.naming import alerts_topic as default_alerts_topic
from streams.naming import observations_topic as default_observations_topic

__all__ = ["alerts", "observations"]

logger = logging.getLogger(__name__)


def _exists(settings: Settings, topic: str, timeout_s: float) -> bool:
    kafka = settings.kafka
    admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
    return topic in topic_names(admin, bootstrap=kafka.bootstrap_servers, timeout_s=timeout_s)


def observations(
    product: str | None = None,
    *,
    settings: Settings,
    topic: str | None = None,
    timeout_s: float = 30.0,
) -> list[Observation]:
    """The latest observation of every guarantee, sorted by product topic and guarantee.

    Args:
        product: Only this product: ``<domain>.<name>`` (every version) or
            ``<domain>.<name>.v<major>``; None: the whole mesh.
        settings: Where Kafka is.
        topic: The observations topic (default ``_mesh.observations``).
        timeout_s: How long to wait for the broker and for the end of the topic.

    Returns:
        Nothing when the topic does not exist yet (no monitor has published).

    Raises:
        BrokerUnavailableError: Kafka cannot be reached, or the end of the topic was not
            reached in time.
    """
    topic = topic or default_observations_topic()
    if not _exists(settings, topic, timeout_s):
        return []
    latest: dict[str, Observation] = {}
    conf = settings.kafka.librdkafka(group_id="streams-observations-read")
    for message in read_to_end(conf, topic, timeout_s=timeout_s):
        raw_key = message.key()
        key = raw_key.decode("utf-8", "replace") if isinstance(raw_key, bytes) else None
        value = message.value()
        if value is None:  # a tombstone: the product was retired
            if key is not None:
                latest.pop(key, None)
            continue
        try:
            found = Observation.from_value(value, topic=topic)
        except DeserializationError as exc:
            logger.warning("skipping %s offset %s: %s", topic, message.offset(), exc)
            continue
        latest[key or found.key] = found
    chosen = [o for o in latest.values() if product is None or product in (o.product, o.topic)]
    return sorted(chosen, key=lambda o: (o.topic, GUARANTEES.index(o.guarantee)))


def alerts(
    *,
    settings: Settings,
    follow: bool = False,
    since: int | datetime.datetime | None = None,
    topic: str | None = None,
    timeout_s: float = 30.0,
) -> Iterator[Alert]:
    """The alerts (changes of state) on ``_mesh.alerts``, oldest first.

    Args:
        settings: Where Kafka is.
        follow: Keep waiting for new alerts (until the caller stops iterating) instead of
            stopping at the end of the topic.
        since: Only alerts measured at or after this time (epoch ms, or an aware datetime);
            None: every alert the topic still keeps (7 days).
        topic: The alerts topic (default ``_mesh.alerts``).
        timeout_s: How long to wait for the broker, and (without ``follow``) for the end of
            the topic.

    Raises:
        BrokerUnavailableError: Kafka cannot be reached, or (without ``follow``) the end of the
            topic was not reached in time.
    """
    topic = topic or default_alerts_topic()
    since_ms = _epoch_ms(since)
    if follow:
        # Waiting for the first alert needs the topic; the publisher creates it the same way.
        ensure_topic(settings, topic, ALERTS_CONFIG, timeout_s=timeout_s)
    elif not _exists(settings, topic, timeout_s):
        return
    for message in _messages(settings, topic, follow=follow, timeout_s=timeout_s):
        value = message.value()
        if value is None:
            continue
        try:
            alert = Alert.from_value(value, topic=topic)
        except DeserializationError as exc:
            logger.warning("skipping %s offset %s: %s", topic, message.offset(), exc)
            continue
        # Filtered here, not by offsets_for_times: it is coarse on the embedded broker, and
        # the alert's own measuring time is what ``since`` means.
        if since_ms is None or alert.measured_at_ms >= since_ms:
            yield alert


def _epoch_ms(since: int | datetime.datetime | None) -> int | None:
    if since is None or isinstance(since, int):
        return since
    if since.tzinfo is None:
        raise ConfigError(
            f"since={since!r} has no time zone; give an aware datetime (e.g. with "
            "tzinfo=datetime.UTC) or epoch milliseconds"
        )
    return int(since.timestamp() * 1000)


def _messages(
    settings: Settings, topic: str, *, follow: bool, timeout_s: float
) -> Iterator[Message]:
    if not follow:
        conf = settings.kafka.librdkafka(group_id="streams-alerts-read")
        yield from read_to_end(conf, topic, timeout_s=timeout_s)
        return
    kafka = settings.kafka
    conf = kafka.librdkafka(
        group_id="streams-alerts-follow", enable_auto_commit=False, fetch_wait_max_ms=100
    )
    consumer = build_client(Consumer, conf, settings=kafka)
    try:
        consumer.assign(
            [TopicPartition(topic, p, OFFSET_BEGINNING) for p in _partitions(consumer, topic)]
        )
        while True:
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is None:
                yield message
            elif error.fatal():
                raise BrokerUnavailableError(
                    f"following {topic!r} failed: {error.str()}",
                    bootstrap_servers=kafka.bootstrap_servers,
                )
            elif error.code() != KafkaError._PARTITION_EOF:
                # librdkafka reconnects by itself; a follower outlives a broker restart.
                logger.warning("following %s: %s", topic, error.str())
    finally:
        consumer.close()


def _partitions(consumer: Consumer, topic: str, timeout_s: float = 10.0) -> list[int]:
    """The partitions of ``topic``; a topic just created may take a moment to show them."""
    deadline = time.monotonic() + timeout_s
    while True:
        partitions = sorted(consumer.list_topics(topic, timeout=timeout_s).topics[topic].partitions)
        if partitions or time.monotonic() > deadline:
            return partitions
        time.sleep(0.1)
