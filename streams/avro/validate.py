"""The one value validator: does a Python value fit a parsed schema? (pure, no I/O)

:func:`compile_validator` turns a schema into a tree of small check closures, once per schema,
in two flavours built by the same code:

- ``check`` (the hot path, run before every fastavro write) checks only where fastavro would
  silently write something else than the value it was given: floats, bools and ``Decimal``\\ s in
  int/long fields (truncated), ints outside 32 bits in an ``int`` (an over-long varint Avro's
  readers reject), non-bools in booleans, strings, dicts and sets as arrays (written as their
  characters or keys), anything in a ``null``, naive datetimes for ``timestamp-*`` (encoded in
  the host's time zone), and unions holding any of these. Types fastavro itself refuses (a
  number for a string, an unknown enum symbol, a wrong fixed size, an unknown field) are left to
  it. ``scripts/bench events`` (``emit_vs_raw_with_headers``) measures what this costs.
- ``explain`` checks everything and returns the first :class:`Problem` (field path, expected
  type, value, hint), for the error message once encoding has failed.

Checks raise :class:`InvalidValueError`; a container adds its step to the exception's path as
it passes through, so the path costs nothing until something is wrong.
"""

from __future__ import annotations

import datetime
import decimal
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.avro import _checks as checks
from streams.avro._checks import (
    DAYS,
    INT,
    LONG,
    MICROS,
    MILLIS,
    TIME_MICROS,
    TIME_MILLIS,
    Check,
    InvalidValueError,
)
from streams.avro._names import PRIMITIVES
from streams.avro.schema import ParsedSchema

__all__ = [
    "MAX_VALUE_DEPTH",
    "InvalidValueError",
    "Problem",
    "Validator",
    "compile_validator",
    "describe_expected",
    "is_recursive",
]

_MISSING: Any = object()

# How deep the dicts and lists of a value of a *recursive* schema may nest (a non-recursive
# schema bounds its values' depth itself: types nest at most MAX_DEPTH deep). fastavro's compiled
# writer and reader recurse in C without a check (a deep value crashes the process) and its
# union writer re-validates the whole remaining value at every level (quadratic), so recursive
# schemas are encoded only up to this depth and decoded with fastavro's pure-Python reader,
# which needs about six Python frames per level: 100 levels stay well within Python's default
# recursion limit (1000) even when the consumer's own stack is deep.
MAX_VALUE_DEPTH = 100


class _Never:
    """A class no value has: the inline test of a field without one (see ``_accept``)."""


# (Avro type, logicalType) pairs fastavro converts values for; other logical types are ignored,
# as Avro ignores a logical type it does not know.
_TIMESTAMPS = frozenset({"timestamp-millis", "timestamp-micros"})
_LOCAL_TIMESTAMPS = frozenset({"local-timestamp-millis", "local-timestamp-micros"})


@dataclass(frozen=True, slots=True)
class Problem:
    """Where a value does not fit its schema.

    Attributes:
        path: The field path (``context.playlist_id``, ``track_ids[2]``, ``(root)``).
        expected: The Avro type expected there (``long``, ``null | string``, ...).
        value: What the value held there.
        hint: How to fix it, when there is more to say than the expected type.
        missing: The field is not in the value at all (and has no default); ``value`` is None.
    """

    path: str
    expected: str
    value: Any
    hint: str = ""
    missing: bool = False

    def describe(self) -> str:
        """The problem in one phrase with its fix, e.g. ``field 'n' expects long, got 'x'
        (str); fix the value or the schema`` or ``missing required field 'n' (long, no
        default); add it``: the one wording every producer's error uses."""
        if self.missing:
            return f"missing required field '{self.path}' ({self.expected}, no default); add it"
        shown = _REPR.repr(self.value)  # bounded: a value may nest deep
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        fix = self.hint or "fix the value or the schema"
        if not self.hint and isinstance(self.value, str) and "(timestamp-" in self.expected:
            # Text here is an ISO 8601 time that did not parse as one with a zone.
            fix = (
                "write epoch milliseconds, or an ISO 8601 time with its zone, e.g. "
                "2026-12-01T06:00:00Z or ...+01:00 (a time without a zone is ambiguous)"
            )
        return (
            f"field '{self.path}' expects {self.expected}, got {shown} "
            f"({type(self.value).__name__}); {fix}"
        )


# Shows a value in an error message: like repr, but a deeply nested one stops after 6 levels.
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlevel = 6


