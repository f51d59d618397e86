"""ODCS import: round trips of every repository product, a contract written by hand, errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.avro import parse_schema
from streams.catalog import (
    LoadedProduct,
    Product,
    export_odcs,
    import_odcs,
    load_product,
    load_products,
)
from streams.catalog._sla import read_duration
from streams.errors import ContractError
from tests.catalog._contracts import SELLER, assert_equivalent
from tests.catalog._repo import REPO, make_repo, product


def _export(loaded: LoadedProduct) -> dict[str, Any]:
    return export_odcs(loaded.product, loaded.schema, bootstrap_servers="localhost:9092")


def _seller() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SELLER.read_text())
    return document


def test_every_repository_product_round_trips() -> None:
    """Export then import gives the same descriptor and the same registered schema."""
    for loaded in load_products(REPO):
        imported = import_odcs(_export(loaded), source=loaded.product.topic)
        assert imported.ref == loaded.product.ref
        assert_equivalent(Product.model_validate(imported.descriptor), loaded.product)
        schema = parse_schema(json.dumps(imported.schema))
        assert schema.canonical == loaded.schema.canonical, loaded.path
        assert imported.notes == (), loaded.path


def test_round_trip_from_the_properties_alone(tmp_path: Path) -> None:
    """Without the exact Avro schema (another tool dropped the custom property), the record is
    rebuilt from the standard's keys: same fields, docs, nullability, PII; the same rules."""
    make_repo(tmp_path)
    loaded = load_product(tmp_path / "products" / "player" / "play_events.yaml")
    contract = _export(loaded)
    table = contract["schema"][0]
    table["customProperties"] = [
        item for item in table["customProperties"] if item["property"] != "avroSchema"
    ]
    imported = import_odcs(contract, source="play_events.odcs.yaml")
    assert_equivalent(Product.model_validate(imported.descriptor), loaded.product)
    fields = {item["name"]: item for item in imported.schema["fields"]}
    original = {item["name"]: item for item in loaded.schema.definition["fields"]}
    assert list(fields) == list(original)
    assert {name: item["doc"] for name, item in fields.items()} == {
        name: item["doc"] for name, item in original.items()
    }
    assert fields["event_id"]["type"] == "string"
    assert fields["event_time"]["type"] == {"type": "long", "logicalType": "timestamp-millis"}
    assert fields["user_id"]["pii"] == "pseudonymize"
    assert fields["device"]["type"] == "string"  # an enum's symbols are its allowed_values rule
    assert fields["ms_played"]["type"] == "long"
    assert fields["context"]["type"][0] == "null"
    assert fields["context"]["default"] is None
    assert [item["name"] for item in fields["context"]["type"][1]["fields"]] == ["playlist_id"]
    parse_schema(json.dumps(imported.schema))  # valid Avro


def test_a_contract_written_by_hand() -> None:
    imported = import_odcs(_seller(), source=SELLER.name)
    assert imported.ref.topic == "seller.seller_payments.v1"  # name's '_v1' is the version
    document = imported.descriptor
    assert document["owner"] == {"team": "seller-payments", "contact": "mhopper@example.com"}
    assert document["classification"] == "restricted"
    assert document["outputPort"] == {
        "schema": "schemas/seller/Tbl.avsc",
        "key": "rcvr_id",  # the primary key, not the date the table is partitioned by
        "eventTime": "created_ts",
        "retention": "30d",
    }
    assert document["guarantees"] == {"latency": "4h", "freshness": "1d"}
    assert document["quality"] == [
        {"rule": "not_null", "field": "rcvr_id", "description": "Every payment has a receiver."},
        {"rule": "allowed_values", "field": "rcvr_cntry_code", "values": ["US", "DE", "FR", "GB"]},
        {"rule": "range", "field": "pmt_amount", "min": 0},
        {"rule": "range", "field": "pmt_count", "min": 1, "max": 1000},
    ]
    fields = {item["name"]: item for item in imported.schema["fields"]}
    assert fields["txn_ref_dt"]["type"] == ["null", {"type": "int", "logicalType": "date"}]
    assert fields["rcvr_id"] == {
        "name": "rcvr_id",
        "type": "string",
        "doc": "The receiver of the payment (a seller account).",
        "pii": "pseudonymize",
    }
    assert fields["pmt_amount"]["type"] == "double"
    assert fields["pmt_count"]["type"] == "int"
    assert imported.personal
    notes = "\n".join(imported.notes)
    assert "schema[0].properties[3].physicalType: 'decimal(12,2)' is read as a double" in notes
    assert "schema[0].properties[5].quality[0]: the sql check" in notes
    assert "schema[0].quality[0]: the rowCount check" in notes
    assert "slaProperties[3]: 'frequency' has no counterpart" in notes


