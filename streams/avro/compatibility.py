"""Avro schema-resolution checks, as Apache Avro's ``SchemaCompatibility`` (Java) performs them.

:func:`check_pair` answers "can a reader with this schema decode data written with that one?"
and lists every reason it cannot, with Confluent's error types, Avro's messages and a JSON pointer
into the reader schema (writer-union branches add the branch index, as in Java).
:func:`check_level` applies a subject's compatibility level to a new schema and its history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from streams.avro._names import PRIMITIVES, split_name
from streams.avro.schema import ParsedSchema
from streams.errors import ConfigError

__all__ = ["LEVELS", "CompatibilityLevel", "Incompatibility", "check_level", "check_pair"]

CompatibilityLevel = Literal[
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
]
LEVELS: tuple[CompatibilityLevel, ...] = get_args(CompatibilityLevel)

# Writer type -> reader types that can read it (Avro's promotions).
_PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}

_HINTS = {
    "READER_FIELD_MISSING_DEFAULT_VALUE": (
        "reader field has no default and the writer does not have it; add a default to the field"
    ),
    "TYPE_MISMATCH": (
        "keep the old type, or change it only along Avro's promotions "
        "(int->long->float->double, string<->bytes)"
    ),
    "NAME_MISMATCH": "the type was renamed; keep the old name or list it in the type's aliases",
    "MISSING_UNION_BRANCH": "add that type to the reader's union",
    "MISSING_ENUM_SYMBOLS": (
        "the reader enum lacks writer symbols; keep them, or give the reader enum a default"
    ),
    "FIXED_SIZE_MISMATCH": "the size of a fixed type cannot change; keep the old size",
}


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One reason a reader schema cannot read data of a writer schema.

    Attributes:
        type: Confluent's error type, e.g. ``READER_FIELD_MISSING_DEFAULT_VALUE``.
        message: Avro's message, e.g. ``newField2`` or
            ``reader type: map not compatible with writer type: array``.
        location: JSON pointer into the reader schema, e.g. ``/fields/1``.
    """

    type: str
    message: str
    location: str

    def describe(self) -> str:
        """One human line: where, what, and how to fix it."""
        hint = _HINTS.get(self.type, "")
        if self.type == "READER_FIELD_MISSING_DEFAULT_VALUE":
            return f"{self.location} ({self.message}): {hint}"
        return f"{self.location}: {self.message} [{self.type}]" + (f"; {hint}" if hint else "")


def check_pair(reader: ParsedSchema, writer: ParsedSchema) -> list[Incompatibility]:
    """Why ``reader`` cannot decode data written with ``writer``; ``[]`` means it can.

    Args:
        reader: The schema the consumer reads with.
        writer: The schema the data was written with.
    """
    found = _Checker(reader.named, writer.named).check(reader.definition, writer.definition, ())
    # A memoized pair is reported each time it is reached; once is enough.
    return list(dict.fromkeys(found))


def check_level(
    level: CompatibilityLevel, new: ParsedSchema, history: Sequence[ParsedSchema]
) -> list[Incompatibility]:
    """The incompatibilities of ``new`` with ``history`` under a compatibility level.

    BACKWARD: ``new`` reads data of the old schema(s); FORWARD: the old schema(s) read ``new``'s
    data; FULL: both. The ``_TRANSITIVE`` levels check every version, the others the latest only.

    Args:
        level: The subject's compatibility level.
        new: The candidate schema.
        history: The subject's live versions, oldest first.

    Raises:
        ConfigError: ``level`` is not one of :data:`LEVELS`.
    """
    if level not in LEVELS:
        raise ConfigError(f"Unknown compatibility level {level!r}; use one of {', '.join(LEVELS)}.")
    if level == "NONE" or not history:
        return []
    olds = list(reversed(history)) if level.endswith("_TRANSITIVE") else [history[-1]]
    base = level.removesuffix("_TRANSITIVE")
    found: list[Incompatibility] = []
    for old in olds:
        if base in ("BACKWARD", "FULL"):
            found.extend(check_pair(new, old))
        if base in ("FORWARD", "FULL"):
            found.extend(check_pair(old, new))
    return found


def _pointer(location: tuple[str, ...]) -> str:
    return "/" + "/".join(location)


