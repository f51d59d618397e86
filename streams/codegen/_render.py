"""Avro schemas -> the Python source of pydantic v2 models (pure, no I/O).

One module holds the records of one or more schemas: a class per record (nested ones included)
and a ``StrEnum`` per enum, each defined before it is used. A named type that several schemas
define (every ``.avsc`` file must be standalone, so a shared enum is written in each) becomes
one class, provided every definition is the same.

Type mapping, chosen so that ``model_dump(mode="python")`` is what fastavro writes and reads:

- ``int``/``long`` -> ``int`` bounded to 32/64 bits, so a valid model always encodes;
- ``timestamp-millis``/``-micros`` -> aware ``datetime`` in UTC (millis truncated, as on the
  wire); ``local-timestamp-*`` -> naive ``datetime``; ``date`` -> ``date``; ``time-*`` -> ``time``;
- ``uuid`` -> ``uuid.UUID`` (fastavro decodes it to ``UUID``; JSON input may be a string);
- ``decimal`` -> ``Decimal`` with the schema's precision and scale; ``fixed`` -> sized ``bytes``;
- a union -> ``A | B`` (``None`` last); arrays and maps -> ``list``/``dict[str, ...]``.
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from streams.avro import FieldInfo, ParsedSchema, parse_schema, record_fields
from streams.codegen._source import Module, field_lines, names_in
from streams.codegen._text import bytes_literal, string_literal
from streams.errors import InvalidSchemaError, SchemaError

__all__ = ["render_models"]

_NAMED_KINDS = frozenset({"record", "error", "enum", "fixed"})
_PRIMITIVE_TYPES = {
    "null": "None",
    "boolean": "bool",
    "int": "_Int32",
    "long": "_Int64",
    "float": "float",
    "double": "float",
    "bytes": "bytes",
    "string": "str",
}
# (Avro type, logicalType) -> annotation; helpers and imports are looked up by name in _source.
_LOGICAL_TYPES = {
    ("string", "uuid"): "UUID",
    ("int", "date"): "date",
    ("int", "time-millis"): "_TimeMillis",
    ("long", "time-micros"): "time",
    ("long", "timestamp-millis"): "_TimestampMillis",
    ("long", "timestamp-micros"): "_TimestampMicros",
    ("long", "local-timestamp-millis"): "_LocalTimestampMillis",
    ("long", "local-timestamp-micros"): "NaiveDatetime",
}
# Attribute names a field cannot take: pydantic's own (``model_dump``, ``json``, ...).
_MODEL_ATTRIBUTES = frozenset(dir(BaseModel))
# Symbols a StrEnum member cannot take: a member would hide the str method of the same name.
_ENUM_ATTRIBUTES = (frozenset(dir(StrEnum)) - {"name", "value"}) | {"mro"}


def render_models(
    schemas: Sequence[str | Mapping[str, Any]], *, header: str | None = None, doc: str
) -> str:
    """The source of a Python module with pydantic models for the records in ``schemas``.

    Args:
        schemas: Avro schemas (JSON text or parsed JSON), each with a record at the top.
        header: A comment line written first (e.g. a do-not-edit notice), without ``#``.
        doc: The module docstring.

    Returns:
        Source that ``ruff check`` and ``ruff format --check`` accept and that imports cleanly;
        the same input always gives the same text.

    Raises:
        InvalidSchemaError: A schema is not valid Avro.
        SchemaError: The schemas cannot become one module: a named type defined twice in
            different ways, a top-level type that is not a record, or a name Python cannot use.
    """
    builder = _Builder()
    for index, schema in enumerate(schemas):
        text = schema if isinstance(schema, str) else json.dumps(schema)
        builder.add(text, f"schema {index + 1} of {len(schemas)}")
    return builder.module.render(header=header, doc=doc)


@dataclass(frozen=True, slots=True)
class _Field:
    """One rendered field, with what the class-level checks need."""

    name: str
    annotation: str
    default: str
    forward: bool
    lines: list[str]


def _shape(definition: Any, *, top: bool = True) -> Any:
    """``definition`` with nested named types replaced by their names, for comparisons."""
    if isinstance(definition, list):
        return [_shape(branch, top=False) for branch in definition]
    if not isinstance(definition, dict):
        return definition
    if not top and definition.get("type") in _NAMED_KINDS and "name" in definition:
        return definition["name"]
    return {key: _shape(value, top=False) for key, value in definition.items()}


class _Builder:
    """Walks parsed schemas depth first, adding each class to the module before its users."""

    def __init__(self) -> None:
        self.module = Module()
        self._named: dict[str, Any] = {}
        self._origin: dict[str, ParsedSchema] = {}
        self._classes: dict[str, str] = {}
        self._done: set[str] = set()
        self._open: list[str] = []

    def add(self, text: str, label: str) -> None:
        try:
            parsed = parse_schema(text)
        except InvalidSchemaError as exc:
            raise InvalidSchemaError(f"{label}: {exc}") from exc
        for full, definition in parsed.named.items():
            known = self._named.get(full)
            if known is not None and _shape(known) != _shape(definition):
                raise SchemaError(
                    f"{label} defines {full!r} differently from an earlier schema; a type used "
                    "in several schemas of one module must be defined identically in each "
                    "(same doc, fields or symbols, and default)"
                )
            self._named.setdefault(full, definition)
            self._origin.setdefault(full, parsed)
        top = parsed.definition
        if not isinstance(top, dict) or top.get("type") not in ("record", "error"):
            raise SchemaError(
                f"{label} is not a record: models are generated for records only; wrap the "
                'type in {"type": "record", "name": ..., "fields": [...]}'
            )
        self._record(top["name"])

    def _class_name(self, full: str) -> str:
        name = full.rpartition(".")[2]
        owner = self._classes.setdefault(name, full)
        if owner != full:
            raise SchemaError(
                f"{full!r} and {owner!r} would both become class {name!r} in one module; "
                "rename one of them"
            )
        if name in self.module.reserved_names:
            raise SchemaError(
                f"type {full!r} would shadow {name!r}, which the generated module imports; "
                "rename the type"
            )
        return name

    def _record(self, full: str) -> str:
        name = self._class_name(full)
        if full in self._done or full in self._open:
            return name
        definition = self._named[full]
        self._open.append(full)
        fields = [
            self._field(field, full) for field in record_fields(self._origin[full], definition)
        ]
        self._open.pop()
        self._done.add(full)
        # In a class body a field's default binds its name, so an annotation or ``Field(...)``
        # evaluated after it (``date: date = Field(...)``) would see the default, not the type.
        used = names_in("Field", *(f.annotation for f in fields), *(f.default for f in fields))
        for field in fields:
            if field.name in used:
                raise SchemaError(
                    f"field {field.name!r} of record {full!r} is named like a type the record "
                    "uses, which Python cannot tell apart in a class body; rename the field "
                    "(add the old name to its aliases to keep reading old data)"
                )
        self.module.add_record(
            name=name,
            full=full,
            doc=definition.get("doc") or f"The Avro record ``{full}``.",
            fields=[field.lines for field in fields],
            protect_nothing=any(field.name.startswith("model_") for field in fields),
            rebuild=any(field.forward for field in fields),
        )
        return name

    def _enum(self, full: str) -> str:
        name = self._class_name(full)
        if full in self._done:
            return name
        definition = self._named[full]
        for symbol in definition["symbols"]:
            if keyword.iskeyword(symbol) or symbol.startswith("_") or symbol in _ENUM_ATTRIBUTES:
                raise SchemaError(
                    f"enum {full!r} has the symbol {symbol!r}, which cannot be a Python enum "
                    "member (a keyword, a leading '_', or a str method such as 'upper'); "
                    "rename the symbol (add an alias or default to keep reading old data)"
                )
        self._done.add(full)
        self.module.add_enum(
            name=name,
            doc=definition.get("doc") or f"The Avro enum ``{full}``.",
            symbols=definition["symbols"],
        )
        return name

    def _field(self, field: FieldInfo, owner: str) -> _Field:
        name = field.name
        where = f"field {name!r} of record {owner!r}"
        if keyword.iskeyword(name) or name.startswith("_") or name in _MODEL_ATTRIBUTES:
            raise SchemaError(
                f"{where} cannot be a pydantic field: the name is a Python keyword, starts with "
                "'_' or is a pydantic attribute; rename the field (add the old name to its "
                "aliases to keep reading old data)"
            )
        annotation, forward = self._annotation(field.type)
        if forward:
            # Refers to a class defined later (or itself): quoted, resolved by model_rebuild().
            annotation = f'"{annotation}"'
        default = None
        if field.has_default:
            default = self._default(field.type, field.default, where)
        lines = field_lines(
            name=name,
            annotation=annotation,
            default=default,
            doc=field.doc,
            pii=field.protection,
        )
        return _Field(name, annotation, default[1] if default else "", forward, lines)

    def _annotation(self, schema: Any) -> tuple[str, bool]:
        """The annotation for ``schema`` and whether it names a class not yet defined."""
        if isinstance(schema, list):
            parts = [self._annotation(branch) for branch in schema]
            names = [text for text, _ in parts if text != "None"]
            if len(names) < len(parts):
                names.append("None")
            return " | ".join(names), any(forward for _, forward in parts)
        if isinstance(schema, str):
            if schema in _PRIMITIVE_TYPES:
                return self.module.use(_PRIMITIVE_TYPES[schema]), False
            return self._named_annotation(schema)
        kind = schema["type"]
        if kind in _NAMED_KINDS:
            return self._named_annotation(schema["name"])
        if kind == "array":
            items, forward = self._annotation(schema["items"])
            return f"list[{items}]", forward
        if kind == "map":
            values, forward = self._annotation(schema["values"])
            return f"dict[str, {values}]", forward
        logical = _LOGICAL_TYPES.get((kind, schema.get("logicalType")))
        if logical is not None:
            return self.module.use(logical), False
        if kind == "bytes" and schema.get("logicalType") == "decimal":
            return self._decimal(schema), False
        # Avro ignores a logical type it does not know; so do we.
        return self.module.use(_PRIMITIVE_TYPES[kind]), False

    def _named_annotation(self, full: str) -> tuple[str, bool]:
        definition = self._named[full]
        kind = definition["type"]
        if kind == "enum":
            return self._enum(full), False
        if kind == "fixed":
            if definition.get("logicalType") == "decimal":
                return self._decimal(definition), False
            size = definition["size"]
            self.module.use("Annotated")
            self.module.use("Field")
            return f"Annotated[bytes, Field(min_length={size}, max_length={size})]", False
        forward = full in self._open
        return self._record(full), forward

    def _decimal(self, schema: Mapping[str, Any]) -> str:
        precision, scale = schema.get("precision"), schema.get("scale", 0)
        if not isinstance(precision, int) or not isinstance(scale, int):
            return "bytes"  # Not a valid decimal, so Avro reads plain bytes.
        self.module.use("Decimal")
        self.module.use("Annotated")
        self.module.use("Field")
        return f"Annotated[Decimal, Field(max_digits={precision}, decimal_places={scale})]"

    def _default(self, schema: Any, value: Any, where: str) -> tuple[str, str]:
        """``("default" | "default_factory", expression)`` for an Avro default value.

        parse_schema has already checked that ``value`` suits the schema.
        """
        if isinstance(schema, list):
            # An Avro union's default belongs to its first branch.
            schema = schema[0]
        if isinstance(schema, str) and schema not in _PRIMITIVE_TYPES:
            schema = self._named[schema]
        kind = schema if isinstance(schema, str) else schema["type"]
        logical = None if isinstance(schema, str) else schema.get("logicalType")
        if (kind, logical) == ("string", "uuid"):
            return "default", f"{self.module.use('UUID')}({string_literal(value)})"
        plain = (kind, logical) not in _LOGICAL_TYPES and logical != "decimal"
        if kind == "null":
            return "default", "None"
        if kind == "enum":
            return "default", f"{self._enum(schema['name'])}.{value}"
        if kind in ("array", "map") and not value:
            return "default_factory", "list" if kind == "array" else "dict"
        if plain and kind == "boolean":
            return "default", repr(bool(value))
        if plain and kind in ("int", "long"):
            return "default", repr(int(value))
        if plain and kind in ("float", "double"):
            return "default", repr(float(value))
        if plain and kind == "string":
            return "default", string_literal(value)
        if plain and kind in ("bytes", "fixed"):
            # Avro writes a bytes default as a string of code points 0-255.
            return "default", bytes_literal(value.encode("latin-1"))
        shown = f"{kind} ({logical})" if logical else kind
        raise SchemaError(
            f"{where}: codegen does not support a default for a {shown} value; drop the "
            'default, make the field nullable with "default": null, or extend streams.codegen'
        )
