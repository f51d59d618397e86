"""Hypothesis strategies: Avro schemas (as JSON) and valid Python values of a parsed schema."""

from __future__ import annotations

import datetime
import decimal
import itertools
from typing import Any

from hypothesis import strategies as st

from streams.avro import ParsedSchema

PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]
NAMES = st.sampled_from(["a", "b", "c", "d", "e", "user_id", "_x", "N1"])
_UTC = datetime.UTC
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=_UTC)


class _Names:
    """Unique type names per schema, and the named types defined so far (for references)."""

    def __init__(self) -> None:
        self.counter = itertools.count()
        self.defined: list[str] = []

    def fresh(self, kind: str) -> str:
        return f"{kind.capitalize()}{next(self.counter)}"


def _logical(draw: st.DrawFn) -> Any:
    choice = draw(st.integers(0, 6))
    if choice == 0:
        return {"type": "long", "logicalType": "timestamp-millis"}
    if choice == 1:
        return {"type": "long", "logicalType": "timestamp-micros"}
    if choice == 2:
        return {"type": "int", "logicalType": "date"}
    if choice == 3:
        return {"type": "string", "logicalType": "uuid"}
    if choice == 4:
        return {"type": "string", "logicalType": "timestamp-millis"}  # ignored: wrong base
    # decimals, valid or not: the parser must refuse what fastavro cannot load
    precision = draw(st.one_of(st.integers(-1, 12), st.just(None)))
    scale = draw(st.integers(-1, 14))
    node: dict[str, Any] = {"type": "bytes", "logicalType": "decimal", "scale": scale}
    if precision is not None:
        node["precision"] = precision
    return node


def _full(name: str, space: str) -> str:
    return f"{space}.{name}" if space else name


@st.composite
def schemas(draw: st.DrawFn, depth: int = 0, names: _Names | None = None, space: str = "") -> Any:
    """An Avro schema as JSON data; mostly valid, sometimes not (defaults, decimals)."""
    names = names or _Names()
    if depth == 0:
        return _record(draw, depth, names, space)
    options = ["primitive", "logical", "enum", "fixed"]
    if depth < 3:
        options += ["array", "map", "union", "record"]
    if names.defined:
        options.append("reference")
    kind = draw(st.sampled_from(options))
    if kind == "primitive":
        return draw(st.sampled_from(PRIMITIVES))
    if kind == "logical":
        return _logical(draw)
    if kind == "reference":
        return draw(st.sampled_from(names.defined))
    if kind == "enum":
        symbols = draw(st.lists(st.sampled_from(["A", "B", "C", "D"]), min_size=1, unique=True))
        node = {"type": "enum", "name": names.fresh("enum"), "symbols": symbols}
        if draw(st.booleans()):
            node["default"] = draw(st.sampled_from([*symbols, "Z"]))
        names.defined.append(_full(node["name"], space))
        return node
    if kind == "fixed":
        node = {"type": "fixed", "name": names.fresh("fixed"), "size": draw(st.integers(0, 9))}
        if draw(st.integers(0, 3)) == 0:
            node["logicalType"] = "decimal"
            node["precision"] = draw(st.integers(1, 22))
            node["scale"] = draw(st.integers(0, 3))
        names.defined.append(_full(node["name"], space))
        return node
    if kind == "array":
        return {"type": "array", "items": draw(schemas(depth + 1, names, space))}
    if kind == "map":
        return {"type": "map", "values": draw(schemas(depth + 1, names, space))}
    if kind == "union":
        branches = draw(st.lists(schemas(depth + 1, names, space), min_size=1, max_size=3))
        return [branch for branch in branches if not isinstance(branch, list)] or ["null"]
    return _record(draw, depth, names, space)


