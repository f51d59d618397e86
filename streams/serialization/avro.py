"""Avro encode/decode with fastavro, framed in the Confluent wire format. Pure: no I/O.

The encoder is on every producer's hot path, so it does the least work that is still correct:
the schema's validator (:func:`streams.avro.compile_validator`, compiled once) checks the spots
where fastavro would silently write something other than the value, then one fastavro write
fills a buffer that already holds the 5-byte header (see ``_fastavro``). fastavro refuses the
other wrong types itself (with ``strict_allow_default``, unknown fields too). Only when either
refuses does the validator's full walk name the field path, the expected type and the value.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import fastavro
import orjson

from streams.avro import compile_validator, infinite_problem, parse_schema
from streams.avro.validate import MAX_VALUE_DEPTH, InvalidValueError, is_recursive
from streams.errors import DeserializationError, InvalidSchemaError, SerializationError
from streams.serialization._fastavro import make_reader, make_writer
from streams.serialization.framing import HEADER_SIZE, header

__all__ = ["AvroDecoder", "AvroEncoder", "parse"]

_ENCODE_ERRORS = (
    InvalidValueError,
    TypeError,
    ValueError,
    AttributeError,
    KeyError,
    OverflowError,
    IndexError,
)


def parse(schema: str | Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Parse a schema (JSON text or structure) with fastavro; return it and its named types."""
    named: dict[str, Any] = {}
    definition: Any = orjson.loads(schema) if isinstance(schema, str) else schema
    return fastavro.parse_schema(definition, named_schemas=named), named


class AvroEncoder:
    """Encodes events of one writer schema into framed bytes.

    Args:
        schema: The writer schema (JSON text or structure).
        schema_id: Its id in the registry, written into every value's header.
        product: Named in error messages.

    Raises:
        InvalidSchemaError: ``schema`` is not valid Avro, or no finite value fits it (a record
            that always contains itself, which Avro Java and the registry accept).
    """

    __slots__ = ("_check", "_product", "_validator", "_write", "schema_id")

    def __init__(
        self, schema: str | Mapping[str, Any], *, schema_id: int, product: str = ""
    ) -> None:
        text = schema if isinstance(schema, str) else json.dumps(schema)
        parsed_schema = parse_schema(text)
        problem = infinite_problem(parsed_schema.definition, parsed_schema.named)
        if problem is not None:
            where = f" of {product}" if product else ""
            raise InvalidSchemaError(f"Schema id {schema_id}{where} cannot be written: {problem}")
        self._validator = compile_validator(parsed_schema)
        self._check = self._validator.check
        parsed, named = parse(schema)
        self._write = make_writer(parsed, named, header(schema_id))
        self._product = product
        self.schema_id = schema_id

    def __call__(self, event: Any) -> bytes:
        """Encode one event (a mapping for record schemas); raise SerializationError if invalid."""
        try:
            self._check(event)
            return self._write(event)
        except _ENCODE_ERRORS as exc:
            raise self._error(event, exc) from None

    def _error(self, event: Any, cause: Exception) -> SerializationError:
        problem = self._validator.explain(event)
        where = f" for {self._product}" if self._product else ""
        if problem is None:
            return SerializationError(
                f"cannot encode the event{where}: {type(cause).__name__}: {cause}. "
                "Nothing was sent.",
                product=self._product or None,
            )
        return SerializationError(
            f"invalid event{where}: {problem.describe()}. Nothing was sent.",
            product=self._product or None,
            path=problem.path,
            expected=problem.expected,
            value=problem.value,
        )


