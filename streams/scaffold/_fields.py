"""The fields of a new product's record, and an example record of them.

A source-aligned product's come from a sample event (:func:`~streams.scaffold.infer_fields`,
with the mesh's known fields), an aggregate's from its inputs: the window, the latest event
time, the inputs' key and a count.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from streams.avro import iter_fields
from streams.catalog import LoadedProduct
from streams.errors import ConfigError
from streams.naming import ProductRef
from streams.scaffold._infer import (
    EVENT_ID_FIELD,
    EVENT_TIME_FIELD,
    TIMESTAMP_TYPE,
    UUID_TYPE,
    KnownField,
    infer_fields,
    todo_doc,
)

__all__ = [
    "aggregate_fields",
    "all_fields",
    "check_key",
    "example_record",
    "known_fields",
    "source_fields",
]

EXAMPLE_TIME = "2026-01-01T00:15:00Z"
EXAMPLE_ID = "00000000-0000-4000-8000-000000000001"


def source_fields(
    sample: Path | None, record: str, known: dict[str, KnownField]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A source-aligned product's fields, and an example event (the sample, completed)."""
    if sample is None:
        fields = [dict(EVENT_ID_FIELD), dict(EVENT_TIME_FIELD)]
        return fields, example_record(fields)
    try:
        text = sample.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{sample}: cannot be read ({exc}); pass a UTF-8 JSON file") from exc
    try:
        event = json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        raise ConfigError(
            f"{sample}: not one JSON object ({exc}); write one event as a JSON object"
        ) from exc
    fields = infer_fields(event, source=str(sample), record=record, known=known)
    return fields, {"event_id": EXAMPLE_ID, "event_time": EXAMPLE_TIME, **event}


def known_fields(root: Path, existing: Sequence[LoadedProduct]) -> dict[str, KnownField]:
    """The top-level fields of the mesh's schemas, by name (the first schema's, in path order)."""
    known: dict[str, KnownField] = {}
    for item in sorted(existing, key=lambda loaded: loaded.schema_path):
        where = item.schema_path.resolve().relative_to(root.resolve()).as_posix()
        for info in iter_fields(item.schema):
            if "." not in info.path and info.path not in known:
                known[info.path] = KnownField(
                    info.value_type, info.doc or "", info.protection, where
                )
    return known


def _no_constant(word: str) -> None:
    raise ValueError(f"{word} is not a JSON number")


def check_key(ref: ProductRef, key: str | None, fields: list[dict[str, Any]]) -> str | None:
    names = [field["name"] for field in fields]
    if key is None:
        # The first id after the event's own: events of one thing stay in order.
        return next(
            (
                field["name"]
                for field in fields[2:]
                if field["name"].endswith("_id") and field["type"] in ("string", UUID_TYPE)
            ),
            None,
        )
    if key not in names:
        raise ConfigError(
            f"{ref.id}: --key {key!r} is not a field of the schema; use one of {', '.join(names)}"
        )
    return key


def aggregate_fields(
    ref: ProductRef, upstream: Sequence[LoadedProduct], key: str | None
) -> tuple[list[dict[str, Any]], str]:
    """An aggregate's fields: the window, the latest event time, the key and a count."""
    first = upstream[0]
    key = key or first.product.output_port.key
    if key is None:
        raise ConfigError(
            f"{ref.id}: {first.product.id} has no key, and an aggregate is keyed by a field of "
            "its inputs: pass --key <field>, or set outputPort.key in its descriptor"
        )
    key_field: dict[str, Any] | None = None
    for item in upstream:
        info = next((f for f in iter_fields(item.schema) if f.path == key), None)
        if info is None:
            raise ConfigError(
                f"{ref.id}: key {key!r} is not a field of input {item.product.id}; an "
                "aggregate's key must be in every input: pass --key <field>"
            )
        if key_field is None:
            pii = {"pii": info.protection} if info.protection else {}
            # Agents hand the key to the code as a string: keep string types, else a string.
            kind = info.value_type if info.value_type in ("string", UUID_TYPE) else "string"
            key_field = {"name": key, "type": kind, "doc": info.doc or todo_doc(key), **pii}
    if len({item.product.output_port.partitions for item in upstream}) > 1:
        counts = ", ".join(
            f"{item.product.id}: {item.product.output_port.partitions}" for item in upstream
        )
        raise ConfigError(
            f"{ref.id}: the inputs are not co-partitioned ({counts}); an aggregate's agents "
            "need the same partition count on every input"
        )
    assert key_field is not None  # upstream is not empty
    window = [
        ("window_start", "Start of the window (inclusive), in UTC."),
        ("window_end", "End of the window (exclusive): window_start plus the window's size."),
    ]
    fields = [{"name": name, "type": dict(TIMESTAMP_TYPE), "doc": doc} for name, doc in window]
    fields += [
        {
            "name": "event_time",
            "type": dict(TIMESTAMP_TYPE),
            "doc": "Event time of the latest input event counted in this window.",
        },
        key_field,
        {"name": "events", "type": "long", "doc": "Number of input events in the window."},
        {
            "name": "final",
            "type": "boolean",
            "doc": "True on the window's last update, once its allowed lateness has passed.",
        },
    ]
    return fields, key


def example_record(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """One valid record of ``fields``, as JSON gives it."""
    return {field["name"]: _value(field["type"]) for field in fields}


def _value(kind: Any) -> Any:
    if isinstance(kind, dict):
        logical = kind.get("logicalType")
        if logical == "uuid":
            return EXAMPLE_ID
        if logical == "timestamp-millis":
            return EXAMPLE_TIME
        if logical == "date":
            return EXAMPLE_TIME[:10]
        if kind["type"] == "record":
            return example_record(kind["fields"])
        if kind["type"] == "array":
            return [_value(kind["items"])]
        kind = kind["type"]
    return {"string": "text", "long": 1, "int": 1, "double": 1.5, "boolean": False}[kind]


def all_fields(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for field in fields:
        found.append(field)
        kind = field["type"]
        while isinstance(kind, dict) and kind.get("type") == "array":
            kind = kind["items"]
        if isinstance(kind, dict) and kind.get("type") == "record":
            found += all_fields(kind["fields"])
    return found
