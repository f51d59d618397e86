"""Hostile or broken schema text gives InvalidSchemaError, never another exception (item 9)."""

from __future__ import annotations

import json
from typing import Any

import fastavro
import pytest

from streams.avro import MAX_DEPTH, MAX_JSON_DEPTH, MAX_NAME_LENGTH, parse_schema
from streams.errors import InvalidSchemaError


def _nested_records(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "record", "name": f"R{depth}", "fields": []}
    for level in range(depth - 1, 0, -1):
        schema = {"type": "record", "name": f"R{level}", "fields": [{"name": "f", "type": schema}]}
    return schema


def _nested_arrays(depth: int) -> str:
    return '{"type": "array", "items": ' * (depth - 1) + '"int"' + "}" * (depth - 1)


def test_types_may_nest_up_to_the_limit() -> None:
    parsed = parse_schema(json.dumps(_nested_records(MAX_DEPTH)))
    fastavro.parse_schema(json.loads(parsed.canonical))
    parse_schema(_nested_arrays(MAX_DEPTH))


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(_nested_records(MAX_DEPTH + 1)),
        _nested_arrays(MAX_DEPTH + 1),
        '{"type": "map", "values": ["null", ' * MAX_DEPTH + '"int"' + "]}" * MAX_DEPTH,
    ],
    ids=["records", "arrays", "maps-of-unions"],
)
def test_deeper_types_are_refused(text: str) -> None:
    with pytest.raises(InvalidSchemaError, match=f"more than {MAX_DEPTH} levels"):
        parse_schema(text)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deep_json_is_refused_without_recursion_error(depth: int) -> None:
    default = "[" * depth + "]" * depth
    text = '{"type": "record", "name": "R", "fields": [{"name": "f", "type": "int", "x": '
    with pytest.raises(InvalidSchemaError, match=f"more than {MAX_JSON_DEPTH} levels"):
        parse_schema(text + default + "}]}")
    with pytest.raises(InvalidSchemaError, match="levels"):
        parse_schema("[" * depth + "]" * depth)


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "record", "name": "R", "doc": "\\ud800", "fields": []}',
        '{"type": "record", "name": "R", "fields": [], "\\udfff": 1}',
        '{"type": "record", "name": "R", "fields": [{"name": "f", "type": "string", '
        '"default": "\\ud800x"}]}',
        '"\ud800"',
    ],
    ids=["doc", "key", "default", "raw"],
)
def test_lone_surrogates_are_refused(text: str) -> None:
    with pytest.raises(InvalidSchemaError, match="lone surrogate"):
        parse_schema(text)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1E999"])
def test_infinite_numbers_are_refused(number: str) -> None:
    text = '{"type": "record", "name": "R", "fields": [{"name": "f", "type": "double", "default": '
    with pytest.raises(InvalidSchemaError, match="out of range"):
        parse_schema(text + number + "}]}")
    with pytest.raises(InvalidSchemaError, match="out of range"):
        parse_schema('{"type": "string", "x": ' + number + "}")


def test_huge_integers_are_refused() -> None:
    text = '{"type": "record", "name": "R", "fields": [{"name": "f", "type": "long", "default": '
    with pytest.raises(InvalidSchemaError):
        parse_schema(text + "9" * 5000 + "}]}")
    with pytest.raises(InvalidSchemaError, match="out of range for long"):
        parse_schema(text + "9" * 30 + "}]}")


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "record", "name": "R" * (MAX_NAME_LENGTH + 1), "fields": []},
        {"type": "record", "name": "R", "namespace": "n" * (MAX_NAME_LENGTH + 1), "fields": []},
        {"type": "record", "name": "R", "fields": [{"name": "f" * 100_000, "type": "int"}]},
        {"type": "enum", "name": "E", "symbols": ["S" * (MAX_NAME_LENGTH + 1)]},
    ],
    ids=["record", "namespace", "field", "symbol"],
)
def test_huge_names_are_refused(schema: dict[str, Any]) -> None:
    with pytest.raises(InvalidSchemaError, match="too long") as caught:
        parse_schema(json.dumps(schema))
    assert len(str(caught.value)) < 500  # the name is not echoed back


def test_a_huge_fixed_size_is_refused() -> None:
    with pytest.raises(InvalidSchemaError, match="below 2"):
        parse_schema(json.dumps({"type": "fixed", "name": "F", "size": 2**40}))


def _decimal_field(kind: dict[str, Any]) -> str:
    return json.dumps({"type": "record", "name": "R", "fields": [{"name": "price", "type": kind}]})


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        ({"type": "bytes", "logicalType": "decimal", "precision": 2, "scale": 3}, "from 0 to"),
        ({"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": -1}, "from 0 to"),
        ({"type": "bytes", "logicalType": "decimal", "precision": 0}, "positive integer"),
        ({"type": "bytes", "logicalType": "decimal", "precision": 2.5}, "positive integer"),
        ({"type": "bytes", "logicalType": "decimal"}, "positive integer"),
        (
            {"type": "fixed", "name": "D", "size": 1, "logicalType": "decimal", "precision": 3},
            "at most 2 digits",
        ),
    ],
)
def test_decimals_fastavro_cannot_load_are_refused(kind: dict[str, Any], match: str) -> None:
    # Avro Java ignores such a decimal (plain bytes); fastavro refuses the schema, so every
    # producer and consumer would fail on it: the registry refuses it, naming the field.
    with pytest.raises(InvalidSchemaError, match=match) as caught:
        parse_schema(_decimal_field(kind))
    assert "field 'price' of record 'R'" in str(caught.value)


def test_valid_decimals_load_in_fastavro() -> None:
    for kind in (
        {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 4},
        {"type": "fixed", "name": "D", "size": 1, "logicalType": "decimal", "precision": 2},
        {"type": "string", "logicalType": "decimal"},  # not on bytes/fixed: ignored, as in Java
    ):
        parsed = parse_schema(_decimal_field(kind))
        fastavro.parse_schema(json.loads(parsed.canonical))


def test_a_null_namespace_type_referred_to_from_a_namespace_is_refused() -> None:
    # Found by the property test: Avro Java resolves "F" to the null-namespace type, fastavro
    # cannot, so no Python producer or consumer could use the schema.
    schema = {
        "type": "record",
        "name": "R",
        "namespace": "ns",
        "fields": [
            {
                "name": "inner",
                "type": {
                    "type": "record",
                    "name": "Inner",
                    "namespace": "",
                    "fields": [{"name": "f", "type": {"type": "fixed", "name": "F", "size": 1}}],
                },
            },
            {"name": "g", "type": "F"},
        ],
    }
    with pytest.raises(InvalidSchemaError, match="null namespace") as caught:
        parse_schema(json.dumps(schema))
    assert "/fields/1/type" in str(caught.value)
    with pytest.raises(Exception, match="F"):
        fastavro.parse_schema(schema)
