"""Avro records as Arrow tables: one Arrow type per Avro type, built column by column.

The columns follow the product's value schema (its fields in order, docs and PII marks in
each field's metadata), so a query over a product that has no records yet still knows its
columns. Decoded values (fastavro's, logical types applied except ``uuid``, decoded as its
text) go into Arrow as they are, except a union of several non-null types, which Arrow's
columns cannot hold: it becomes JSON text. A record type that contains
itself is JSON text from where it recurs.

Building columns (a list per field, then one ``pa.array`` each) rather than
``pa.Table.from_pylist`` keeps conversion cheap beside decoding: ``scripts/bench query``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa

from streams.avro import ParsedSchema, non_null, parse_schema, record_fields, resolve

__all__ = ["ArrowLayout", "layout_of"]

Fix = Callable[[Any], Any]
"""Turns one decoded (non-null) value into what ``pa.array`` takes for its Arrow type."""

_PRIMITIVES: dict[str, pa.DataType] = {
    "null": pa.null(),
    "boolean": pa.bool_(),
    "int": pa.int32(),
    "long": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "bytes": pa.binary(),
    "string": pa.string(),
}
_LOGICAL: dict[str, pa.DataType] = {
    "timestamp-millis": pa.timestamp("ms", tz="UTC"),
    "timestamp-micros": pa.timestamp("us", tz="UTC"),
    "local-timestamp-millis": pa.timestamp("ms"),
    "local-timestamp-micros": pa.timestamp("us"),
    "date": pa.date32(),
    "time-millis": pa.time32("ms"),
    "time-micros": pa.time64("us"),
}


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    type: pa.DataType
    fix: Fix | None
    metadata: dict[bytes, bytes]


class ArrowLayout:
    """The Arrow schema of one Avro record schema, and the conversion of decoded records.

    Args:
        columns: The top-level fields (see :func:`layout_of`).
    """

    def __init__(self, columns: Sequence[_Column]) -> None:
        self._columns = tuple(columns)
        self.schema: pa.Schema = pa.schema(
            [pa.field(c.name, c.type, nullable=True, metadata=c.metadata) for c in columns]
        )

    def table(
        self, records: Sequence[Mapping[str, Any]], *, metadata: Mapping[str, str] | None = None
    ) -> pa.Table:
        """The records as a table with :attr:`schema` (and ``metadata`` on it)."""
        arrays = []
        for column in self._columns:
            name, fix = column.name, column.fix
            if fix is None:
                values = [record.get(name) for record in records]
            else:
                values = [
                    None if (value := record.get(name)) is None else fix(value)
                    for record in records
                ]
            arrays.append(pa.array(values, type=column.type))
        schema = self.schema.with_metadata(dict(metadata or {}))
        return pa.Table.from_arrays(arrays, schema=schema)


def layout_of(schema_text: str) -> ArrowLayout:
    """The layout of a record schema's text (as registered).

    Raises:
        InvalidSchemaError: The text is not a valid Avro schema.
        ValueError: The schema is not a record.
    """
    parsed = parse_schema(schema_text)
    top = parsed.definition
    if not (isinstance(top, dict) and top.get("type") in ("record", "error")):
        raise ValueError("a product's value schema must be a record to read it as a table")
    columns = []
    for info in record_fields(parsed, top):
        kind, fix = _convert(info.type, parsed, frozenset({top["name"]}))
        metadata = {b"doc": (info.doc or "").encode()}
        if info.protection is not None:
            metadata[b"pii"] = info.protection.encode()
        columns.append(_Column(info.name, kind, fix, metadata))
    return ArrowLayout(columns)


def _json_text(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _convert(
    node: Any, schema: ParsedSchema, seen: frozenset[str]
) -> tuple[pa.DataType, Fix | None]:
    """The Arrow type of an Avro type node, and the fix its values need (None: none)."""
    node = resolve(node, schema)
    if isinstance(node, list):
        present = non_null(node, schema)
        if isinstance(present, list):  # several non-null branches: no Arrow column holds them
            return pa.string(), _json_text
        return _convert(present, schema, seen)
    if isinstance(node, str):
        return _PRIMITIVES[node], None
    kind = node["type"]
    logical = node.get("logicalType")
    if logical in _LOGICAL and kind in ("int", "long"):
        return _LOGICAL[logical], None
    if logical == "uuid" and kind == "string":
        return pa.string(), None  # decoded as text (streams.query reads uuids so)
    if logical == "decimal" and kind in ("bytes", "fixed"):
        precision, scale = int(node["precision"]), int(node.get("scale", 0))
        factory = pa.decimal128 if precision <= 38 else pa.decimal256
        return factory(precision, scale), None
    if kind == "enum":
        return pa.string(), None
    if kind == "fixed":
        return pa.binary(int(node["size"])), None
    if kind == "array":
        item, fix = _convert(node["items"], schema, seen)
        return pa.list_(item), None if fix is None else _each(fix)
    if kind == "map":
        value, fix = _convert(node["values"], schema, seen)
        return pa.map_(pa.string(), value), None if fix is None else _each_value(fix)
    if kind in ("record", "error"):
        return _record(node, schema, seen)
    return _PRIMITIVES[kind], None  # a primitive written as an object, e.g. {"type": "long"}


def _record(
    node: Mapping[str, Any], schema: ParsedSchema, seen: frozenset[str]
) -> tuple[pa.DataType, Fix | None]:
    if node["name"] in seen:  # recursive: Arrow types are finite
        return pa.string(), _json_text
    inner = seen | {node["name"]}
    fields, fixes = [], {}
    for info in record_fields(schema, node):
        kind, fix = _convert(info.type, schema, inner)
        fields.append(pa.field(info.name, kind))
        if fix is not None:
            fixes[info.name] = fix
    return pa.struct(fields), None if not fixes else _fields(fixes)


def _each(fix: Fix) -> Fix:
    return lambda items: [None if item is None else fix(item) for item in items]


def _each_value(fix: Fix) -> Fix:
    return lambda values: {k: None if v is None else fix(v) for k, v in values.items()}


def _fields(fixes: Mapping[str, Fix]) -> Fix:
    def fix(record: Mapping[str, Any]) -> dict[str, Any]:
        fixed = dict(record)
        for name, each in fixes.items():
            if fixed.get(name) is not None:
                fixed[name] = each(fixed[name])
        return fixed

    return fix