class Validator:
    """Checks values of one schema (see the module docstring).

    Attributes:
        check: Raises :class:`InvalidValueError` where fastavro would silently write something
            else; other wrong types may pass (fastavro refuses them) or raise it too.
    """

    __slots__ = ("_full", "check")

    def __init__(self, check: Check, full: Check) -> None:
        self.check = check
        self._full = full

    def explain(self, value: Any) -> Problem | None:
        """The first place where ``value`` does not fit the schema, or ``None``."""
        try:
            self._full(value)
        except InvalidValueError as exc:
            if exc.value is _MISSING:
                return Problem(exc.where(), exc.expected, None, exc.hint, missing=True)
            return Problem(exc.where(), exc.expected, exc.value, exc.hint)
        return None


def compile_validator(schema: ParsedSchema) -> Validator:
    """Compile the checks of ``schema`` (do it once per schema; they are reused per value).

    For a recursive schema both checks first bound the value's nesting depth at
    :data:`MAX_VALUE_DEPTH`.
    """
    fast = _Compiler(schema, full=False).compile(schema.definition)
    full = _Compiler(schema, full=True).compile(schema.definition)
    assert full is not None  # a full compiler checks every type
    if is_recursive(schema.definition, schema.named):
        return Validator(_bounded(fast), _bounded(full))
    return Validator(fast or _nothing, full)


def _nothing(value: Any) -> None:
    return None


def is_recursive(definition: Any, named: Mapping[str, Any]) -> bool:
    """Whether ``definition`` uses a named type that is reachable from itself.

    Works on this package's parsed shape and on fastavro's (both reference a named type by its
    full name after its first, inline, definition, and list every named type in ``named``).
    """

    def refs(node: Any, out: set[str], top: bool = False) -> set[str]:
        """The named types ``node`` uses; a named definition met inside counts as a use."""
        if isinstance(node, str):
            if node in named:
                out.add(node)
        elif isinstance(node, list):
            for branch in node:
                refs(branch, out)
        elif isinstance(node, Mapping):
            if not top and isinstance(node.get("name"), str) and node["name"] in named:
                out.add(node["name"])
                return out
            for field in node.get("fields", ()):
                refs(field["type"], out)
            for key in ("items", "values"):
                if key in node:
                    refs(node[key], out)
        return out

    edges = {name: refs(node, set(), top=True) for name, node in named.items()}
    pending = list(refs(definition, set(), top=True))
    used: set[str] = set()
    while pending:  # the named types the definition can reach
        name = pending.pop()
        if name not in used:
            used.add(name)
            pending.extend(edges.get(name, ()))
    for start in used:
        stack, visited = list(edges.get(start, ())), set()
        while stack:
            name = stack.pop()
            if name == start:
                return True
            if name not in visited:
                visited.add(name)
                stack.extend(edges.get(name, ()))
    return False


def _bounded(check: Check | None) -> Check:
    """``check`` after a walk that refuses values nested deeper than :data:`MAX_VALUE_DEPTH`."""

    def bounded(value: Any) -> None:
        _check_depth(value)
        if check is not None:
            check(value)

    return bounded


def _check_depth(value: Any) -> None:
    # Iterative, so that the walk itself cannot exhaust the stack.
    stack: list[tuple[Any, int, tuple[str, ...]]] = [(value, 0, ())]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, Mapping):
            children: Any = ((str(key), child) for key, child in item.items())
        elif isinstance(item, list | tuple):
            children = ((f"[{index}]", child) for index, child in enumerate(item))
        else:
            continue
        if depth == MAX_VALUE_DEPTH:
            exc = InvalidValueError(
                f"at most {MAX_VALUE_DEPTH} levels of nesting",
                item,
                f"the value nests deeper than {MAX_VALUE_DEPTH} levels, the limit for values "
                "of recursive schemas (so that every consumer can read them back); flatten it "
                "or split it into several events",
            )
            exc.path = ["...", *reversed(path[:8])] if len(path) > 8 else [*reversed(path)]
            raise exc
        for step, child in children:
            if isinstance(child, Mapping | list | tuple):
                stack.append((child, depth + 1, (*path, step)))