class AvroDecoder:
    """Decodes framed values written with one writer schema, optionally into a reader schema.

    With a reader schema, Avro's resolution rules project the writer's data onto it: fields the
    reader does not know are dropped, fields the writer lacks get the reader's defaults.

    Args:
        writer: The writer schema (JSON text or structure).
        schema_id: Its registry id, named in errors.
        reader: The schema to project onto (default: the writer's own).
        references: The schemas ``writer`` references (JSON texts or structures), dependencies
            first, as :meth:`streams.kafka.SchemaSource.writer` returns them.

    Raises:
        DeserializationError: fastavro cannot load the writer schema (reason
            ``unreadable-schema``): every value written with it belongs in the dead-letter topic.
    """

    __slots__ = ("_read", "_references", "_writer", "schema_id")

    def __init__(
        self,
        writer: str | Mapping[str, Any],
        *,
        schema_id: int,
        reader: str | Mapping[str, Any] | None = None,
        references: Sequence[str | Mapping[str, Any]] = (),
    ) -> None:
        try:
            writer_schema, writer_named = _parse_with(writer, references)
        except Exception as exc:  # fastavro raises many types (SchemaParseException, UnknownType…)
            raise DeserializationError(
                f"schema id {schema_id} cannot be loaded ({type(exc).__name__}: {exc}); "
                "fix or replace the schema in the registry, then replay the dead letters",
                reason="unreadable-schema",
                schema_id=schema_id,
            ) from exc
        reader_schema, reader_named = parse(reader) if reader is not None else (None, {})
        if reader_schema is not None and reader_schema == writer_schema:
            reader_schema = None  # the same schema: no resolution needed
        self._read = make_reader(
            writer_schema,
            writer_named,
            reader_schema,
            reader_named,
            recursive=is_recursive(writer_schema, writer_named),
        )
        self.schema_id = schema_id
        self._writer = writer  # kept for the error path only (see _corrupt)
        self._references = references

    def __call__(self, data: bytes) -> Any:
        """Decode a framed value (its header is assumed checked by the caller)."""
        stream = io.BytesIO(data)
        stream.seek(HEADER_SIZE)
        try:
            value = self._read(stream)
        except RecursionError:
            raise DeserializationError(
                f"the Avro body for schema id {self.schema_id} nests too deep to decode (its "
                "schema is recursive and the value exceeds Python's recursion limit); it is "
                "corrupt or was not written by a streams producer, which refuses values nested "
                f"deeper than {MAX_VALUE_DEPTH} levels",
                reason="too-deep",
                schema_id=self.schema_id,
            ) from None
        except Exception as exc:  # fastavro raises many types on corrupt input
            raise self._corrupt(data, exc) from exc
        if stream.tell() != len(data):  # one comparison: the value must end where the datum does
            left = len(data) - stream.tell()
            raise DeserializationError(
                f"{left} trailing byte{'s' if left != 1 else ''} after the Avro body for schema "
                f"id {self.schema_id}: the value is corrupt or was written with another schema",
                reason="trailing-bytes",
                schema_id=self.schema_id,
            )
        return value

    def _corrupt(self, data: bytes, exc: Exception) -> DeserializationError:
        """The dead letter's error: where decoding stopped and why, in plain words."""
        field = _failing_field(self._writer, self._references, data)
        where = f" at field {field!r}" if field is not None else ""
        return DeserializationError(
            f"corrupt Avro body for schema id {self.schema_id}: decoding stopped{where}, "
            f"{_plainly(exc)}. The value is damaged, or was written with another schema than "
            f"id {self.schema_id} (its producer must frame each value with the id of the schema "
            "it wrote it with); fix the producer, then produce the event again "
            f"(fastavro: {type(exc).__name__}: {exc})",
            reason="corrupt",
            schema_id=self.schema_id,
        )


def _plainly(exc: Exception) -> str:
    """What fastavro's exception means for the bytes, for the people reading dead letters."""
    if isinstance(exc, EOFError):
        return "because the bytes end before the value does"
    if isinstance(exc, UnicodeDecodeError):
        return "because a string there is not valid UTF-8"
    if isinstance(exc, IndexError):
        return "because a union branch or enum symbol index there is out of range"
    if isinstance(exc, OverflowError):
        return "because a date, time or number there is out of range"
    if isinstance(exc, ValueError):
        return "because a value there does not fit its type (e.g. a uuid or decimal)"
    return "because its bytes do not fit the schema"


def _failing_field(
    writer: str | Mapping[str, Any], references: Sequence[str | Mapping[str, Any]], data: bytes
) -> str | None:
    """The top-level field of a record schema where decoding ``data`` fails, if it is one.

    Decodes with the record cut to its first 1, 2, ... fields: the first cut that fails ends
    with the field at fault. Quadratic, but only run for a value that is a dead letter anyway.
    """
    try:
        definition: Any = orjson.loads(writer) if isinstance(writer, str) else writer
        fields: list[Any] = list(definition["fields"]) if definition["type"] == "record" else []
    except Exception:  # a schema fastavro loaded but that is no record: nothing to name
        return None
    for count in range(1, len(fields) + 1):
        try:
            cut, _ = _parse_with({**definition, "fields": fields[:count]}, references)
            fastavro.schemaless_reader(io.BytesIO(data[HEADER_SIZE:]), cut)
        except Exception:
            name = fields[count - 1].get("name") if isinstance(fields[count - 1], dict) else None
            return str(name) if name is not None else None
    return None


def _parse_with(
    schema: str | Mapping[str, Any], references: Sequence[str | Mapping[str, Any]]
) -> tuple[Any, dict[str, Any]]:
    """Parse ``schema`` with the named types of its ``references`` (dependencies first)."""
    if not references:
        return parse(schema)
    named: dict[str, Any] = {}
    for reference in references:
        referenced: Any = orjson.loads(reference) if isinstance(reference, str) else reference
        fastavro.parse_schema(referenced, named_schemas=named)
    definition: Any = orjson.loads(schema) if isinstance(schema, str) else schema
    return fastavro.parse_schema(definition, named_schemas=named), named
