"""Check that a field's default value fits the field's type (Avro's ``isValidDefault``, stricter).

Avro Java only checks the JSON kind of enum, fixed and bytes defaults; we also check enum symbols,
fixed lengths, that bytes are written as code points 0-255 and that a ``uuid`` default is a
UUID, because a reader that falls back to such a default (or fastavro, writing it) fails at run
time, long after the schema was accepted.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from streams.avro._names import PRIMITIVES

__all__ = ["default_problem", "show", "type_label"]

_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)
# A float default at or beyond this rounds to infinity as a 32-bit float (halfway between the
# largest float, (2 - 2**-23) * 2**127, and 2**128; ties go to even, i.e. to infinity).
_FLOAT_ROUNDS_TO_INFINITY = (2 - 2**-24) * 2**127
# Avro reads these strings as the IEEE special values of float and double defaults.
_FLOAT_WORDS = frozenset({"NaN", "Infinity", "-Infinity"})


def show(value: Any, limit: int = 60) -> str:
    """A short JSON rendering of ``value`` for error messages."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _resolve(schema: Any, named: Mapping[str, Any]) -> Any:
    if isinstance(schema, str) and schema not in PRIMITIVES:
        return named[schema]
    return schema


def _kind(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "union"
    kind: str = schema["type"]
    return "record" if kind == "error" else kind


def type_label(schema: Any, named: Mapping[str, Any]) -> str:
    """A short human name of a type: ``'string'``, ``record 'ns.User'``, ``array``, …."""
    resolved = _resolve(schema, named)
    kind = _kind(resolved)
    if isinstance(resolved, dict) and "name" in resolved:
        return f"{kind} {resolved['name']!r}"
    return repr(kind) if kind in PRIMITIVES else kind


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _latin1(value: Any) -> bool:
    return isinstance(value, str) and all(ord(char) < 256 for char in value)


def default_problem(schema: Any, value: Any, named: Mapping[str, Any]) -> str | None:
    """Why ``value`` is not a valid default for ``schema`` (``None`` when it is).

    Args:
        schema: A parsed type (primitive name, full name of a named type, union list or object).
        value: The JSON default.
        named: Full name -> definition of the named types ``schema`` may refer to.
    """
    resolved = _resolve(schema, named)
    kind = _kind(resolved)
    got = show(value)
    if kind == "union":
        if not resolved:
            return "an empty union has no value, so it cannot have a default"
        problem = default_problem(resolved[0], value, named)
        if problem is None:
            return None
        first = type_label(resolved[0], named)
        return (
            f"a union's default must match its first branch ({first}): {problem}; "
            "put the branch the default belongs to first in the union"
        )
    if kind in PRIMITIVES:
        problem = _primitive_problem(kind, value, got)
        if problem is None and isinstance(resolved, dict) and resolved.get("logicalType") == "uuid":
            return _uuid_problem(value, got)
        return problem
    if kind == "enum":
        symbols = resolved["symbols"]
        if isinstance(value, str) and value in symbols:
            return None
        return f"{got} is not a symbol of enum {resolved['name']!r} {show(symbols)}"
    if kind == "fixed":
        size = resolved["size"]
        if _latin1(value) and len(value) == size:
            return None
        return (
            f"{got} is not a valid fixed({size}) default; write exactly {size} characters "
            "with code points 0-255 (one per byte)"
        )
    if kind == "array":
        if not isinstance(value, list):
            return f"{got} is not an array"
        for index, item in enumerate(value):
            problem = default_problem(resolved["items"], item, named)
            if problem is not None:
                return f"array item {index}: {problem}"
        return None
    return _container_problem(kind, resolved, value, got, named)


def _uuid_problem(value: Any, got: str) -> str | None:
    # Java does not check; fastavro refuses to write such a default, so producers would fail.
    try:
        uuid.UUID(value)
    except (ValueError, TypeError):
        return f'{got} is not a UUID (e.g. "123e4567-e89b-12d3-a456-426614174000")'
    return None


def _primitive_problem(kind: str, value: Any, got: str) -> str | None:
    ok: bool
    if kind == "null":
        ok = value is None
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in ("int", "long"):
        low, high = _INT_RANGE if kind == "int" else _LONG_RANGE
        if _is_int(value) and not low <= value <= high:
            return f"{got} is out of range for {kind} ({low} to {high})"
        ok = _is_int(value)
    elif kind in ("float", "double"):
        if _is_int(value) or isinstance(value, float):
            try:
                number = float(value)
            except OverflowError:
                return f"{got} is out of range for a double"
            if kind == "float" and abs(number) >= _FLOAT_ROUNDS_TO_INFINITY:
                return f"{got} is out of range for a 32-bit float (about ±3.4028235e38)"
        ok = (
            _is_int(value)
            or isinstance(value, float)
            or (isinstance(value, str) and value in _FLOAT_WORDS)
        )
    elif kind == "bytes":
        if isinstance(value, str) and not _latin1(value):
            return f"{got} is not a valid bytes default; use code points 0-255 (one per byte)"
        ok = isinstance(value, str)
    else:  # string
        ok = isinstance(value, str)
    return None if ok else f"{got} is not a valid {kind!r}"


def _container_problem(
    kind: str, resolved: Any, value: Any, got: str, named: Mapping[str, Any]
) -> str | None:
    if kind == "map":
        if not isinstance(value, dict):
            return f"{got} is not a map (JSON object)"
        for key, item in value.items():
            problem = default_problem(resolved["values"], item, named)
            if problem is not None:
                return f"map value {key!r}: {problem}"
        return None
    # record
    if not isinstance(value, dict):
        return f"{got} is not a record (JSON object) for {resolved['name']!r}"
    for field in resolved["fields"]:
        name = field["name"]
        if name in value:
            problem = default_problem(field["type"], value[name], named)
            if problem is not None:
                return f"record field {name!r}: {problem}"
        elif "default" not in field:
            return (
                f"{got} lacks field {name!r} of record {resolved['name']!r}, which has no default"
            )
    return None