def describe_expected(node: Any, named: Mapping[str, Any]) -> str:
    """The expected type as error messages write it (``long``, ``array<string>``, ...)."""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return " | ".join(describe_expected(branch, named) for branch in node)
    kind = node["type"]
    logical = node.get("logicalType")
    if kind == "enum":
        return f"enum {node['name']} {node['symbols']}"
    if kind == "fixed":
        return f"fixed {node['name']} ({node['size']} bytes)"
    if kind in ("record", "error"):
        return f"record {node['name']}"
    if logical:
        return f"{kind} ({logical})"
    if kind == "array":
        return f"array<{describe_expected(node['items'], named)}>"
    if kind == "map":
        return f"map<{describe_expected(node['values'], named)}>"
    return str(kind)


def _range(kind: str, logical: Any) -> tuple[int, int]:
    """The ints an int/long type takes: its bits, or what Python can read of its logical type."""
    return _RANGES.get((kind, logical), INT if kind == "int" else LONG)


_RANGES = {
    ("long", "timestamp-millis"): MILLIS,
    ("long", "local-timestamp-millis"): MILLIS,
    ("long", "timestamp-micros"): MICROS,
    ("long", "local-timestamp-micros"): MICROS,
    ("int", "date"): DAYS,
    ("int", "time-millis"): TIME_MILLIS,
    ("long", "time-micros"): TIME_MICROS,
}


def _step(exc: InvalidValueError, step: str) -> InvalidValueError:
    exc.path.append(step)
    return exc


