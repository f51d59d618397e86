"""Decoding inputs for the engine: Avro values without logical-type conversions.

fastavro turns ``uuid`` strings into :class:`uuid.UUID` and ``timestamp-millis`` longs into
aware datetimes while decoding. The engine needs neither: keys are strings and event times
epoch milliseconds. Measured on 50,000 PlayEvents (2-core machine, /tmp bench of this issue):
decoding with the logical types stripped from the writer schema ran ~2x faster (86k/s against
35k/s), and the engine and the aggregations then skip ``str(UUID)`` and datetime arithmetic on
every event. The bytes read are the same: a logical type only annotates its base type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.agents.definition import DerivedProduct
from streams.errors import DeserializationError

__all__ = ["not_an_input", "without_logical_types"]


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


def not_an_input(definition: DerivedProduct, value: Any) -> DeserializationError | None:
    """Why a decoded value cannot be counted (no key or event-time field), or None.

    A record of another schema in an input topic decodes fine but lacks the fields the engine
    needs; the drivers dead-letter it (reason ``not-an-input``) instead of stopping.
    """
    if value.__class__ is dict and definition.key in value and definition.event_time in value:
        return None
    fields = sorted(value) if isinstance(value, dict) else type(value).__name__
    return DeserializationError(
        f"the record has no {definition.key!r} or {definition.event_time!r} field, which "
        f"{definition.ref.id} needs (its fields: {fields}); only events of the input product's "
        "schema belong in its topic",
        reason="not-an-input",
    )
