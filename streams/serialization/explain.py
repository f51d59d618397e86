"""Say exactly what is wrong with a value that does not match an Avro schema.

Encoding runs first, at full speed; only when it fails (or finds unknown fields) does this
module walk the schema to name the field path, the expected type and the offending value.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = ["Problem", "find_problem"]

Problem = tuple[str, str, Any]  # (path, expected, value)
_Named = Mapping[str, Any]

_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def _describe(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return " | ".join(_describe(s) for s in schema)
    kind = schema.get("type")
    logical = schema.get("logicalType")
    if logical:
        return f"{kind} ({logical})"
    if kind in ("record", "enum", "fixed"):
        name = str(schema.get("name", kind))
        if kind == "enum":
            return f"enum {name} {schema.get('symbols')}"
        return f"{kind} {name}"
    if kind == "array":
        return f"array<{_describe(schema['items'])}>"
    if kind == "map":
        return f"map<{_describe(schema['values'])}>"
    return str(kind)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def find_problem(
    schema: Any, value: Any, path: str = "", named: Mapping[str, Any] | None = None
) -> Problem | None:
    """The first place where ``value`` does not fit ``schema``.

    Args:
        schema: A schema as fastavro parses it.
        value: The value to check.
        path: Where ``value`` sits (for messages).
        named: Full name -> definition of named types, which fastavro's parsed schemas refer to
            by name after their first definition.
    """
    named = named or {}
    if isinstance(schema, list):
        for branch in schema:
            if find_problem(branch, value, path, named) is None:
                return None
        return (path or "(root)", _describe(schema), value)
    if isinstance(schema, str) and schema not in _CHECKS:
        if schema not in named:
            return None
        schema = named[schema]
    kind = schema if isinstance(schema, str) else schema.get("type")
    logical = None if isinstance(schema, str) else schema.get("logicalType")
    checker = _CHECKS.get(kind)
    if checker is not None:
        return checker(schema, value, path, logical, named)
    return None


def _primitive(
    schema: Any, value: Any, path: str, logical: str | None, named: _Named
) -> Problem | None:
    kind = schema if isinstance(schema, str) else schema["type"]
    ok: bool
    if kind == "null":
        ok = value is None
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in ("int", "long"):
        if logical and isinstance(value, datetime.datetime | datetime.date | datetime.time):
            ok = True
        else:
            low, high = _INT_RANGE[kind]
            ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    elif kind in ("float", "double"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "string":
        ok = isinstance(value, str) or (logical == "uuid" and isinstance(value, uuid.UUID))
    elif kind == "bytes":
        ok = isinstance(value, bytes | bytearray) or (
            logical == "decimal" and isinstance(value, decimal.Decimal)
        )
    else:
        ok = True
    return None if ok else (path or "(root)", _describe(schema), value)


def _record(
    schema: Any, value: Any, path: str, logical: str | None, named: _Named
) -> Problem | None:
    if not isinstance(value, Mapping):
        return (path or "(root)", _describe(schema), value)
    fields = schema["fields"]
    names = {f["name"] for f in fields}
    for key in value:
        if key not in names:
            known = ", ".join(sorted(names))
            return (_join(path, str(key)), f"no such field (known: {known})", value[key])
    for field in fields:
        name = field["name"]
        if name not in value and "default" in field:
            continue
        problem = find_problem(field["type"], value.get(name), _join(path, name), named)
        if problem is not None:
            return problem
    return None


def _enum(schema: Any, value: Any, path: str, logical: str | None, named: _Named) -> Problem | None:
    symbols = schema["symbols"]
    symbol = getattr(value, "value", value)
    return None if symbol in symbols else (path or "(root)", _describe(schema), value)


def _array(
    schema: Any, value: Any, path: str, logical: str | None, named: _Named
) -> Problem | None:
    if not isinstance(value, list | tuple):
        return (path or "(root)", _describe(schema), value)
    for index, item in enumerate(value):
        problem = find_problem(schema["items"], item, f"{path}[{index}]", named)
        if problem is not None:
            return problem
    return None


def _map(schema: Any, value: Any, path: str, logical: str | None, named: _Named) -> Problem | None:
    if not isinstance(value, Mapping):
        return (path or "(root)", _describe(schema), value)
    for key, item in value.items():
        if not isinstance(key, str):
            return (f"{path}[{key!r}]", "string map key", key)
        problem = find_problem(schema["values"], item, f"{path}[{key!r}]", named)
        if problem is not None:
            return problem
    return None


def _fixed(
    schema: Any, value: Any, path: str, logical: str | None, named: _Named
) -> Problem | None:
    ok = isinstance(value, bytes | bytearray) and len(value) == schema["size"]
    if logical == "decimal" and isinstance(value, decimal.Decimal):
        ok = True
    return None if ok else (path or "(root)", f"fixed of {schema['size']} bytes", value)


_CHECKS = {
    **dict.fromkeys(
        ("null", "boolean", "int", "long", "float", "double", "string", "bytes"), _primitive
    ),
    "record": _record,
    "error": _record,
    "enum": _enum,
    "array": _array,
    "map": _map,
    "fixed": _fixed,
}
