"""Dead letters: a failed delivery is reported by one flush, not by every later one."""

from __future__ import annotations

import pytest
from confluent_kafka import Message
from confluent_kafka import Producer as RawProducer
from pydantic import BaseModel, ValidationError

from streams.errors import DeliveryError, DeserializationError
from streams.kafka import DeadLetters
from streams.kafka.consumer import model_error
from streams.kafka.deadletter import error_text
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


def test_the_error_header_says_where_the_message_came_from() -> None:
    original = Message(topic="d.p.v1", partition=2, offset=41, value=b"x", key=b"k")
    error = DeserializationError("the value is 1 byte long", reason="not-framed")
    assert error_text(original, error) == "d.p.v1[2]@41: the value is 1 byte long"
    named = DeserializationError("d.p.v1[2]@41 has a null Kafka key", reason="not-keyed-by-k")
    assert error_text(original, named) == "d.p.v1[2]@41 has a null Kafka key"  # not twice


def test_an_event_that_does_not_fit_the_model_names_each_field_in_one_line() -> None:
    class Play(BaseModel):
        ms_played: int
        tracks: list[int]

    with pytest.raises(ValidationError) as caught:
        Play.model_validate({"ms_played": "x", "tracks": [1, "y"]})
    text = str(model_error(Play, caught.value))
    assert "\n" not in text
    assert "field 'ms_played': Input should be a valid integer" in text
    assert "field 'tracks[1]'" in text
    assert "got 'y'" in text
    assert "errors.pydantic.dev" not in text
    assert "Play" in text