class _Compiler:
    """Builds the checks of one schema; ``full`` selects ``explain`` rather than ``check``."""

    def __init__(self, schema: ParsedSchema, *, full: bool) -> None:
        self._schema = schema
        self._named = schema.named
        self._full = full
        self._records: dict[str, Check | None] = {}
        self._unsafe: dict[str, bool] = {}
        self._branches: _Compiler | None = None  # compiles union branches, which check fully

    def _resolve(self, node: Any) -> Any:
        if isinstance(node, str) and node not in PRIMITIVES:
            return self._named[node]
        return node

    # --- which types need a check on the hot path -----------------------------------------

    def unsafe(self, node: Any, visiting: frozenset[str] = frozenset()) -> bool:
        """Whether fastavro may silently write a wrong value of this type.

        A union counts like its branches: fastavro validates a value to pick its branch, but a
        tuple ``(branch name, value)`` picks it without validation. Its ``null`` branch does not
        count: only ``("null", value)`` could lose a value there, and checking every nullable
        string for that would cost the hot path more than the mistake is worth.
        """
        node = self._resolve(node)
        if isinstance(node, list):
            return any(self.unsafe(b, visiting) for b in node if b != "null")
        kind = node if isinstance(node, str) else node["type"]
        if kind in ("string", "bytes", "enum", "fixed"):
            # fastavro refuses other types here; only a decimal's raw bytes can hold too much.
            decimal_base = kind in ("bytes", "fixed") and isinstance(node, dict)
            return decimal_base and node.get("logicalType") == "decimal"
        if kind in ("record", "error"):
            name = node["name"]
            if name in self._unsafe:
                return self._unsafe[name]
            if name in visiting:
                return False  # the cycle adds no field that the outer walk does not see
            if not node["fields"]:
                return True  # fastavro writes an empty record for any value at all
            inner = visiting | {name}
            found = any(self.unsafe(field["type"], inner) for field in node["fields"])
            if not visiting:
                self._unsafe[name] = found
            return found
        # null, boolean, numbers (and their logical types), arrays and maps (fastavro writes
        # "" or [] as an empty map)
        return True

    # --- compiling ------------------------------------------------------------------------

    def compile(self, node: Any) -> Check | None:
        """The check of one type; ``None`` when the hot path needs none."""
        if not self._full and not self.unsafe(node):
            return None
        node = self._resolve(node)
        if isinstance(node, list):
            return self._union(node)
        if isinstance(node, str):
            return self._primitive(node, None, node)
        kind = node["type"]
        if kind in ("record", "error"):
            return self._record_ref(node)
        if kind == "array":
            return self._array(node)
        if kind == "map":
            return self._map(node)
        if kind == "enum":
            return self._enum(node)
        if kind == "fixed":
            return self._fixed(node)
        logical = node.get("logicalType")
        return self._primitive(kind, logical if isinstance(logical, str) else None, node)

    def _record_ref(self, node: Mapping[str, Any]) -> Check:
        name = node["name"]
        if name in self._records:
            built = self._records[name]
            if built is not None:
                return built
            records = self._records

            def recursive(value: Any) -> None:  # the record is still being compiled
                check = records[name]
                assert check is not None
                check(value)

            return recursive
        self._records[name] = None
        check = self._record(node)
        self._records[name] = check
        return check

    def _record(self, node: Mapping[str, Any]) -> Check:
        expected = describe_expected(node, self._named)
        if not self._full:
            # Common values are accepted inline, without a call (see _accept): this check runs
            # before every write (scripts/bench codec, scripts/bench events).
            checks = tuple(
                (field["name"], check, *self._accept(field["type"]))
                for field in node["fields"]
                if (check := self.compile(field["type"])) is not None
            )

            def record(value: Any) -> None:
                if value.__class__ is not dict and not isinstance(value, Mapping):
                    raise InvalidValueError(expected, value)
                for name, check, cls, low, high in checks:
                    item = value.get(name, _MISSING)
                    if (item.__class__ is cls and low <= item <= high) or item is _MISSING:
                        continue
                    try:
                        check(item)
                    except InvalidValueError as exc:
                        raise _step(exc, name) from None

            return record

        fields = [
            (
                field["name"],
                self.compile(field["type"]),
                "default" in field,
                describe_expected(field["type"], self._named),
            )
            for field in node["fields"]
        ]
        names = frozenset(name for name, *_ in fields)
        known = f"no such field (known: {', '.join(sorted(names))})"

        def record_full(value: Any) -> None:
            if not isinstance(value, Mapping):
                raise InvalidValueError(expected, value)
            for key in value:
                if key not in names:
                    raise _step(
                        InvalidValueError(known, value[key], "remove it or fix its name"), str(key)
                    )
            for name, check, has_default, wanted in fields:
                if name in value:
                    try:
                        check(value[name])  # type: ignore[misc]  # full checks are never None
                    except InvalidValueError as exc:
                        raise _step(exc, name) from None
                elif not has_default:
                    raise _step(InvalidValueError(wanted, _MISSING), name)

        return record_full

    def _accept(self, node: Any) -> tuple[type[Any], float, float]:
        """``(class, low, high)``: a value of exactly that class within the range fits as is.

        Exact ints in int/long fields and ``True``/``False`` in booleans are nearly every value
        those fields hold; the record check tests them inline, without calling their check.
        """
        node = self._resolve(node)
        branches = node if isinstance(node, list) else [node]
        resolved = [self._resolve(branch) for branch in branches]
        kinds = {kind if isinstance(kind, str) else kind["type"] for kind in resolved}
        ranges = [
            _range(kind, None)
            if isinstance(kind, str)
            else _range(kind["type"], kind.get("logicalType"))
            for kind in resolved
            if (kind if isinstance(kind, str) else kind["type"]) in ("int", "long")
        ]
        if ranges:
            return int, min(low for low, _ in ranges), max(high for _, high in ranges)
        if "boolean" in kinds:
            return bool, 0, 1
        return _Never, 1, 0

    def _array(self, node: Mapping[str, Any]) -> Check:
        expected = describe_expected(node, self._named)
        items = self.compile(node["items"])

        def array(value: Any) -> None:
            cls = value.__class__
            if cls is not list and cls is not tuple and not checks.is_sequence(value):
                raise InvalidValueError(expected, value, "pass a list")
            if items is not None:
                for index, item in enumerate(value):
                    try:
                        items(item)
                    except InvalidValueError as exc:
                        raise _step(exc, f"[{index}]") from None

        return array

    def _map(self, node: Mapping[str, Any]) -> Check:
        expected = describe_expected(node, self._named)
        values = self.compile(node["values"])
        full = self._full

        def map_(value: Any) -> None:
            if value.__class__ is not dict and not isinstance(value, Mapping):
                raise InvalidValueError(expected, value, "pass a dict")
            if full or values is not None:
                for key, item in value.items():
                    if not isinstance(key, str):
                        raise _step(InvalidValueError("string map key", key), f"[{key!r}]")
                    if values is not None:
                        try:
                            values(item)
                        except InvalidValueError as exc:
                            raise _step(exc, f"[{key!r}]") from None

        return map_

    def _union(self, node: list[Any]) -> Check:
        expected = describe_expected(node, self._named)
        # A branch must hold the whole value, so branches are always checked fully.
        if self._branches is None:
            self._branches = self if self._full else _Compiler(self._schema, full=True)
        full = self._branches
        branches: list[tuple[str, Check]] = []
        for branch in node:
            resolved = self._resolve(branch)
            kind = resolved if isinstance(resolved, str) else resolved["type"]
            label = resolved["name"] if isinstance(resolved, dict) and "name" in resolved else kind
            check = full.compile(branch)
            assert check is not None
            branches.append((label, check))
        checks = tuple(check for _, check in branches)
        by_label = dict(branches)
        # fastavro writes the first branch its own validation accepts, and to it bytes are a
        # sequence of ints: an array branch ahead of bytes/fixed would take them.
        kinds = [
            resolved if isinstance(resolved := self._resolve(branch), str) else resolved["type"]
            for branch in node
        ]
        # The array checks ahead of each branch (fastavro tries branches in order).
        arrays_before = tuple(
            tuple(
                check
                for kind, (_, check) in zip(kinds[:i], branches, strict=False)
                if kind == "array"
            )
            for i in range(len(branches))
        )
        byte_branch = next(
            (
                label
                for kind, (label, _) in zip(kinds, branches, strict=True)
                if kind in ("bytes", "fixed")
            ),
            "bytes",
        )
        nullable = "null" in by_label
        others = [check for label, check in branches if label != "null"]
        only = others[0] if len(others) == 1 else None

        def union(value: Any) -> None:
            if value is None and nullable:
                return
            if value.__class__ is tuple:
                # fastavro reads a tuple in a union as (branch name, value).
                if len(value) == 2 and value[0] in by_label:
                    by_label[value[0]](value[1])
                    return
                raise InvalidValueError(
                    expected, value, "a tuple in a union is read as (branch, value)"
                )
            for index, check in enumerate(checks):
                try:
                    check(value)
                except InvalidValueError:
                    continue
                if arrays_before[index] and isinstance(value, bytes | bytearray):
                    _refuse_bytes_as_array(expected, value, arrays_before[index], byte_branch)
                return
            if only is not None:
                # One branch can hold a value other than null: say what is wrong inside it.
                try:
                    only(value)
                except InvalidValueError as exc:
                    if exc.path:
                        raise
                    raise InvalidValueError(expected, value, exc.hint) from None
            raise InvalidValueError(expected, value)

        return union

    def _enum(self, node: Mapping[str, Any]) -> Check:
        expected = describe_expected(node, self._named)
        symbols = frozenset(node["symbols"])

        def enum(value: Any) -> None:
            if not isinstance(value, str) or value not in symbols:
                raise InvalidValueError(expected, value)

        return enum

    def _fixed(self, node: Mapping[str, Any]) -> Check:
        expected = describe_expected(node, self._named)
        size = node["size"]
        is_decimal = node.get("logicalType") == "decimal"

        def fixed(value: Any) -> None:
            if is_decimal and isinstance(value, decimal.Decimal):
                checks.check_decimal(value, node, expected)
            elif not isinstance(value, bytes | bytearray) or len(value) != size:
                raise InvalidValueError(expected, value, f"pass exactly {size} bytes")
            elif is_decimal:
                checks.check_unscaled(value, node, expected)

        return fixed

    def _primitive(self, kind: str, logical: str | None, node: Any) -> Check:
        expected = describe_expected(node, self._named)
        if kind == "null":
            return checks.null(expected)
        if kind == "boolean":
            return checks.boolean(expected)
        if kind in ("int", "long"):
            low, high = _range(kind, logical)
            if kind == "long" and logical in _TIMESTAMPS:
                return checks.timestamp(expected, low, high, aware=True)
            if kind == "long" and logical in _LOCAL_TIMESTAMPS:
                return checks.timestamp(expected, low, high, aware=False)
            if (kind, logical) == ("int", "date"):
                return checks.temporal(expected, low, high, datetime.date, "pass a datetime.date")
            if (kind, logical) in (("int", "time-millis"), ("long", "time-micros")):
                return checks.temporal(expected, low, high, datetime.time, "pass a datetime.time")
            return checks.integer(expected, low, high)
        if kind in ("float", "double"):
            return checks.floating(expected, single=kind == "float")
        if kind == "string":
            return checks.string(expected, uuid_ok=logical == "uuid")
        return checks.bytes_(expected, node if logical == "decimal" else None)


def _refuse_bytes_as_array(
    expected: str, value: bytes | bytearray, arrays: tuple[Check, ...], byte_branch: str
) -> None:
    """Refuse bytes that fastavro would write as an array branch (read back as a list)."""
    for array in arrays:
        try:
            array(list(value))
        except InvalidValueError:
            continue
        raise InvalidValueError(
            expected,
            value,
            "fastavro would write these bytes as the union's array branch (a list of ints), so "
            f"they would not read back; pass ({byte_branch!r}, value)",
        )
