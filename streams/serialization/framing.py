"""Confluent wire format: magic byte 0, a 4-byte big-endian schema id, then the Avro body."""

from __future__ import annotations

import struct

from streams.errors import DeserializationError

__all__ = ["HEADER_SIZE", "MAGIC", "frame", "header", "schema_id_of"]

MAGIC = 0
HEADER_SIZE = 5
_HEADER = struct.Struct(">bI")


def header(schema_id: int) -> bytes:
    """The 5-byte prefix of every value written with ``schema_id``."""
    return _HEADER.pack(MAGIC, schema_id)


def frame(schema_id: int, body: bytes) -> bytes:
    """Prefix an Avro body with the wire-format header."""
    return _HEADER.pack(MAGIC, schema_id) + body


def schema_id_of(data: bytes | None) -> int:
    """The schema id of a framed value; raises DeserializationError when it is not framed."""
    if data is None:
        raise DeserializationError("the value is null (a tombstone), not an event", reason="null")
    if len(data) < HEADER_SIZE:
        raise DeserializationError(
            f"the value has {len(data)} bytes, fewer than the 5-byte Confluent header",
            reason="not-framed",
        )
    magic, schema_id = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise DeserializationError(
            f"the value starts with byte {magic}, not the Confluent magic byte 0: it was not "
            "written in the Confluent wire format (e.g. plain JSON or another serializer)",
            reason="not-framed",
        )
    return int(schema_id)