def test_domain_and_name_override_and_event_time_added() -> None:
    contract = _seller()
    table = contract["schema"][0]
    table["properties"] = [item for item in table["properties"] if item["name"] != "created_ts"]
    imported = import_odcs(contract, source="x", domain="payments", name="receipts")
    assert imported.ref.topic == "payments.receipts.v1"
    assert imported.descriptor["outputPort"]["eventTime"] == "event_time"
    assert imported.schema["fields"][-1]["name"] == "event_time"
    assert any("'event_time' added" in note for note in imported.notes)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c.pop("version"), "$: 'version' is a required property; add it"),
        (
            lambda c: c["schema"][0]["properties"][1].update(logicalType="text"),
            "schema[0].properties[1].logicalType: 'text' is not one of",
        ),
        (
            lambda c: c["schema"][0]["properties"][2].update(colour="red"),
            "schema[0].properties[2]: Unevaluated properties are not allowed ('colour' was "
            "unexpected); remove or rename them",
        ),
        (lambda c: c["team"].update(name=3), "team.name: 3 is not of type 'string'; write a"),
    ],
)
def test_an_invalid_contract_is_refused_with_its_json_paths(change: Any, expected: str) -> None:
    contract = _seller()
    change(contract)
    with pytest.raises(ContractError) as caught:
        import_odcs(contract, source="seller.yaml")
    assert any(problem.startswith(expected) for problem in caught.value.problems), (
        caught.value.problems
    )
    assert str(caught.value).startswith("seller.yaml is not a valid ODCS v3.1.0 document: ")


def test_several_objects_need_a_choice() -> None:
    contract = _seller()
    second = copy.deepcopy(contract["schema"][0])
    second["name"] = "refunds"
    contract["schema"].append(second)
    with pytest.raises(ContractError, match=r"2 objects: tbl, refunds; .* pass --object NAME"):
        import_odcs(contract, source="x")
    imported = import_odcs(contract, source="x", object_name="refunds")
    assert imported.record == "Refunds"
    with pytest.raises(ContractError, match="no schema object 'nope'; choose one of tbl, refunds"):
        import_odcs(contract, source="x", object_name="nope")


def test_an_edited_contract_whose_avro_schema_disagrees_is_refused(tmp_path: Path) -> None:
    make_repo(tmp_path)
    contract = _export(load_product(tmp_path / "products" / "player" / "play_events.yaml"))
    contract["schema"][0]["properties"].pop()
    with pytest.raises(ContractError, match="remove the avroSchema custom property"):
        import_odcs(contract, source="x")
    contract = _export(load_product(tmp_path / "products" / "player" / "play_events.yaml"))
    (avro,) = contract["schema"][0]["customProperties"]
    avro["value"]["fields"][0]["type"] = "strnig"
    with pytest.raises(
        ContractError, match=r"schema\[0\]\.customProperties avroSchema is not a valid Avro schema"
    ):
        import_odcs(contract, source="x")


def test_a_contract_without_domain_or_fields() -> None:
    contract = _seller()
    del contract["domain"]
    with pytest.raises(ContractError, match="names no domain: add 'domain:' or pass --domain"):
        import_odcs(contract, source="x")
    contract = _seller()
    contract["schema"][0]["properties"] = []
    with pytest.raises(ContractError, match=r"schema\[0\] has no properties"):
        import_odcs(contract, source="x")


