"""Avro schemas without logical types: values decode as their base types.

fastavro turns ``uuid`` strings into :class:`uuid.UUID` and ``timestamp-millis`` longs into
aware datetimes while decoding. Readers that only count and compare (the agents' engine, the
guarantees monitor) need neither. Measured on 50,000 PlayEvents (2-core machine, issue 9's
bench): decoding with the logical types stripped from the writer schema ran ~2x faster (86k/s
against 35k/s). The bytes read are the same: a logical type only annotates its base type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["without_logical_types"]


def without_logical_types(schema: Mapping[str, Any] | list[Any] | str) -> Any:
    """A copy of a parsed schema (JSON structure) with every ``logicalType`` annotation removed.

    Decode with it as the writer schema (and the reader schema, when one is used) so values
    come back as their base types: ``uuid`` as ``str``, ``timestamp-millis`` as ``int``.
    """
    if isinstance(schema, Mapping):
        return {k: without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [without_logical_types(item) for item in schema]
    return schema
