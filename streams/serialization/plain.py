"""Avro schemas without logical types: values decode as their base types.

fastavro turns ``uuid`` strings into :class:`uuid.UUID` and ``timestamp-millis`` longs into
aware datetimes while decoding. Readers that only count and compare (the agents' engine, the
guarantees monitor) need neither. Measured on 50,000 PlayEvents (2-core machine, issue 9's
bench): decoding with the logical types stripped from the writer schema ran ~2x faster (86k/s
against 35k/s). The bytes read are the same: a logical type only annotates its base type.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["event_time_ms", "without_logical_types"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def without_logical_types(
    schema: Mapping[str, Any] | list[Any] | str, *, only: Collection[str] | None = None
) -> Any:
    """A copy of a parsed schema (JSON structure) with every ``logicalType`` annotation removed.

    Decode with it as the writer schema (and the reader schema, when one is used) so values
    come back as their base types: ``uuid`` as ``str``, ``timestamp-millis`` as ``int``.
    ``only``: remove just these logical types (e.g. ``{"uuid"}``), keep the others.
    """
    if isinstance(schema, Mapping):
        return {
            k: without_logical_types(v, only=only)
            for k, v in schema.items()
            if not (k == "logicalType" and (only is None or v in only))
        }
    if isinstance(schema, list):
        return [without_logical_types(item, only=only) for item in schema]
    return schema


def event_time_ms(value: object) -> int:
    """Epoch milliseconds of a ``timestamp-millis`` value, decoded plain (int) or with its
    logical type (an aware datetime).

    Raises:
        TypeError: ``value`` is neither (a naive datetime included).
    """
    if type(value) is int:
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError(f"naive datetime {value!r}: event times must be timezone-aware")
        return (value - _EPOCH) // _MS
    raise TypeError(f"{value!r} is not an event time (int milliseconds or aware datetime)")
