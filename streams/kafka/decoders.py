"""Decoders by writer schema id, each fetched from the registry once.

Values decode with the writer's schema as registered (found by the id in the Confluent framing)
and, with ``plain=True``, without logical types (:mod:`streams.serialization.plain`), which is
twice as fast for readers that only count and compare.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from streams.errors import DeserializationError
from streams.kafka.schemas import SchemaSource
from streams.serialization import AvroDecoder, schema_id_of
from streams.serialization.plain import without_logical_types

__all__ = ["WriterDecoders"]


class WriterDecoders:
    """Decode Confluent-framed Avro values with their writer's schema.

    Args:
        schemas: Where schemas are fetched by id.
        plain: Decode without logical types (uuid as str, timestamps as int).
    """

    def __init__(self, schemas: SchemaSource, *, plain: bool = True) -> None:
        self._schemas = schemas
        self._plain = plain
        self._decoders: dict[int, Callable[[bytes], Any]] = {}

    def decode(self, value: bytes | None) -> Any:
        """The decoded value.

        Raises:
            DeserializationError: A tombstone, a value without the framing, or one the writer's
                schema cannot read (the reason names which).
            SchemaError, RegistryUnavailableError: The writer's schema could not be fetched.
        """
        if value is None:
            raise DeserializationError(
                "a tombstone (null value): a deletion marker, not an event", reason="tombstone"
            )
        if len(value) < 5 or value[0] != 0:
            schema_id_of(value)  # raises with the precise reason
        schema_id = int.from_bytes(value[1:5], "big")
        decoder = self._decoders.get(schema_id)
        if decoder is None:
            decoder = self._decoders[schema_id] = self._build(schema_id)
        return decoder(value)

    def _build(self, schema_id: int) -> Callable[[bytes], Any]:
        writer, references = self._schemas.writer(schema_id)
        if not self._plain:
            return AvroDecoder(writer, schema_id=schema_id, references=list(references))
        return AvroDecoder(
            without_logical_types(orjson.loads(writer)),
            schema_id=schema_id,
            references=[without_logical_types(orjson.loads(text)) for text in references],
        )