def _record(draw: st.DrawFn, depth: int, names: _Names, space: str) -> dict[str, Any]:
    name = names.fresh("record")
    node: dict[str, Any] = {"type": "record", "name": name, "fields": []}
    if draw(st.booleans()):
        node["namespace"] = space = draw(st.sampled_from(["ns", "com.example", ""]))
    field_names = draw(st.lists(NAMES, max_size=4, unique=True))
    for field_name in field_names:
        field: dict[str, Any] = {
            "name": field_name,
            "type": draw(schemas(depth + 1, names, space)),
        }
        if draw(st.integers(0, 3)) == 0:
            field["default"] = draw(_json_values())
        if draw(st.integers(0, 4)) == 0:
            field["pii"] = True
        node["fields"].append(field)
    # Defined after its fields: a reference drawn inside them would be to a later type.
    names.defined.append(_full(name, space))
    return node


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=False, allow_infinity=False, width=32),
        st.sampled_from(["", "A", "ab", "\u00ff", "NaN"]),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=2) | st.dictionaries(NAMES, inner, max_size=2),
        max_leaves=4,
    )


# --- values of a parsed schema -------------------------------------------------------------


def values(schema: ParsedSchema) -> st.SearchStrategy[Any]:
    """Valid Python values of ``schema``, as fastavro decodes them (so they compare equal)."""
    return _values(schema.definition, schema, 0)


def _values(node: Any, schema: ParsedSchema, depth: int) -> st.SearchStrategy[Any]:
    if isinstance(node, str) and node not in PRIMITIVES:
        node = schema.named[node]
    if isinstance(node, list):
        if not node:
            return st.nothing()
        return st.one_of([_values(branch, schema, depth) for branch in _distinct(node, schema)])
    kind = node if isinstance(node, str) else node["type"]
    logical = None if isinstance(node, str) else node.get("logicalType")
    if kind in ("record", "error"):
        if depth > 4:
            return st.nothing()  # recursive records: stop at some depth
        return st.fixed_dictionaries(
            {field["name"]: _values(field["type"], schema, depth + 1) for field in node["fields"]}
        )
    if kind == "array":
        return st.lists(_values(node["items"], schema, depth + 1), max_size=3)
    if kind == "map":
        return st.dictionaries(
            st.text(max_size=3), _values(node["values"], schema, depth + 1), max_size=2
        )
    if kind == "enum":
        return st.sampled_from(node["symbols"])
    if kind == "fixed":
        if logical == "decimal":
            return _decimals(node["precision"], node.get("scale", 0))
        return st.binary(min_size=node["size"], max_size=node["size"])
    return _primitive(kind, logical, node)


def _distinct(branches: list[Any], schema: ParsedSchema) -> list[Any]:
    """Branches whose values fastavro cannot mistake for an earlier branch's."""
    kinds: list[str] = []
    chosen = []
    for branch in branches:
        resolved = schema.named.get(branch, branch) if isinstance(branch, str) else branch
        kind = resolved if isinstance(resolved, str) else resolved["type"]
        family = {
            "int": "number",
            "long": "number",
            "float": "number",
            "double": "number",
            "bytes": "bytes",
            "fixed": "bytes",
            "string": "text",
            "enum": "text",
            "record": "mapping",
            "map": "mapping",
            "error": "mapping",
        }.get(kind, kind)
        # To fastavro bytes are a sequence of ints: an earlier array branch takes them (the
        # validator refuses such values, see test_bytes_an_earlier_array_branch_would_take).
        if family not in kinds and not (family == "bytes" and "array" in kinds):
            kinds.append(family)
            chosen.append(branch)
    return chosen


def _decimals(precision: int, scale: int) -> st.SearchStrategy[Any]:
    return st.decimals(
        min_value=-(10 ** (precision - scale)) + 1,
        max_value=10 ** (precision - scale) - 1,
        places=scale,
        allow_nan=False,
        allow_infinity=False,
    ).map(lambda value: value.quantize(decimal.Decimal(1).scaleb(-scale)))


def _primitive(kind: str, logical: str | None, node: Any) -> st.SearchStrategy[Any]:
    if (kind, logical) == ("long", "timestamp-millis"):
        return _instants(1000)
    if (kind, logical) == ("long", "timestamp-micros"):
        return _instants(1)
    if (kind, logical) == ("int", "date"):
        return st.dates(datetime.date(1900, 1, 1), datetime.date(2200, 1, 1))
    if (kind, logical) == ("string", "uuid"):
        return st.uuids()
    if (kind, logical) == ("bytes", "decimal"):
        return _decimals(node["precision"], node.get("scale", 0))
    return {
        "null": st.none(),
        "boolean": st.booleans(),
        "int": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1),
        "float": st.floats(allow_nan=False, width=32),
        "double": st.floats(allow_nan=False),
        "bytes": st.binary(max_size=4),
        "string": st.text(max_size=4),
    }[kind]


