"""The one field walk: paths, docs, PII marks, defaults and nested records."""

from __future__ import annotations

import json

from streams.avro import describe_type, iter_docs, iter_fields, parse_schema, record_fields

SCHEMA = parse_schema(
    json.dumps(
        {
            "type": "record",
            "name": "Node",
            "namespace": "t",
            "doc": "A node.",
            "fields": [
                {
                    "name": "id",
                    "type": {"type": "string", "logicalType": "uuid"},
                    "pii": "pseudonymize",
                },
                {"name": "mail", "type": "string", "pii": "encrypt"},
                {"name": "old", "type": "string", "pii": True},
                {"name": "next", "type": ["null", "Node"], "default": None, "doc": "Next."},
                {
                    "name": "kids",
                    "type": {
                        "type": "array",
                        "items": {
                            "type": "record",
                            "name": "Kid",
                            "doc": "A kid.",
                            "fields": [{"name": "age", "type": "int", "doc": "Years."}],
                        },
                    },
                },
                {"name": "by_name", "type": {"type": "map", "values": "Kid"}},
                {"name": "pair", "type": ["null", "int", "string"], "pii": "yes"},
            ],
        }
    )
)


def test_paths_walk_nested_records_once() -> None:
    assert [info.path for info in iter_fields(SCHEMA)] == [
        "id",
        "mail",
        "old",
        "next",
        "kids",
        "kids.age",
        "by_name",
        "pair",
    ]
    assert [info.path for info in iter_fields(SCHEMA, nested=False)] == [
        "id",
        "mail",
        "old",
        "next",
        "kids",
        "by_name",
        "pair",
    ]


def test_field_information() -> None:
    fields = {info.path: info for info in iter_fields(SCHEMA)}
    assert fields["id"].pii is True
    assert fields["id"].protection == "pseudonymize"
    assert fields["mail"].protection == "encrypt"
    # The legacy flag still means personal (lint refuses it), with no protection.
    assert (fields["old"].pii, fields["old"].protection, fields["old"].pii_mark) == (
        True,
        None,
        True,
    )
    # An unknown value is not a protection; lint reports it from the mark as written.
    assert (fields["pair"].pii, fields["pair"].protection) == (False, None)
    assert fields["pair"].pii_mark == "yes"
    assert fields["kids"].pii_mark is None
    assert fields["next"].has_default
    assert fields["next"].default is None
    assert not fields["kids"].has_default
    assert fields["next"].value_type["name"] == "t.Node"
    assert fields["next"].nested is not None
    assert fields["kids.age"].record == "t.Kid"
    assert fields["kids.age"].doc == "Years."
    assert fields["pair"].value_type == ["null", "int", "string"]
    assert [f.name for f in record_fields(SCHEMA, SCHEMA.named["t.Kid"])] == ["age"]


def test_type_names_and_docs() -> None:
    names = {info.path: describe_type(info.type, SCHEMA) for info in iter_fields(SCHEMA)}
    assert names == {
        "id": "uuid",
        "mail": "string",
        "old": "string",
        "next": "null | Node",
        "kids": "array<Kid>",
        "kids.age": "int",
        "by_name": "map<Kid>",
        "pair": "null | int | string",
    }
    assert sorted(iter_docs(SCHEMA)) == ["A kid.", "A node.", "Next.", "Years."]


def test_a_schema_that_is_not_a_record_has_no_fields() -> None:
    assert list(iter_fields(parse_schema('"string"'))) == []
