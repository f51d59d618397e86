"""Parsing, validation and canonical form of Avro schemas."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import fastavro
import pytest

from streams.avro import fingerprint, parse_schema
from streams.errors import InvalidSchemaError


def canonical(schema: Any) -> str:
    return parse_schema(schema if isinstance(schema, str) else json.dumps(schema)).canonical


# --- canonical form --------------------------------------------------------------------------


def test_canonical_is_compact_and_in_avro_key_order() -> None:
    text = """
    {
      "fields": [ {"default": 0, "type": "int", "doc": "d", "name": "a", "order": "descending"} ],
      "doc": "A record",
      "namespace": "com.acme",
      "name": "R",
      "type": "record"
    }
    """
    assert canonical(text) == (
        '{"type":"record","name":"R","namespace":"com.acme","doc":"A record","fields":'
        '[{"name":"a","type":"int","doc":"d","default":0,"order":"descending"}]}'
    )


def test_spellings_of_the_same_schema_share_one_canonical_text() -> None:
    spellings = [
        '{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}',
        '{ "name" : "R", "fields" : [ { "type" : {"type": "string"}, "name" : "a" } ], '
        '"type" : "record" }',
        '{\n  "type": "record",\n  "name": "R",\n  "fields": [{"name": "a", "type": "string", '
        '"order": "ascending"}]\n}',
    ]
    texts = {canonical(text) for text in spellings}
    assert texts == {'{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}'}
    assert len({fingerprint(text) for text in texts}) == 1


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string"}, '"string"'),
        ({"type": "string", "doc": "dropped: doc means nothing on a primitive"}, '"string"'),
        ({"type": "array", "items": {"type": "long"}}, '{"type":"array","items":"long"}'),
        ({"values": "int", "type": "map"}, '{"type":"map","values":"int"}'),
        (["null", {"type": "string"}], '["null","string"]'),
        (
            {"type": "int", "logicalType": "date"},
            '{"type":"int","logicalType":"date"}',
        ),
        (
            # An invalid logical type is kept, as Avro keeps it (and ignores it).
            {"type": "string", "logicalType": "decimal", "precision": "x"},
            '{"type":"string","logicalType":"decimal","precision":"x"}',
        ),
        (
            {"size": 16, "name": "md5", "type": "fixed", "namespace": "h"},
            '{"type":"fixed","name":"md5","namespace":"h","size":16}',
        ),
        (
            {"default": "A", "symbols": ["A", "B"], "name": "E", "type": "enum", "doc": "e"},
            '{"type":"enum","name":"E","doc":"e","symbols":["A","B"],"default":"A"}',
        ),
    ],
)
def test_canonical_forms(schema: Any, expected: str) -> None:
    assert canonical(schema) == expected


def test_custom_properties_docs_and_aliases_are_kept() -> None:
    schema = {
        "type": "record",
        "name": "User",
        "namespace": "acme",
        "doc": "A user",
        "owner": "team-a",
        "aliases": ["Person", "legacy.Person"],
        "fields": [
            {"name": "email", "type": "string", "pii": True, "doc": "Contact", "aliases": ["mail"]}
        ],
    }
    assert canonical(schema) == (
        '{"type":"record","name":"User","namespace":"acme","doc":"A user","fields":'
        '[{"name":"email","type":"string","doc":"Contact","aliases":["mail"],"pii":true}],'
        '"owner":"team-a","aliases":["Person","legacy.Person"]}'
    )


def test_non_ascii_is_kept_as_is() -> None:
    text = canonical({"type": "enum", "name": "E", "doc": "Größe / 大小", "symbols": ["A"]})
    assert "Größe / 大小" in text


def test_names_are_written_relative_to_the_enclosing_namespace() -> None:
    schema = {
        "type": "record",
        "name": "a.R",
        "fields": [
            {"name": "x", "type": {"type": "fixed", "name": "F", "size": 1}},
            {"name": "y", "type": "a.F"},
            {"name": "z", "type": {"type": "enum", "name": "b.E", "symbols": ["S"]}},
            {"name": "w", "type": "b.E"},
            {"name": "n", "type": {"type": "record", "name": "N", "namespace": "", "fields": []}},
        ],
    }
    parsed = parse_schema(json.dumps(schema))
    assert set(parsed.named) == {"a.R", "a.F", "b.E", "N"}
    assert parsed.canonical == (
        '{"type":"record","name":"R","namespace":"a","fields":['
        '{"name":"x","type":{"type":"fixed","name":"F","size":1}},'
        '{"name":"y","type":"F"},'
        '{"name":"z","type":{"type":"enum","name":"E","namespace":"b","symbols":["S"]}},'
        '{"name":"w","type":"b.E"},'
        '{"name":"n","type":{"type":"record","name":"N","namespace":"","fields":[]}}]}'
    )
    assert parse_schema(parsed.canonical).canonical == parsed.canonical


COMPLEX = {
    "type": "record",
    "name": "Order",
    "namespace": "com.acme.sales",
    "doc": "An order",
    "pii": True,
    "fields": [
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "note", "type": "string", "doc": "Freitext", "default": "ß"},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
        },
        {
            "name": "status",
            "type": {
                "type": "enum",
                "name": "Status",
                "symbols": ["NEW", "DONE"],
                "default": "NEW",
            },
            "default": "NEW",
        },
        {"name": "hash", "type": {"type": "fixed", "name": "Hash", "namespace": "h", "size": 2}},
        {"name": "hash2", "type": "h.Hash", "default": "\u00ff\u0000"},
        {"name": "tags", "type": {"type": "array", "items": "string"}, "default": ["a"]},
        {"name": "attrs", "type": {"type": "map", "values": ["null", "long"]}, "default": {}},
        {
            "name": "lines",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Line",
                    "fields": [
                        {"name": "qty", "type": "int", "default": 1},
                        {"name": "price", "type": "double", "default": 0},
                    ],
                },
            },
            "default": [{"qty": 2}],
        },
        {"name": "previous", "type": ["null", "Order"], "default": None},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}


def test_fastavro_accepts_the_canonical_text_of_a_complex_schema() -> None:
    parsed = parse_schema(json.dumps(COMPLEX, indent=2))
    fastavro.parse_schema(json.loads(parsed.canonical))
    assert parse_schema(parsed.canonical).canonical == parsed.canonical
    assert set(parsed.named) == {
        "com.acme.sales.Order",
        "com.acme.sales.Status",
        "h.Hash",
        "com.acme.sales.Line",
    }


def test_fingerprint_is_sha256_hex_of_the_canonical_text() -> None:
    assert fingerprint('"string"') == hashlib.sha256(b'"string"').hexdigest()
    assert fingerprint('"int"') != fingerprint('"string"')


# --- references -----------------------------------------------------------------------------

SUBRECORD = json.dumps(
    {
        "type": "record",
        "name": "Subrecord",
        "namespace": "otherns",
        "fields": [{"name": "x", "type": "int"}],
    }
)
USES_SUBRECORD = json.dumps(
    {
        "type": "record",
        "name": "Main",
        "namespace": "ns",
        "fields": [{"name": "sub", "type": "otherns.Subrecord"}],
    }
)


def test_references_supply_named_types_without_being_inlined() -> None:
    parsed = parse_schema(USES_SUBRECORD, [SUBRECORD])
    assert parsed.canonical == (
        '{"type":"record","name":"Main","namespace":"ns","fields":'
        '[{"name":"sub","type":"otherns.Subrecord"}]}'
    )
    assert parsed.named["otherns.Subrecord"]["fields"] == [{"name": "x", "type": "int"}]


def test_a_missing_reference_is_an_unknown_type() -> None:
    with pytest.raises(InvalidSchemaError, match=r"/fields/0/type.*'sub'.*otherns\.Subrecord"):
        parse_schema(USES_SUBRECORD)


def test_an_invalid_reference_is_named() -> None:
    with pytest.raises(InvalidSchemaError, match="reference 1 of 1"):
        parse_schema(USES_SUBRECORD, ['{"type": "record"}'])


def test_redefining_a_referenced_type_is_refused() -> None:
    with pytest.raises(InvalidSchemaError, match="defined twice"):
        parse_schema(SUBRECORD, [SUBRECORD])


# --- invalid schemas ------------------------------------------------------------------------


def rec(*fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": "R", "fields": list(fields), **extra}


INVALID: list[tuple[str, Any, str]] = [
    ("empty", "", "empty"),
    ("blank", "  \n", "empty"),
    ("not-json", "{type: record}", "not valid JSON"),
    ("bare-word", "string", "not valid JSON"),
    (
        "nan-literal",
        '{"type":"record","name":"R","fields":[{"name":"a","type":"double","default":NaN}]}',
        "not valid JSON",
    ),
    ("number", "42", "not a schema"),
    ("unknown-primitive", '"str"', "unknown type 'str'"),
    (
        "unknown-field-type",
        rec({"name": "a", "type": "int"}, {"name": "b", "type": "str"}),
        r"/fields/1/type \(field 'b' of record 'R'\): unknown type 'str'",
    ),
    ("forward-reference", rec({"name": "a", "type": "Later"}), "unknown type 'Later'"),
    ("no-type", {"name": "R", "fields": []}, 'no "type"'),
    ("type-not-text", {"type": {"type": "string"}}, r"/type: \"type\" must be a type name"),
    ("complex-type-by-name", rec({"name": "a", "type": "record"}), "needs its attributes"),
    ("bad-namespace", rec(namespace="foo-bar-baz"), r"/namespace.*invalid namespace 'foo-bar-baz'"),
    ("bad-name", {"type": "record", "name": "1R", "fields": []}, r"/name.*invalid name '1R'"),
    ("bad-dotted-name", {"type": "record", "name": "a..R", "fields": []}, "invalid name 'a..R'"),
    ("no-name", {"type": "enum", "symbols": ["A"]}, 'needs a "name"'),
    ("primitive-name", {"type": "fixed", "name": "int", "size": 1}, "named like the primitive"),
    ("bad-field-name", rec({"name": "a-b", "type": "int"}), r"/fields/0/name.*invalid name 'a-b'"),
    (
        "duplicate-field",
        rec({"name": "a", "type": "int"}, {"name": "a", "type": "long"}),
        r"/fields/1/name.*two fields named 'a'",
    ),
    (
        "duplicate-type",
        rec(
            {"name": "a", "type": {"type": "fixed", "name": "F", "size": 1}},
            {"name": "b", "type": {"type": "fixed", "name": "F", "size": 2}},
        ),
        r"/fields/1/type/name.*'F' is defined twice",
    ),
    ("no-fields", {"type": "record", "name": "R"}, r'record \'R\' needs a "fields" list'),
    ("field-no-type", rec({"name": "a"}), "field 'a' of record 'R' has no \"type\""),
    ("field-not-object", rec("a"), "a field must be an object"),  # type: ignore[arg-type]
    ("bad-order", rec({"name": "a", "type": "int", "order": "up"}), "order must be one of"),
    ("no-items", {"type": "array"}, 'needs "items"'),
    ("no-values", {"type": "map"}, 'needs "values"'),
    ("no-symbols", {"type": "enum", "name": "E"}, 'needs a "symbols" list'),
    ("bad-symbol", {"type": "enum", "name": "E", "symbols": ["A", "b-c"]}, r"/symbols/1.*'b-c'"),
    ("duplicate-symbol", {"type": "enum", "name": "E", "symbols": ["A", "A"]}, "listed twice"),
    (
        "enum-default-not-a-symbol",
        {"type": "enum", "name": "E", "symbols": ["A"], "default": "B"},
        r"/default.*\"B\" is not one of the symbols",
    ),
    ("fixed-no-size", {"type": "fixed", "name": "F"}, 'needs a "size"'),
    ("fixed-bad-size", {"type": "fixed", "name": "F", "size": "16"}, 'needs a "size"'),
    ("fixed-negative-size", {"type": "fixed", "name": "F", "size": -1}, 'needs a "size"'),
    ("nested-union", ["null", ["int", "long"]], r"/1: a union cannot contain a union"),
    ("duplicate-branch", ["null", "int", {"type": "int"}], r"/2: the union has 'int' twice"),
    ("doc-not-text", rec(doc=1), '"doc" must be a string'),
    ("bad-alias", rec(aliases=["ok", "not ok"]), r"/aliases/1.*invalid name"),
    (
        "decimal-precision-beyond-a-java-int",
        {"type": "bytes", "logicalType": "decimal", "precision": 99999999999999999999999},
        r"/precision: .*at most 2147483647.*not 99999999999999999999999",
    ),
    (
        "decimal-scale-beyond-a-java-int",
        {"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2**40},
        r"/scale: .*from 0 to its precision \(5\)",
    ),
]


def field_default(schema: Any, default: Any) -> dict[str, Any]:
    return rec({"name": "f", "type": schema, "default": default})


SUB = {"type": "record", "name": "S", "fields": [{"name": "x", "type": "int"}]}

INVALID_DEFAULTS: list[tuple[str, Any, Any, str]] = [
    ("null-for-string", "string", None, "null is not a valid 'string'"),
    ("text-for-int", "int", "1", r'"1" is not a valid \'int\''),
    ("float-for-int", "int", 1.5, "not a valid 'int'"),
    ("bool-for-int", "int", True, "not a valid 'int'"),
    ("int-too-big", "int", 2**31, "out of range for int"),
    ("long-too-small", "long", -(2**63) - 1, "out of range for long"),
    ("text-for-double", "double", "1.0", "not a valid 'double'"),
    ("int-for-boolean", "boolean", 0, "not a valid 'boolean'"),
    ("zero-for-null", "null", 0, "not a valid 'null'"),
    ("wide-char-bytes", "bytes", "\u0100", "code points 0-255"),
    ("union-second-branch", ["null", "string"], "x", "must match its first branch"),
    ("union-first-branch-string", ["string", "null"], None, "must match its first branch"),
    ("empty-union", [], None, "empty union"),
    ("float-list", "float", [], "not a valid 'float'"),  # was a TypeError (a 500)
    ("float-beyond-32-bits", "float", 1e39, r"1e\+39 is out of range for a 32-bit float"),
    ("int-beyond-32-bit-float", "float", 2**128, "out of range for a 32-bit float"),
    ("int-beyond-a-double", "double", 10**400, "out of range for a double"),
    ("uuid-not-a-uuid", {"type": "string", "logicalType": "uuid"}, "x", "not a UUID"),
    ("double-object", "double", {}, "not a valid 'double'"),
    ("enum-unknown-symbol", {"type": "enum", "name": "E", "symbols": ["A"]}, "B", "not a symbol"),
    ("fixed-wrong-length", {"type": "fixed", "name": "F", "size": 2}, "a", r"fixed\(2\)"),
    ("array-not-list", {"type": "array", "items": "int"}, 1, "not an array"),
    ("array-bad-item", {"type": "array", "items": "int"}, [1, "x"], "array item 1"),
    ("map-not-object", {"type": "map", "values": "int"}, [], "not a map"),
    ("map-bad-value", {"type": "map", "values": "int"}, {"k": None}, "map value 'k'"),
    ("record-not-object", SUB, 1, "not a record"),
    ("record-missing-field", SUB, {}, "lacks field 'x'"),
    ("record-bad-field", SUB, {"x": "1"}, "record field 'x'"),
]

VALID_DEFAULTS: list[tuple[str, Any, Any]] = [
    ("int-for-double", "double", 1),
    ("int-for-float", "float", -3),
    ("float-max-as-java-prints-it", "float", 3.4028235e38),
    ("float-max-negative", "float", -3.4028235e38),
    ("double-large", "double", 1e308),
    ("nan-for-double", "double", "NaN"),
    ("int-min", "int", -(2**31)),
    ("long-max", "long", 2**63 - 1),
    ("null-union", ["null", "string"], None),
    ("string-union", ["string", "null"], "x"),
    ("bytes", "bytes", "\u00ff\u0000"),
    ("fixed", {"type": "fixed", "name": "F", "size": 2}, "ab"),
    ("enum", {"type": "enum", "name": "E", "symbols": ["A"]}, "A"),
    ("nested", {"type": "map", "values": {"type": "array", "items": "long"}}, {"k": [1, 2]}),
    ("record", SUB, {"x": 1, "ignored": True}),
    ("logical", {"type": "int", "logicalType": "date"}, 0),
    ("uuid", {"type": "string", "logicalType": "uuid"}, "123e4567-e89b-12d3-a456-426614174000"),
]


@pytest.mark.parametrize(("case", "schema", "match"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_schema_is_refused_with_a_clear_message(case: str, schema: Any, match: str) -> None:
    text = schema if isinstance(schema, str) else json.dumps(schema)
    with pytest.raises(InvalidSchemaError, match=match):
        parse_schema(text)


@pytest.mark.parametrize(
    ("case", "schema", "default", "match"), INVALID_DEFAULTS, ids=[c[0] for c in INVALID_DEFAULTS]
)
def test_invalid_default_is_refused(case: str, schema: Any, default: Any, match: str) -> None:
    with pytest.raises(InvalidSchemaError, match=match) as info:
        parse_schema(json.dumps(field_default(schema, default)))
    assert "/fields/0/default (field 'f' of record 'R')" in str(info.value)


@pytest.mark.parametrize(
    ("case", "schema", "default"), VALID_DEFAULTS, ids=[c[0] for c in VALID_DEFAULTS]
)
def test_valid_default_is_accepted(case: str, schema: Any, default: Any) -> None:
    parsed = parse_schema(json.dumps(field_default(schema, default)))
    assert parsed.definition["fields"][0]["default"] == default


def test_recursive_record_defaults_are_checked() -> None:
    schema = {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "value", "type": "int", "default": 0},
            {"name": "next", "type": ["null", "Node"], "default": None},
            {"name": "first", "type": "Node", "default": {"value": 1, "next": None}},
        ],
    }
    parse_schema(json.dumps(schema))
    schema["fields"][2]["default"] = {"value": "one"}  # type: ignore[index]
    with pytest.raises(InvalidSchemaError, match="record field 'value'"):
        parse_schema(json.dumps(schema))


def test_the_empty_union_is_a_valid_schema() -> None:
    assert parse_schema("[]").canonical == "[]"
