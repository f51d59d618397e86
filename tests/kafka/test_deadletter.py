"""Dead letters: a failed delivery is reported by one flush, not by every later one."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer as RawProducer

from streams.errors import DeliveryError, DeserializationError
from streams.kafka import DeadLetters
from tests.helpers.kafka import BIG_RECORDS, Product, produce_huge


@pytest.mark.topic_config(BIG_RECORDS)
def test_one_failed_dead_letter_is_reported_once(product: Product) -> None:
    produce_huge(product)
    raw = RawProducer({"bootstrap.servers": product.bootstrap})
    raw.produce(product.ref.topic, value=b"small", key=b"small")
    assert raw.flush(10) == 0
    huge, small = product.read_raw()
    error = DeserializationError("not framed", reason="not-framed")

    letters = DeadLetters(settings=product.settings)
    try:
        letters.send(huge, error)  # refused by Kafka: reported by flush, not raised here
        with pytest.raises(DeliveryError) as caught:
            letters.flush(10)
        assert caught.value.undelivered == 1
        assert letters.unstored == [(product.ref.topic, 0, 0)]
        letters.send(small, error)
        letters.flush(10)  # before: the old failure failed this flush too, forever
        assert letters.unstored == []
    finally:
        letters.close()
    assert [m.key() for m in product.read_raw(product.ref.dlq)] == [b"small"]