def _instants(micros_step: int) -> st.SearchStrategy[datetime.datetime]:
    return st.integers(-(2**40), 2**40).map(
        lambda n: _EPOCH + datetime.timedelta(microseconds=n * micros_step)
    )


# --- reader/writer pairs for the compatibility oracle --------------------------------------

_SIMPLE = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]


@st.composite
def field_types(draw: st.DrawFn, depth: int = 0) -> Any:
    """A small field type; named types are all called ``E``/``F``/``Inner`` so pairs can match."""
    choice = draw(st.integers(0, 7 if depth < 2 else 3))
    if choice <= 1:
        return draw(st.sampled_from(_SIMPLE))
    if choice == 2:
        symbols = draw(st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, unique=True))
        node: dict[str, Any] = {"type": "enum", "name": "E", "symbols": symbols}
        if draw(st.booleans()):
            node["default"] = symbols[0]
        return node
    if choice == 3:
        return {
            "type": "fixed",
            "name": draw(st.sampled_from(["F", "G"])),
            "size": draw(st.integers(1, 3)),
        }
    if choice == 4:
        return {"type": "array", "items": draw(field_types(depth + 1))}
    if choice == 5:
        return {"type": "map", "values": draw(field_types(depth + 1))}
    if choice == 6:
        return draw(st.lists(st.sampled_from(_SIMPLE), min_size=1, max_size=3, unique=True))
    fields = draw(st.lists(st.sampled_from(["x", "y"]), unique=True))
    return {
        "type": "record",
        "name": "Inner",
        "fields": [{"name": name, "type": draw(field_types(depth + 1))} for name in fields],
    }


def _default_for(kind: Any) -> Any:
    """A valid default of a field type made by :func:`field_types`."""
    if isinstance(kind, list):
        return _default_for(kind[0])
    if isinstance(kind, str):
        return {
            "null": None,
            "boolean": False,
            "int": 0,
            "long": 0,
            "float": 0.5,
            "double": 0.5,
            "bytes": "",
            "string": "",
        }[kind]
    if kind["type"] == "enum":
        return kind["symbols"][0]
    if kind["type"] == "fixed":
        return "a" * kind["size"]
    if kind["type"] == "array":
        return []
    if kind["type"] == "map":
        return {}
    return {field["name"]: _default_for(field["type"]) for field in kind["fields"]}


@st.composite
def record_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """(reader, writer): two versions of one record, often close (fields kept, added, dropped)."""
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, unique=True))
    writer_fields = []
    reader_fields = []
    for name in names:
        kind = draw(field_types())
        presence = draw(st.sampled_from(["both", "both", "both", "writer", "reader"]))
        other = kind if draw(st.booleans()) else draw(field_types())
        for fields, own in ((writer_fields, kind), (reader_fields, other)):
            if presence == "both" or (presence == "writer") == (fields is writer_fields):
                field: dict[str, Any] = {"name": name, "type": own}
                if draw(st.integers(0, 2)) == 0:
                    field["default"] = _default_for(own)
                fields.append(field)
    writer = {"type": "record", "name": "R", "fields": writer_fields}
    reader: dict[str, Any] = {"type": "record", "name": "R", "fields": reader_fields}
    if draw(st.integers(0, 4)) == 0:  # renamed, perhaps keeping the old name as an alias
        reader["name"] = draw(st.sampled_from(["S", "ns.R"]))
        if draw(st.booleans()):
            reader["aliases"] = ["R"]
    for field in reader_fields:
        if draw(st.integers(0, 5)) == 0:  # a field renamed, perhaps with its old name as alias
            old = field["name"]
            field["name"] = f"{old}2"
            if draw(st.booleans()):
                field["aliases"] = [old]
    return reader, writer
