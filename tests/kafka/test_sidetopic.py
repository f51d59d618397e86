"""Side topics read back: dead letters parsed from their headers, a side directory."""

from __future__ import annotations

import logging

import pytest
from confluent_kafka import Message

from streams.errors import DeserializationError
from streams.kafka import DeadLetters
from streams.kafka import headers as std
from streams.kafka.directory import ProductStatus
from streams.kafka.sidetopic import DeadLetter, SideDirectory
from streams.naming import ProductRef, dlq_topic, late_topic
from tests.helpers.kafka import Product


def test_a_dead_letter_is_read_from_its_headers() -> None:
    message = Message(
        topic="d.p.v1.dlq",
        partition=0,
        offset=3,
        key=b"k",
        value=b"\x00\x01",
        headers=[
            ("event_id", b"e1"),
            (std.DLQ_ERROR, b"bad bytes"),
            (std.DLQ_REASON, b"corrupt"),
            (std.DLQ_TOPIC, b"d.p.v1"),
            (std.DLQ_PARTITION, b"2"),
            (std.DLQ_OFFSET, b"17"),
            (std.DLQ_TIMESTAMP, b"not a number"),
        ],
    )
    letter = DeadLetter.of(message)
    assert (letter.reason, letter.error) == ("corrupt", "bad bytes")
    assert (letter.original_topic, letter.original_partition, letter.original_offset) == (
        "d.p.v1",
        2,
        17,
    )
    assert letter.original_timestamp_ms is None  # unreadable, not an error
    assert (letter.key, letter.value) == (b"k", b"\x00\x01")
    assert letter.headers == {"event_id": b"e1"}


class _Fake:
    def __init__(self, status: ProductStatus | None) -> None:
        self.status = status

    def resolve(self, ref: ProductRef) -> ProductStatus | None:
        return self.status


def test_side_directory_maps_to_the_side_topic_whatever_the_lifecycle() -> None:
    ref = ProductRef("d", "p", 2)
    retired = ProductStatus("d.p.v2", "retired", note="gone")
    found = SideDirectory(_Fake(retired), late_topic).resolve(ref)
    assert found is not None
    assert (found.topic, found.status) == ("d.p.v2.late", "active")
    assert SideDirectory(_Fake(None), late_topic).resolve(ref) is None
    convention = SideDirectory(None, dlq_topic).resolve(ref)
    assert convention is not None
    assert convention.topic == "d.p.v2.dlq"


def test_the_first_dead_letter_of_a_topic_names_the_tail_command(
    product: Product, caplog: pytest.LogCaptureFixture
) -> None:
    message = Message(topic=product.ref.topic, partition=0, offset=5, key=b"k", value=b"junk")
    dead = DeadLetters(settings=product.settings)
    error = DeserializationError("not framed", reason="not-framed")
    with caplog.at_level(logging.INFO, logger="streams.kafka.deadletter"):
        dead.send(message, error)
        dead.send(message, error)
        dead.close()
    hints = [r.getMessage() for r in caplog.records if "mesh tail" in r.getMessage()]
    assert hints == [
        f"dead letters of {product.ref.topic} go to {product.ref.topic}.dlq; read them with "
        f"`mesh tail {product.ref.topic} --dead-letters`"
    ]
