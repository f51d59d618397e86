"""The one walk over a parsed schema's fields, docs and PII marks (pure, no I/O).

Codegen, governance, the catalog and export all need "every field of this record, with its
doc, its ``pii`` mark and its type"; :func:`iter_fields` is the one place that walks the parsed
structure (see :mod:`streams.avro.schema`) to give it, so they cannot disagree about which
fields exist or how nested records are named.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from streams.avro._names import PRIMITIVES
from streams.avro.schema import ParsedSchema

__all__ = [
    "PROTECTIONS",
    "SUBJECT_ATTRIBUTE",
    "FieldInfo",
    "Protection",
    "describe_type",
    "iter_docs",
    "iter_fields",
    "non_null",
    "resolve",
]

_NO_DEFAULT: Any = object()

Protection = Literal["encrypt", "pseudonymize"]
"""How a personal field is protected: ``"pii": "encrypt"`` (direct identifiers and personal
attributes, unreadable without the data subject's key) or ``"pii": "pseudonymize"`` (join keys,
replaced by a keyed hash that still groups and joins)."""
PROTECTIONS: tuple[Protection, ...] = get_args(Protection)
SUBJECT_ATTRIBUTE = "pii.subject"
"""The record attribute naming the field whose value is the record's data subject."""


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One field of a record, as the schema declares it.

    Attributes:
        path: Dotted path from the top record (``context.playlist_id``); the fields of a record
            inside an array, map or union are named through the field holding it.
        name: The field's own name.
        record: Full name of the record that declares the field.
        type: The field's type as parsed (a primitive name, a named type's full name, a union
            list or an object).
        value_type: The type a value has when present: ``null`` dropped from a two-branch
            union and a named type resolved to its definition.
        doc: The field's ``doc``, or ``None``.
        pii: Whether the field is marked personal: ``"pii"`` is a protection (or the legacy
            ``true``, which lint refuses).
        protection: The field's protection (``"pii": "encrypt"`` or ``"pseudonymize"``), or
            ``None``.
        pii_mark: The ``pii`` attribute as written (``None`` when absent), for lint.
        default: The JSON default; check :attr:`has_default` first (``None`` is a default).
    """

    path: str
    name: str
    record: str
    type: Any
    value_type: Any
    doc: str | None
    pii: bool
    protection: Protection | None = None
    pii_mark: object = None
    default: Any = _NO_DEFAULT

    @property
    def has_default(self) -> bool:
        """Whether the field declares a default."""
        return self.default is not _NO_DEFAULT

    @property
    def nested(self) -> Mapping[str, Any] | None:
        """The record this field's value is, when it is one (through a nullable union)."""
        kind = self.value_type
        return kind if isinstance(kind, dict) and kind.get("type") in ("record", "error") else None


def resolve(node: Any, schema: ParsedSchema) -> Any:
    """``node`` with a named type's full name replaced by its definition."""
    if isinstance(node, str) and node not in PRIMITIVES:
        return schema.named.get(node, node)
    return node


def non_null(node: Any, schema: ParsedSchema) -> Any:
    """The type of a present value: ``["null", T]`` -> ``T`` resolved; other types resolved."""
    if isinstance(node, list):
        branches = [branch for branch in node if branch != "null"]
        if len(branches) != 1:
            return node
        node = branches[0]
    return resolve(node, schema)


def iter_fields(schema: ParsedSchema, *, nested: bool = True) -> Iterator[FieldInfo]:
    """Every field of the top record, in schema order, nested records' fields after their field.

    Args:
        schema: A parsed schema; one that is not a record has no fields.
        nested: Also walk records reached through fields (inside unions, arrays and maps). Each
            record is walked once, where it is first reached, so recursive types terminate.
    """
    top = schema.definition
    if isinstance(top, dict) and top.get("type") in ("record", "error"):
        yield from _walk(schema, top, "", {top["name"]} if nested else None)


def record_fields(schema: ParsedSchema, record: Mapping[str, Any]) -> list[FieldInfo]:
    """The fields of one record definition (not walking into nested records)."""
    return list(_walk(schema, record, "", None))


def _walk(
    schema: ParsedSchema, record: Mapping[str, Any], prefix: str, seen: set[str] | None
) -> Iterator[FieldInfo]:
    for field in record["fields"]:
        path = f"{prefix}{field['name']}"
        doc = field.get("doc")
        mark = field.get("pii")
        protection = mark if mark in PROTECTIONS else None
        yield FieldInfo(
            path=path,
            name=field["name"],
            record=record["name"],
            type=field["type"],
            value_type=non_null(field["type"], schema),
            doc=doc if isinstance(doc, str) else None,
            pii=mark is True or protection is not None,
            protection=protection,
            pii_mark=mark,
            default=field.get("default", _NO_DEFAULT),
        )
        if seen is None:
            continue
        for inner in _records_in(field["type"], schema):
            if inner["name"] not in seen:
                seen.add(inner["name"])
                yield from _walk(schema, inner, f"{path}.", seen)


def _records_in(node: Any, schema: ParsedSchema) -> Iterator[Mapping[str, Any]]:
    node = resolve(node, schema)
    if isinstance(node, list):
        for branch in node:
            yield from _records_in(branch, schema)
    elif isinstance(node, dict):
        kind = node["type"]
        if kind in ("record", "error"):
            yield node
        elif kind == "array":
            yield from _records_in(node["items"], schema)
        elif kind == "map":
            yield from _records_in(node["values"], schema)


def iter_docs(schema: ParsedSchema) -> Iterator[str]:
    """Every ``doc`` of the schema: its named types' and its fields' (for full-text search)."""
    for definition in schema.named.values():
        if isinstance(definition.get("doc"), str):
            yield definition["doc"]
        for field in definition.get("fields", ()):
            if isinstance(field.get("doc"), str):
                yield field["doc"]


def describe_type(node: Any, schema: ParsedSchema) -> str:
    """A short, human name of a type: ``string``, ``null | Context``, ``array<Kid>``,
    ``timestamp-millis`` (a logical type is named by its logical type)."""
    if isinstance(node, list):
        return " | ".join(describe_type(branch, schema) for branch in node)
    if isinstance(node, str):
        return node if node in PRIMITIVES else node.rpartition(".")[2]
    logical = node.get("logicalType")
    if isinstance(logical, str):
        return logical
    kind = node["type"]
    if "name" in node:
        return str(node["name"]).rpartition(".")[2]
    if kind == "array":
        return f"array<{describe_type(node['items'], schema)}>"
    if kind == "map":
        return f"map<{describe_type(node['values'], schema)}>"
    return str(kind)
