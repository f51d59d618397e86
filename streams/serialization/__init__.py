"""Avro and the Confluent wire format: pure functions and codecs, no I/O."""

from __future__ import annotations

from streams.serialization.avro import AvroDecoder, AvroEncoder, parse
from streams.serialization.framing import HEADER_SIZE, MAGIC, frame, header, schema_id_of

__all__ = [
    "HEADER_SIZE",
    "MAGIC",
    "AvroDecoder",
    "AvroEncoder",
    "frame",
    "header",
    "parse",
    "schema_id_of",
]
