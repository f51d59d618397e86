"""Standard headers every event carries, and the dead-letter and late-copy headers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "AVRO_CONTENT_TYPE",
    "CONTENT_TYPE",
    "DLQ_ERROR",
    "DLQ_OFFSET",
    "DLQ_PARTITION",
    "DLQ_REASON",
    "DLQ_REDRIVEN_FROM",
    "DLQ_TIMESTAMP",
    "DLQ_TOPIC",
    "DOMAIN",
    "EVENT_ID",
    "LATE_PRODUCT",
    "LATE_SOURCE",
    "TRACE_ID",
    "Headers",
    "as_dict",
    "pairs",
]

EVENT_ID = "event_id"
DOMAIN = "domain"
CONTENT_TYPE = "content-type"
TRACE_ID = "trace_id"
AVRO_CONTENT_TYPE = b"application/vnd.confluent.avro"

DLQ_ERROR = "dlq.error"
DLQ_REASON = "dlq.reason"
DLQ_TOPIC = "dlq.original.topic"
DLQ_PARTITION = "dlq.original.partition"
DLQ_OFFSET = "dlq.original.offset"
DLQ_TIMESTAMP = "dlq.original.timestamp"
DLQ_REDRIVEN_FROM = "dlq.redriven.from"
"""A redriven copy's header (``mesh dlq redrive``): the dead letter it is a copy of,
``<topic>.dlq[<partition>]@<offset>``."""

LATE_PRODUCT = "late.product"
"""A ``.late`` copy's header: the product (``<domain>.<name>.v<major>``) whose window had closed
(the agents write it, the monitor reads it)."""
LATE_SOURCE = "late.source"
"""A ``.late`` copy's header: ``<topic>[<partition>]@<offset>`` of the original record."""

Headers = list[tuple[str, bytes]]


RawHeaders = Mapping[str, str | bytes | None] | Sequence[tuple[str, str | bytes | None]] | None


def pairs(headers: RawHeaders) -> list[tuple[str, str | bytes | None]]:
    """Headers as a list of (name, value) pairs, whichever shape the client gave them in."""
    if not headers:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


def as_dict(headers: RawHeaders) -> dict[str, bytes | None]:
    """Headers as a dict of bytes (the last value of a repeated name wins)."""
    return {
        name: value.encode() if isinstance(value, str) else value for name, value in pairs(headers)
    }