def test_owner_from_a_v3_0_team_array_or_the_support_channel() -> None:
    contract = _seller()
    contract["team"] = [
        {"username": "ceastwood", "role": "Data Scientist"},
        {"username": "analyst@example.com", "role": "analyst"},
        {"username": "lead@example.com", "role": "Owner"},
    ]
    imported = import_odcs(contract, source="x")
    assert imported.descriptor["owner"] == {"team": "seller-team", "contact": "lead@example.com"}
    contract["team"] = [{"username": "ceastwood"}]
    contract["support"] = [
        {"channel": "#help", "tool": "slack", "url": "https://chat.example/help"},
        {"channel": "mail", "tool": "email", "url": "mailto:payments@example.com"},
    ]
    imported = import_odcs(contract, source="x")
    assert imported.descriptor["owner"]["contact"] == "payments@example.com"
    del contract["support"]
    imported = import_odcs(contract, source="x")
    assert "owner" not in imported.descriptor
    assert any(note.startswith("team: no member") for note in imported.notes)


def test_checks_with_no_counterpart_are_notes_not_rules() -> None:
    contract = _seller()
    country = contract["schema"][0]["properties"][2]
    country["quality"] = [
        {"metric": "invalidValues", "arguments": {"pattern": "^[A-Z]{2}$"}, "mustBe": 0},
        {"metric": "nullValues", "unit": "percent", "mustBeLessThan": 1},
    ]
    country["logicalTypeOptions"] = {"maxLength": 2}
    imported = import_odcs(contract, source="x")
    assert [rule["field"] for rule in imported.descriptor["quality"]] == [
        "rcvr_id",
        "pmt_amount",
        "pmt_count",
    ]
    assert "schema[0].properties[2].quality[0]: the invalidValues check" in "\n".join(
        imported.notes
    )
    assert "schema[0].properties[2].quality[1]: the nullValues check" in "\n".join(imported.notes)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (4, "d", "4d"),
        (3, "y", "1095d"),
        (2, "weeks", "2w"),
        (1.5, "h", "90m"),
        (45, "sec", "45s"),
        ("7d", None, "7d"),
        ("soon", "d", None),
        (5, "fortnights", None),
    ],
)
def test_sla_amounts_in_the_standards_units(value: object, unit: str | None, expected: str) -> None:
    notes: list[str] = []
    item = {"property": "latency", "value": value, **({"unit": unit} if unit else {})}
    assert read_duration(item, notes) == expected
    assert bool(notes) == (expected is None)


def test_shares_with_or_without_a_percent_unit() -> None:
    contract = _seller()
    contract["slaProperties"] = [
        {"property": "availability", "value": 99.5, "unit": "%"},
        {"property": "completeness", "value": 0.98},
        {"property": "duplicates", "value": 1, "unit": "percent"},
        {"property": "deadLetters", "value": 3, "unit": "records"},
    ]
    guarantees = import_odcs(contract, source="x").descriptor["guarantees"]
    assert guarantees == {
        "availability": 0.995,
        "completeness": 0.98,
        "maxDuplicateShare": 0.01,
        "maxDeadLetters": 3,
    }


def test_every_problem_is_kept_and_the_first_twenty_are_shown() -> None:
    contract = _seller()
    contract["schema"][0]["properties"] = [
        {"name": f"c{index}", "logicalType": "text"} for index in range(25)
    ]
    with pytest.raises(ContractError) as caught:
        import_odcs(contract, source="x")
    assert len(caught.value.problems) == 25
    lines = str(caught.value).splitlines()
    assert lines[0].endswith("(and 24 more problem(s))")
    assert len(lines) == 21
    assert lines[-1] == "  ... 5 more"


def test_a_deprecated_aggregate_round_trips(tmp_path: Path) -> None:
    deprecation = {
        "note": "Replaced by v2 (adds bitrate).",
        "sunset": "2030-01-01",
        "replacedBy": "player.play_events.v2",
    }
    make_repo(
        tmp_path,
        product(
            kind="consumer-aligned",
            status="deprecated",
            deprecation=deprecation,
            inputPorts=[{"product": "player.sessions", "version": 2}],
            outputPort__retention="infinite",
            guarantees__validity=0.99,
            guarantees__maxDeadLetters=4,
        ),
    )
    loaded = load_product(tmp_path / "products" / "player" / "play_events.yaml")
    imported = import_odcs(_export(loaded), source="x")
    assert_equivalent(Product.model_validate(imported.descriptor), loaded.product)
    assert imported.descriptor["deprecation"]["replacedBy"] == "player.play_events.v2"
