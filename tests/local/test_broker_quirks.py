"""What BROKER.md says about each broker, checked: the quirks our workarounds exist for.

If Tansu loses a quirk, its test here fails and tells us a workaround may go.
"""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer as RawConsumer
from confluent_kafka import Producer, TopicPartition

from streams.config import BrokerKind
from streams.local import PlatformInfo
from tests.helpers.kafka import create_topic


def test_list_offsets_after_a_multi_record_batch(
    platform: PlatformInfo, broker_kind: BrokerKind
) -> None:
    topic = f"t{uuid.uuid4().hex[:10]}.batch.v1"
    create_topic(platform.bootstrap_servers, topic)
    producer = Producer({"bootstrap.servers": platform.bootstrap_servers, "linger.ms": 1000})
    for n in range(50):
        producer.produce(topic, value=str(n).encode())
    assert producer.flush(10) == 0
    consumer = RawConsumer({"bootstrap.servers": platform.bootstrap_servers, "group.id": "q"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    finally:
        consumer.close()
    assert low == 0
    if broker_kind == "tansu":  # quirk 2: base offset of the last batch + 1
        assert high == 1
    else:  # Apache Kafka: the true end, so "from the end" could use ListOffsets there
        assert high == 50
