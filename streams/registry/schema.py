"""Parse, validate and canonicalize Avro schemas as Confluent's registry does (pure, no I/O).

:func:`parse_schema` turns the schema text a client sends into a :class:`ParsedSchema`: the
canonical text the registry stores, returns and dedupes on, plus the parsed structure the
compatibility checker walks. Every problem raises :class:`~streams.errors.InvalidSchemaError`
with a message naming the JSON pointer, the field or type, and how to fix it.

The parsed structure is plain JSON data: primitives are strings (or objects when they carry
attributes such as ``logicalType``), unions are lists, a named type is an object at the place it
is defined (``"name"`` fully qualified, no ``"namespace"``) and its full name everywhere else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NoReturn

from streams.errors import InvalidSchemaError
from streams.registry._canonical import canonical_text
from streams.registry._defaults import default_problem, show
from streams.registry._names import (
    COMPLEX_TYPES,
    PRIMITIVES,
    name_candidates,
    name_problem,
    namespace_problem,
    qualify,
)

__all__ = ["ParsedSchema", "fingerprint", "parse_schema"]

# Attributes Avro gives a meaning to; every other attribute is kept as a custom property.
# Java drops reserved attributes that mean nothing for the type at hand (e.g. a primitive's doc).
_SCHEMA_RESERVED = frozenset(
    {"type", "name", "namespace", "doc", "aliases", "fields", "symbols", "size", "items", "values"}
    | {"default"}
)
_FIELD_RESERVED = frozenset({"name", "type", "doc", "default", "order", "aliases"})
_ORDERS = ("ascending", "descending", "ignore")


@dataclass(frozen=True, slots=True)
class ParsedSchema:
    """A valid Avro schema.

    Attributes:
        canonical: Canonical text (Avro Java's ``Schema.toString()``, as Confluent stores it).
        definition: The parsed main schema (see the module docstring for its shape).
        named: Full name -> definition of every named type visible, including references'.
    """

    canonical: str
    definition: Any
    named: Mapping[str, Any]


def parse_schema(text: str, references: Sequence[str] = ()) -> ParsedSchema:
    """Parse and validate an Avro schema.

    Args:
        text: The schema text as sent to the registry.
        references: Texts of the referenced schemas, dependencies first; the main schema may use
            their named types by name. They are not inlined into the canonical text.

    Raises:
        InvalidSchemaError: The text (or a reference) is not a valid Avro schema.
    """
    named: dict[str, Any] = {}
    for index, reference in enumerate(references):
        _Parser(named, f"reference {index + 1} of {len(references)}").parse_text(reference)
    definition = _Parser(named, "schema").parse_text(text)
    return ParsedSchema(
        canonical=canonical_text(definition),
        definition=definition,
        named=MappingProxyType(named),
    )


def fingerprint(canonical: str) -> str:
    """The SHA-256 hex digest of a canonical text (a stable identity for deduplication)."""
    return hashlib.sha256(canonical.encode()).hexdigest()


def _reject_constant(constant: str) -> NoReturn:
    raise ValueError(f"{constant} is not valid JSON")


class _Parser:
    """One pass over one schema text, adding its named types to a shared table."""

    def __init__(self, named: dict[str, Any], label: str) -> None:
        self._named = named
        self._label = label
        self._context: list[str] = []
        self._defaults: list[tuple[str, Any, Any, str]] = []

    def parse_text(self, text: str) -> Any:
        if not isinstance(text, str):
            raise InvalidSchemaError(f"The {self._label} must be JSON text, not {type(text)}.")
        if not text.strip():
            raise InvalidSchemaError(
                f'The {self._label} is empty; send an Avro schema as JSON, e.g. "string" or '
                '{"type": "record", "name": "User", "fields": [...]}.'
            )
        try:
            node = json.loads(text, parse_constant=_reject_constant)
        except (json.JSONDecodeError, ValueError) as exc:
            where = (
                f" at line {exc.lineno} column {exc.colno}"
                if isinstance(exc, json.JSONDecodeError)
                else ""
            )
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise InvalidSchemaError(
                f"The {self._label} is not valid JSON: {reason}{where}. Avro schemas are JSON; "
                'quote type names (e.g. "string").'
            ) from exc
        definition = self._parse(node, "", None)
        # Defaults are checked last: a default may need a record whose fields come later.
        for path, schema, value, owner in self._defaults:
            problem = default_problem(schema, value, self._named)
            if problem is not None:
                self._context = [owner]
                self._fail(path, f"invalid default: {problem}")
        return definition

    def _fail(self, path: str, message: str) -> NoReturn:
        where = f" ({self._context[-1]})" if self._context else ""
        raise InvalidSchemaError(f"Invalid {self._label} at {path or '/'}{where}: {message}")

    def _parse(self, node: Any, path: str, space: str | None) -> Any:
        if isinstance(node, str):
            return self._reference(node, path, space)
        if isinstance(node, list):
            return self._union(node, path, space)
        if isinstance(node, dict):
            return self._object(node, path, space)
        return self._fail(
            path,
            f'{show(node)} is not a schema; use a type name such as "string", an object such '
            'as {"type": "record", ...}, or a union list such as ["null", "string"]',
        )

    def _reference(self, name: str, path: str, space: str | None) -> str:
        if name in PRIMITIVES:
            return name
        if name in COMPLEX_TYPES:
            self._fail(path, f'type {name!r} needs its attributes: write {{"type": "{name}", ...}}')
        candidates = name_candidates(name, space)
        for candidate in candidates:
            if candidate in self._named:
                return candidate
        looked = " or ".join(repr(candidate) for candidate in candidates)
        return self._fail(
            path,
            f"unknown type {name!r}: not a primitive type ({', '.join(sorted(PRIMITIVES))}) and "
            f"no named type {looked} is defined before this point; fix the spelling, define the "
            "type first, or add the schema defining it as a reference",
        )

    def _union(self, node: list[Any], path: str, space: str | None) -> list[Any]:
        branches: list[Any] = []
        seen: dict[str, int] = {}
        for index, branch in enumerate(node):
            branch_path = f"{path}/{index}"
            if isinstance(branch, list):
                self._fail(branch_path, "a union cannot contain a union; merge their branches")
            parsed = self._parse(branch, branch_path, space)
            key = parsed if isinstance(parsed, str) else parsed.get("name", parsed["type"])
            if key in seen:
                self._fail(
                    branch_path,
                    f"the union has {key!r} twice (branches {seen[key]} and {index}); "
                    "each type may appear once",
                )
            seen[key] = index
            branches.append(parsed)
        return branches

    def _object(self, node: dict[str, Any], path: str, space: str | None) -> Any:
        if "type" not in node:
            self._fail(path, f'{show(node)} has no "type"; add e.g. "type": "record"')
        kind = node["type"]
        if not isinstance(kind, str):
            self._fail(
                f"{path}/type",
                f'"type" must be a type name such as "record", not {show(kind)}; to nest a '
                "schema, write it in place of this object",
            )
        if kind in PRIMITIVES:
            props = _props(node, _SCHEMA_RESERVED)
            return {"type": kind, **props} if props else kind
        if kind in ("array", "map"):
            child = "items" if kind == "array" else "values"
            if child not in node:
                article = "an" if kind == "array" else "a"
                self._fail(path, f'{article} {kind} needs "{child}" (the type of its {child})')
            parsed = self._parse(node[child], f"{path}/{child}", space)
            return {"type": kind, child: parsed, **_props(node, _SCHEMA_RESERVED)}
        if kind in ("record", "error", "enum", "fixed"):
            return self._named_type(kind, node, path, space)
        # Avro Java accepts {"type": "SomeNamedType"} and drops the other attributes.
        return self._reference(kind, f"{path}/type", space)

    def _named_type(
        self, kind: str, node: dict[str, Any], path: str, space: str | None
    ) -> dict[str, Any]:
        name = node.get("name")
        if not isinstance(name, str):
            self._fail(path, f'a {kind} needs a "name" string, e.g. "name": "User"')
        namespace = node.get("namespace")
        if namespace is not None:
            if not isinstance(namespace, str):
                self._fail(
                    f"{path}/namespace", f'"namespace" must be a string, not {show(namespace)}'
                )
            problem = namespace_problem(namespace)
            if problem:
                self._fail(f"{path}/namespace", f"{kind} {name!r}: {problem}")
            space = namespace or None
        problem = name_problem(name)
        if problem:
            self._fail(f"{path}/name", f"{kind} {problem}")
        full = qualify(name, space)
        own_space = full.rpartition(".")[0] or None
        if full in PRIMITIVES:
            self._fail(f"{path}/name", f"a {kind} cannot be named like the primitive {full!r}")
        if full in self._named:
            self._fail(
                f"{path}/name",
                f"type {full!r} is defined twice (or also in a reference); define it once and "
                "refer to it by name afterwards",
            )
        out: dict[str, Any] = {"type": kind, "name": full}
        if "doc" in node:
            out["doc"] = self._string(node, "doc", path)
        aliases = self._aliases(node, path, own_space)
        self._context.append(f"{kind} {full!r}")
        if kind in ("record", "error"):
            out["fields"] = []
            # Registered before its fields are parsed, so a record may refer to itself.
            self._named[full] = out
            self._fields(node, path, full, own_space, out["fields"])
        elif kind == "enum":
            self._enum(node, path, full, out)
            self._named[full] = out
        else:
            size = node.get("size")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                self._fail(
                    f"{path}/size" if "size" in node else path,
                    f'fixed {full!r} needs a "size": a non-negative integer (bytes), '
                    f"not {show(size)}",
                )
            out["size"] = size
            self._named[full] = out
        self._context.pop()
        out.update(_props(node, _SCHEMA_RESERVED))
        if aliases:
            out["aliases"] = aliases
        return out

    def _fields(
        self, node: dict[str, Any], path: str, full: str, space: str | None, out: list[Any]
    ) -> None:
        fields = node.get("fields")
        if not isinstance(fields, list):
            self._fail(
                f"{path}/fields" if "fields" in node else path,
                f'record {full!r} needs a "fields" list (it may be empty)',
            )
        seen: dict[str, int] = {}
        for index, field in enumerate(fields):
            field_path = f"{path}/fields/{index}"
            if not isinstance(field, dict):
                self._fail(field_path, 'a field must be an object with "name" and "type"')
            name = field.get("name")
            if not isinstance(name, str):
                self._fail(field_path, f'field {index} of record {full!r} needs a "name" string')
            problem = name_problem(name, dotted=False)
            if problem:
                self._fail(f"{field_path}/name", f"field {problem}")
            if name in seen:
                self._fail(
                    f"{field_path}/name",
                    f"record {full!r} has two fields named {name!r} (fields {seen[name]} and "
                    f"{index}); rename or remove one",
                )
            seen[name] = index
            owner = f"field {name!r} of record {full!r}"
            if "type" not in field:
                self._fail(field_path, f'{owner} has no "type"')
            self._context.append(owner)
            parsed: dict[str, Any] = {
                "name": name,
                "type": self._parse(field["type"], f"{field_path}/type", space),
            }
            if "doc" in field:
                parsed["doc"] = self._string(field, "doc", field_path)
            if "default" in field:
                parsed["default"] = field["default"]
                self._defaults.append(
                    (f"{field_path}/default", parsed["type"], field["default"], owner)
                )
            order = field.get("order", "ascending")
            if not isinstance(order, str) or order.lower() not in _ORDERS:
                self._fail(
                    f"{field_path}/order", f"order must be one of {_ORDERS}, not {show(order)}"
                )
            if order.lower() != "ascending":
                parsed["order"] = order.lower()
            aliases = field.get("aliases")
            if aliases is not None:
                if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                    self._fail(f"{field_path}/aliases", '"aliases" must be a list of names')
                if aliases:
                    parsed["aliases"] = aliases
            parsed.update(_props(field, _FIELD_RESERVED))
            self._context.pop()
            out.append(parsed)

    def _enum(self, node: dict[str, Any], path: str, full: str, out: dict[str, Any]) -> None:
        symbols = node.get("symbols")
        if not isinstance(symbols, list):
            self._fail(
                f"{path}/symbols" if "symbols" in node else path,
                f'enum {full!r} needs a "symbols" list of names',
            )
        seen: set[str] = set()
        for index, symbol in enumerate(symbols):
            problem = name_problem(symbol, dotted=False) if isinstance(symbol, str) else "not text"
            if problem:
                self._fail(f"{path}/symbols/{index}", f"enum symbol {show(symbol)}: {problem}")
            if symbol in seen:
                self._fail(f"{path}/symbols/{index}", f"enum symbol {symbol!r} is listed twice")
            seen.add(symbol)
        out["symbols"] = symbols
        default = node.get("default")
        if default is not None:
            if default not in seen:
                self._fail(
                    f"{path}/default",
                    f"enum default {show(default)} is not one of the symbols {show(symbols)}; "
                    "use one of them",
                )
            out["default"] = default

    def _aliases(self, node: dict[str, Any], path: str, space: str | None) -> list[str]:
        aliases = node.get("aliases")
        if aliases is None:
            return []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            self._fail(f"{path}/aliases", '"aliases" must be a list of names')
        for index, alias in enumerate(aliases):
            problem = name_problem(alias)
            if problem:
                self._fail(f"{path}/aliases/{index}", f"alias {problem}")
        return [qualify(alias, space) for alias in aliases]

    def _string(self, node: dict[str, Any], key: str, path: str) -> str:
        value = node[key]
        if not isinstance(value, str):
            self._fail(f"{path}/{key}", f'"{key}" must be a string, not {show(value)}')
        return value


def _props(node: dict[str, Any], reserved: frozenset[str]) -> dict[str, Any]:
    """Custom attributes, in the order they were written (as Avro Java keeps them)."""
    return {key: value for key, value in node.items() if key not in reserved}
