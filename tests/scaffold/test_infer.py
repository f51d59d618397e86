"""``infer_fields``: a sample event's values give its fields' Avro types, or a clear error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streams.avro import parse_schema
from streams.errors import ConfigError
from streams.scaffold import infer_fields
from streams.scaffold._infer import UUID_TYPE, KnownField

UUID = "0b9c1c2e-7d3a-4c1e-9a57-2f1d0e8b6a41"


def _types(sample: dict[str, Any]) -> dict[str, Any]:
    return {field["name"]: field["type"] for field in infer_fields(sample)}


def test_each_json_value_gives_its_type() -> None:
    types = _types(
        {
            "active": True,
            "seats": 12,
            "score": 2.5,
            "name": "gold",
            "partner_id": UUID,
            "signed_at": "2026-01-31T18:30:00+01:00",
            "starts_on": "2026-02-01",
            "local_time": "2026-01-31T18:30:00",
        }
    )
    assert types == {
        "event_id": {"type": "string", "logicalType": "uuid"},
        "event_time": {"type": "long", "logicalType": "timestamp-millis"},
        "active": "boolean",
        "seats": "long",
        "score": "double",
        "name": "string",
        "partner_id": {"type": "string", "logicalType": "uuid"},
        "signed_at": {"type": "long", "logicalType": "timestamp-millis"},
        "starts_on": {"type": "int", "logicalType": "date"},
        "local_time": "string",  # no zone: not an instant
    }


def test_objects_become_records_and_arrays_arrays() -> None:
    fields = infer_fields({"plan": {"tier": "gold", "seats": 3}, "tags": ["a", "b"]})
    plan, tags = fields[2], fields[3]
    assert plan["type"]["type"] == "record"
    assert plan["type"]["name"] == "Plan"
    assert [f["name"] for f in plan["type"]["fields"]] == ["tier", "seats"]
    assert tags["type"] == {"type": "array", "items": "string"}


def test_alike_records_in_an_array_share_one_definition() -> None:
    fields = infer_fields({"lines": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]})
    assert fields[2]["type"]["items"]["name"] == "Lines"
    # Valid Avro: the record is defined once.
    parse_schema(json.dumps({"type": "record", "name": "Order", "fields": fields}))


def test_records_that_differ_in_one_array_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"key 'lines' mixes records \["):
        infer_fields({"lines": [{"sku": "a"}, {"qty": 2}]})


def test_numbers_in_one_array_become_doubles() -> None:
    assert _types({"values": [1, 2.5]})["values"] == {"type": "array", "items": "double"}


def test_nested_records_with_one_name_get_distinct_names() -> None:
    fields = infer_fields({"a": {"info": {"x": 1}}, "b": {"info": {"y": "z"}}}, record="Thing")
    names = [fields[2]["type"]["fields"][0]["type"]["name"], fields[3]["type"]["fields"][0]]
    assert names[0] == "Info"
    assert names[1]["type"]["name"] == "Info2"
    parse_schema(json.dumps({"type": "record", "name": "Thing", "fields": fields}))


def test_every_field_has_a_todo_doc_but_the_conventional_ones() -> None:
    fields = infer_fields({"plan": {"tier": "gold"}})
    assert "TODO" not in fields[0]["doc"]
    assert "TODO" not in fields[1]["doc"]
    assert fields[2]["doc"].startswith("TODO")
    assert fields[2]["type"]["fields"][0]["doc"].startswith("TODO")


def test_personal_names_are_marked_pii() -> None:
    fields = {f["name"]: f for f in infer_fields({"email": "a@b.example", "city": "Oslo"})}
    assert fields["email"]["pii"] == "encrypt"
    assert "pii" not in fields["city"]


def test_the_samples_event_id_and_event_time_keep_the_conventional_types() -> None:
    fields = infer_fields({"event_time": 1_767_225_600_000, "event_id": UUID, "x": 1})
    assert [f["name"] for f in fields] == ["event_id", "event_time", "x"]
    assert fields[1]["type"] == {"type": "long", "logicalType": "timestamp-millis"}


@pytest.mark.parametrize(
    ("sample", "message"),
    [
        ({"coupon": None}, "key 'coupon' is null"),
        ({"tags": [None, None]}, "key 'tags[0]' is null"),
        ({"tags": []}, "key 'tags' is an empty array"),
        ({"tags": ["a", 1]}, "key 'tags' mixes string (item 0) and long (item 1)"),
        ({"plan": {"tier": [1, "x"]}}, "key 'plan.tier' mixes long (item 0) and string"),
        ({"plan": {}}, "key 'plan' is an empty object"),
        ({"first-name": "Ada"}, "key 'first-name' is not a valid Avro field name"),
        ({"n": 2**70}, "key 'n' is 1180591620717411303424, beyond a 64-bit long"),
        ({"event_id": 42}, "key 'event_id' is 42, not a UUID"),
        ({"event_time": "yesterday"}, "key 'event_time' is 'yesterday', not a time"),
        ({"event_time": "2026-01-31T18:30:00"}, "not a time"),
    ],
    ids=[
        "null",
        "null-only array",
        "empty array",
        "mixed array",
        "nested mixed array",
        "empty object",
        "bad name",
        "beyond long",
        "event_id",
        "event_time",
        "event_time without zone",
    ],
)
def test_values_that_cannot_be_typed_name_their_key(sample: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=r"^sample\.json: ") as caught:
        infer_fields(sample, source="sample.json")
    assert message in str(caught.value)


def test_a_bad_name_gets_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"e\.g\. 'first_name'"):
        infer_fields({"first-name": "Ada"})


def test_a_known_field_keeps_its_doc_when_the_types_agree() -> None:
    known = {
        "country": KnownField("string", "ISO 3166-1 alpha-2 code.", False, "schemas/a/A.avsc"),
        "seats": KnownField("string", "Seats as text.", False, "schemas/a/A.avsc"),
        "user_id": KnownField(UUID_TYPE, "The listener.", True, "schemas/a/A.avsc"),
    }
    fields = {f["name"]: f for f in infer_fields({"country": "DE", "seats": 3}, known=known)}
    assert fields["country"]["doc"] == "ISO 3166-1 alpha-2 code."
    assert fields["seats"]["doc"].startswith("TODO")  # another type: another field
    assert fields["seats"]["type"] == "long"
    with pytest.raises(ConfigError, match=r"but user_id is a UUID in schemas/a/A\.avsc"):
        infer_fields({"user_id": 42}, known=known)


def test_a_sample_must_be_an_object() -> None:
    with pytest.raises(ConfigError, match="expected one JSON object"):
        infer_fields([1, 2])  # type: ignore[arg-type]