class _Checker:
    """One reader/writer walk; the memo makes recursive types terminate (as Avro's does)."""

    def __init__(self, reader_named: Mapping[str, Any], writer_named: Mapping[str, Any]) -> None:
        self._reader_named = reader_named
        self._writer_named = writer_named
        # (id(reader node), id(writer node)) -> result; None while that pair is being checked.
        self._memo: dict[tuple[int, int], list[Incompatibility] | None] = {}

    def check(self, reader: Any, writer: Any, location: tuple[str, ...]) -> list[Incompatibility]:
        reader = _resolve(reader, self._reader_named)
        writer = _resolve(writer, self._writer_named)
        if isinstance(reader, str) or isinstance(writer, str):
            # A bare primitive cannot recurse; Java would not share its node between places.
            return self._calculate(reader, writer, location)
        key = (id(reader), id(writer))
        if key in self._memo:
            # A pair still being checked is assumed compatible: its problems are found upstream.
            return self._memo[key] or []
        self._memo[key] = None
        result = self._calculate(reader, writer, location)
        self._memo[key] = result
        return result

    def _calculate(
        self, reader: Any, writer: Any, location: tuple[str, ...]
    ) -> list[Incompatibility]:
        reader_kind, writer_kind = _kind(reader), _kind(writer)
        if reader_kind == writer_kind:
            return self._same_kind(reader_kind, reader, writer, location)
        if writer_kind == "union":
            # Every branch the writer may have used must be readable.
            found: list[Incompatibility] = []
            for index, branch in enumerate(writer):
                found.extend(self.check(reader, branch, (*location, str(index))))
            return found
        if reader_kind == "union":
            for branch in reader:
                if not self.check(branch, writer, location):
                    return []
            message = f"reader union lacking writer type: {writer_kind.upper()}"
            return [Incompatibility("MISSING_UNION_BRANCH", message, _pointer(location))]
        if reader_kind in _PROMOTIONS.get(writer_kind, ()):
            return []
        message = f"reader type: {reader_kind} not compatible with writer type: {writer_kind}"
        return [Incompatibility("TYPE_MISMATCH", message, _pointer(location))]

    def _same_kind(
        self, kind: str, reader: Any, writer: Any, location: tuple[str, ...]
    ) -> list[Incompatibility]:
        if kind in PRIMITIVES:
            return []
        if kind in ("array", "map"):
            child = "items" if kind == "array" else "values"
            return self.check(reader[child], writer[child], (*location, child))
        if kind == "union":
            found: list[Incompatibility] = []
            for index, branch in enumerate(writer):
                branch_location = (*location, str(index))
                if self.check(reader, branch, branch_location):
                    message = f"reader union lacking writer type: {_kind(branch).upper()}"
                    found.append(
                        Incompatibility("MISSING_UNION_BRANCH", message, _pointer(branch_location))
                    )
            return found
        found = _name_problems(reader, writer, location)
        if kind == "fixed" and reader["size"] != writer["size"]:
            message = f"expected: {writer['size']}, found: {reader['size']}"
            found.append(
                Incompatibility("FIXED_SIZE_MISMATCH", message, _pointer((*location, "size")))
            )
        elif kind == "enum":
            found.extend(_enum_problems(reader, writer, location))
        elif kind == "record":
            found.extend(self._field_problems(reader, writer, location))
        return found

    def _field_problems(
        self, reader: dict[str, Any], writer: dict[str, Any], location: tuple[str, ...]
    ) -> list[Incompatibility]:
        found: list[Incompatibility] = []
        writer_fields = {field["name"]: field for field in writer["fields"]}
        for index, field in enumerate(reader["fields"]):
            field_location = (*location, "fields", str(index))
            match = writer_fields.get(field["name"])
            for alias in field.get("aliases", ()):
                match = match or writer_fields.get(alias)
            if match is not None:
                found.extend(self.check(field["type"], match["type"], (*field_location, "type")))
            elif "default" not in field:
                # Java compares an enum-with-default field against the writer *record* here and
                # reports a TYPE_MISMATCH; the verdict is the same, this message is clearer.
                found.append(
                    Incompatibility(
                        "READER_FIELD_MISSING_DEFAULT_VALUE",
                        field["name"],
                        _pointer(field_location),
                    )
                )
        return found


def _resolve(node: Any, named: Mapping[str, Any]) -> Any:
    if isinstance(node, str) and node not in PRIMITIVES:
        return named[node]
    return node


def _kind(node: Any) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "union"
    kind: str = node["type"]
    return "record" if kind == "error" else kind


def _name_problems(
    reader: dict[str, Any], writer: dict[str, Any], location: tuple[str, ...]
) -> list[Incompatibility]:
    # Avro compares unqualified names only; a reader alias must match the writer's full name.
    if split_name(reader["name"])[1] == split_name(writer["name"])[1]:
        return []
    if writer["name"] in reader.get("aliases", ()):
        return []
    message = f"expected: {writer['name']}"
    return [Incompatibility("NAME_MISMATCH", message, _pointer((*location, "name")))]


def _enum_problems(
    reader: dict[str, Any], writer: dict[str, Any], location: tuple[str, ...]
) -> list[Incompatibility]:
    missing = sorted(set(writer["symbols"]) - set(reader["symbols"]))
    if not missing or reader.get("default") in reader["symbols"]:
        return []
    # Python-set spelling, as Apache Avro's Python checker (and Karapace) reports it.
    message = "{" + ", ".join(repr(symbol) for symbol in missing) + "}"
    return [Incompatibility("MISSING_ENUM_SYMBOLS", message, _pointer((*location, "symbols")))]
