"""Decoding by writer schema id, with and without logical types."""

from __future__ import annotations

import uuid

import pytest

from streams.errors import DeserializationError
from streams.kafka import Producer, SchemaSource
from streams.kafka.decoders import WriterDecoders
from tests.helpers.kafka import Product, play


def test_plain_and_typed_values_by_writer_id(product: Product) -> None:
    with Producer(settings=product.settings) as producer:
        producer.emit(product.ref, play(1), key="user-1")
    (message,) = product.read_raw()
    schemas = SchemaSource.from_settings(product.settings.registry)
    try:
        plain = WriterDecoders(schemas).decode(message.value())
        typed = WriterDecoders(schemas, plain=False).decode(message.value())
    finally:
        schemas.close()
    assert plain["event_id"] == str(uuid.UUID(int=1))  # a str: no logical type
    assert typed["event_id"] == uuid.UUID(int=1)
    with pytest.raises(DeserializationError, match="tombstone"):
        WriterDecoders(schemas).decode(None)
    with pytest.raises(DeserializationError, match=r"magic byte|framing|Confluent"):
        WriterDecoders(schemas).decode(b"not avro")
