"""Parse, validate and canonicalize Avro schemas as Confluent's registry does (pure, no I/O).

:func:`parse_schema` turns the schema text a client sends into a :class:`ParsedSchema`: the
canonical text the registry stores, returns and dedupes on, plus the parsed structure the
compatibility checker walks. Every problem raises :class:`~streams.errors.InvalidSchemaError`
with a message naming the JSON pointer, the field or type, and how to fix it; no input raises
anything else (the registry answers 422 for it, never 500).

Limits, beyond Avro Java's rules, so that every accepted schema also loads in fastavro (the
producers' and consumers' codec) and no input can exhaust the stack:

- types nest at most :data:`MAX_DEPTH` (64) deep and the JSON at most :data:`MAX_JSON_DEPTH`
  (256) deep (Avro Java has no limit of its own; its JSON parser, Jackson, stops at 1000);
- names are at most :data:`MAX_NAME_LENGTH` characters, fixed sizes fit in 32 bits;
- strings are valid Unicode (no lone surrogates) and numbers finite (``1e400`` is refused);
- a ``decimal`` on ``bytes``/``fixed`` needs a positive ``precision`` that fits a Java int, a
  ``scale`` from 0 to the precision, and a fixed big enough for the precision. Avro Java
  ignores an invalid decimal (the values become plain bytes) while fastavro refuses to load
  the schema, so a producer could never use it: we refuse it at registration, naming the field.

The parsed structure is plain JSON data: primitives are strings (or objects when they carry
attributes such as ``logicalType``), unions are lists, a named type is an object at the place it
is defined (``"name"`` fully qualified, no ``"namespace"``) and its full name everywhere else.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NoReturn

from streams.avro._canonical import canonical_text
from streams.avro._defaults import default_problem, show
from streams.avro._json import MAX_JSON_DEPTH, SchemaJSONError, load_json
from streams.avro._names import (
    COMPLEX_TYPES,
    MAX_NAME_LENGTH,
    PRIMITIVES,
    name_candidates,
    name_problem,
    namespace_problem,
    qualify,
)
from streams.errors import InvalidSchemaError

__all__ = [
    "MAX_DEPTH",
    "MAX_JSON_DEPTH",
    "MAX_NAME_LENGTH",
    "ParsedSchema",
    "fingerprint",
    "parse_schema",
]

MAX_DEPTH = 64
_MAX_SIZE = 2**31 - 1

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


class _Parser:
    """One pass over one schema text, adding its named types to a shared table."""

    def __init__(self, named: dict[str, Any], label: str) -> None:
        self._named = named
        self._label = label
        self._context: list[str] = []
        self._defaults: list[tuple[str, Any, Any, str]] = []
        self._depth = 0

    def parse_text(self, text: str) -> Any:
        if not isinstance(text, str):
            raise InvalidSchemaError(f"The {self._label} must be JSON text, not {type(text)}.")
        if not text.strip():
            raise InvalidSchemaError(
                f'The {self._label} is empty; send an Avro schema as JSON, e.g. "string" or '
                '{"type": "record", "name": "User", "fields": [...]}.'
            )
        try:
            node = load_json(text)
        except SchemaJSONError as exc:
            if exc.pointer is None:
                raise InvalidSchemaError(f"The {self._label} {exc.message}") from None
            self._fail(exc.pointer, exc.message)
        definition = self._parse(node, "", None)
        # Defaults are checked last: a default may need a record whose fields come later.
        for path, schema, value, owner in self._defaults:
            problem = default_problem(schema, value, self._named)
            if problem is not None:
                self._context = [owner]
                self._fail(path, f"invalid default: {problem}")
        return definition

    def _fail(self, path: str, message: str) -> NoReturn:
        where = ""
        if self._context:
            inner = self._context[-1]
            field = next((c for c in reversed(self._context) if c.startswith("field ")), inner)
            where = f" ({inner})" if field == inner else f" ({inner} in {field})"
        raise InvalidSchemaError(f"Invalid {self._label} at {path or '/'}{where}: {message}")

    def _parse(self, node: Any, path: str, space: str | None) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                self._fail(
                    path,
                    f"types nest more than {MAX_DEPTH} levels deep; flatten the schema "
                    "(e.g. move deep records into their own fields)",
                )
            return self._parse_node(node, path, space)
        finally:
            self._depth -= 1

    def _parse_node(self, node: Any, path: str, space: str | None) -> Any:
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
                if candidate == name and space is not None and "." not in name:
                    self._fail(
                        path,
                        f"type {name!r} is in the null namespace and is referred to from "
                        f"namespace {space!r} by its simple name: Avro Java resolves that, but "
                        "fastavro (Python producers and consumers) cannot; give the type a "
                        "namespace and refer to it by its full name",
                    )
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
            if kind == "bytes":
                self._decimal(props, path, None)
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
            if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= _MAX_SIZE:
                self._fail(
                    f"{path}/size" if "size" in node else path,
                    f'fixed {full!r} needs a "size": a non-negative integer (bytes) below 2^31, '
                    f"not {show(size)}",
                )
            out["size"] = size
            self._decimal(node, path, size)
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

    def _decimal(self, node: Mapping[str, Any], path: str, size: int | None) -> None:
        """Refuse a decimal that fastavro (hence every producer and consumer) cannot load."""
        if node.get("logicalType") != "decimal":
            return
        precision: Any = node.get("precision")
        scale: Any = node.get("scale", 0)
        what = "a decimal" + (f" on fixed({size})" if size is not None else "")
        if not _is_int(precision) or precision < 1:
            self._fail(
                f"{path}/precision" if "precision" in node else path,
                f'{what} needs a "precision": a positive integer (the number of digits), '
                f"not {show(precision)}",
            )
        if precision > _JAVA_INT_MAX:
            # Avro Java reads precision and scale as Java ints (BigDecimal's limit too).
            self._fail(
                f"{path}/precision",
                f'{what}\'s "precision" must be at most {_JAVA_INT_MAX} (a Java int, as Avro '
                f"Java reads it), not {show(precision)}; give the number of digits you need",
            )
        if not _is_int(scale) or not 0 <= scale <= precision:
            self._fail(
                f"{path}/scale",
                f'{what}\'s "scale" must be an integer from 0 to its precision ({precision}), '
                f"not {show(scale)}; the scale counts digits after the point, the precision all "
                "digits",
            )
        if size is not None:
            digits = math.floor(math.log10(2) * (8 * size - 1)) if size else 0
            if precision > digits:
                self._fail(
                    f"{path}/precision",
                    f"{what} holds at most {digits} digits, not a precision of {precision}; "
                    "make the fixed larger or the precision smaller",
                )

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


_JAVA_INT_MAX = 2**31 - 1


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _props(node: dict[str, Any], reserved: frozenset[str]) -> dict[str, Any]:
    """Custom attributes, in the order they were written (as Avro Java keeps them)."""
    return {key: value for key, value in node.items() if key not in reserved}
