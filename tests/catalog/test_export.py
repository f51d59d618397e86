"""ODCS v3 and ODPS v1 export, and duration parsing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streams.catalog import (
    LoadedProduct,
    export_odcs,
    export_odps,
    format_duration,
    load_product,
    load_products,
    parse_duration,
    parse_retention,
    problems,
    require_valid,
)
from streams.errors import ContractError
from tests.catalog._repo import REPO, make_repo, product

SERVERS = "kafka-1.example:9092"


def _contract(loaded: LoadedProduct) -> dict[str, Any]:
    return export_odcs(loaded.product, loaded.schema, bootstrap_servers=SERVERS)


def test_odcs_contract(tmp_path: Path) -> None:
    make_repo(tmp_path)
    loaded = load_product(tmp_path / "products" / "player" / "play_events.yaml")
    contract = _contract(loaded)
    assert problems("odcs", contract) == []
    assert contract["apiVersion"] == "v3.1.0"
    assert contract["kind"] == "DataContract"
    assert contract["id"] == "player.play_events.v1"
    assert "dataProduct" not in contract  # deprecated in v3.1.0: the ODPS port names the contract
    assert contract["description"] == {
        "purpose": "Every playback.",
        "usage": "Royalties and charts.",
    }
    assert contract["team"] == {
        "name": "player-platform",
        "members": [{"username": "player@tunewave.example", "role": "owner"}],
    }
    assert contract["servers"] == [
        {"server": "mesh", "type": "kafka", "host": SERVERS, "format": "avro"}
    ]
    (table,) = contract["schema"]
    assert table["name"] == "PlayEvent"
    assert table["physicalName"] == "player.play_events.v1"
    (avro,) = table["customProperties"]
    assert avro["property"] == "avroSchema"
    assert avro["value"] == json.loads(loaded.schema.canonical)
    properties = {item["name"]: item for item in table["properties"]}
    assert list(properties) == [
        "event_id",
        "event_time",
        "user_id",
        "device",
        "ms_played",
        "context",
    ]
    assert properties["event_id"]["unique"] is True
    assert properties["event_id"]["quality"] == [
        {"type": "library", "metric": "duplicateValues", "mustBe": 0}
    ]
    assert properties["event_time"]["logicalType"] == "timestamp"
    assert properties["event_time"]["physicalType"] == "long (timestamp-millis)"
    assert properties["user_id"]["classification"] == "confidential"
    assert properties["user_id"]["customProperties"] == [
        {"property": "pii", "value": "pseudonymize"}
    ]
    assert properties["user_id"]["partitionKeyPosition"] == 1
    assert properties["device"]["quality"] == [
        {
            "type": "library",
            "metric": "invalidValues",
            "arguments": {"validValues": ["IOS", "WEB"]},
            "mustBe": 0,
        }
    ]
    assert properties["ms_played"]["logicalTypeOptions"] == {
        "format": "i64",
        "minimum": 0,
        "maximum": 86400000,
    }
    assert properties["context"]["required"] is False
    (nested,) = properties["context"]["properties"]
    assert nested["name"] == "playlist_id"
    assert nested["quality"] == [{"type": "library", "metric": "nullValues", "mustBe": 0}]
    sla = {item["property"]: item for item in contract["slaProperties"]}
    assert sla["freshness"] == {
        "property": "freshness",
        "value": 1,
        "unit": "minutes",
        "element": "PlayEvent.event_time",
    }
    assert sla["latency"]["value"] == 30
    assert sla["latency"]["unit"] == "seconds"
    assert sla["retention"]["value"] == 30
    assert sla["retention"]["unit"] == "days"
    assert (sla["availability"]["value"], sla["availability"]["unit"]) == (99.9, "%")
    assert sla["completeness"]["value"] == 99.9
    assert sla["duplicates"]["value"] == 0.1
    # Unset, the monitor's defaults apply: every event valid (rules beyond unique), no DLQ.
    assert sla["validity"]["value"] == 100
    assert sla["deadLetters"]["value"] == 0
    assert "player.play_events.v1.dlq" in sla["deadLetters"]["description"]


def test_odcs_rejects_what_the_old_export_wrote(tmp_path: Path) -> None:
    """The checker is the official schema: v3.0.2's team array is accepted, a Kafka server
    without host (what export wrote before) and the pre-3.1 quality ``rule`` are not."""
    make_repo(tmp_path)
    contract = _contract(load_product(tmp_path / "products" / "player" / "play_events.yaml"))
    contract["team"] = [{"username": "player@tunewave.example", "role": "owner"}]
    assert problems("odcs", contract) == []
    del contract["servers"][0]["host"]
    contract["schema"][0]["properties"][0]["quality"] = [
        {"type": "library", "rule": "duplicateCount", "mustBe": 0}
    ]
    found = problems("odcs", contract)
    assert "schema[0].properties[0].quality[0]: 'metric' is a required property; add it" in found
    assert "servers[0]: 'host' is a required property; add it" in found
    with pytest.raises(ContractError, match=r"not a valid ODCS v3\.1\.0 document: schema\[0\]"):
        require_valid("odcs", contract, source="the export")


def test_odps_product(tmp_path: Path) -> None:
    doc = product(name="hourly", kind="aggregate", inputPorts=[{"product": "player.play_events"}])
    make_repo(tmp_path, doc)
    loaded = load_product(tmp_path / "products" / "player" / "hourly.yaml")
    document = export_odps(loaded.product)
    assert problems("odps", document) == []
    assert document["apiVersion"] == "v1.0.0"
    assert document["kind"] == "DataProduct"
    assert document["id"] == "player.hourly"
    assert document["status"] == "active"
    assert document["domain"] == "player"
    assert document["team"]["name"] == "player-platform"
    assert document["inputPorts"] == [
        {"name": "player.play_events", "version": "1.0.0", "contractId": "player.play_events.v1"}
    ]
    (port,) = document["outputPorts"]
    assert port["name"] == port["contractId"] == "player.hourly.v1"
    custom = {item["property"]: item["value"] for item in document["customProperties"]}
    assert custom["kind"] == "aggregate"
    assert custom["classification"] == "confidential"


def test_every_repository_product_exports_valid_documents() -> None:
    loaded_products = load_products(REPO)
    assert len(loaded_products) >= 8
    for loaded in loaded_products:
        contract = _contract(loaded)
        assert problems("odcs", contract) == [], loaded.product.topic
        fields = [item["name"] for item in loaded.schema.definition["fields"]]
        assert [p["name"] for p in contract["schema"][0]["properties"]] == fields
        document = export_odps(loaded.product)
        assert problems("odps", document) == [], loaded.product.topic
        assert document["outputPorts"][0]["name"] == loaded.product.topic


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("7d", 604800), ("2w", 1209600)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["5", "5 minutes", "0s", "-1h", "1.5h", 5])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. '30s'"):
        parse_duration(text)


def test_retention() -> None:
    assert parse_retention("infinite") == -1
    assert format_duration(-1) == "infinite"
    assert format_duration(14 * 86400) == "14d"
    with pytest.raises(ValueError, match="'infinite' or a duration"):
        parse_retention("forever")


def test_odcs_validity_and_dead_letters(tmp_path: Path) -> None:
    make_repo(tmp_path, product(guarantees__validity=0.995, guarantees__maxDeadLetters=2))
    loaded = load_product(tmp_path / "products" / "player" / "play_events.yaml")
    sla = {item["property"]: item for item in _contract(loaded)["slaProperties"]}
    assert (sla["validity"]["value"], sla["validity"]["unit"]) == (99.5, "%")
    assert (sla["deadLetters"]["value"], sla["deadLetters"]["unit"]) == (2, "records")


def test_odcs_no_validity_without_rules(tmp_path: Path) -> None:
    make_repo(tmp_path, product(quality=[{"rule": "unique", "field": "event_id"}]))
    loaded = load_product(tmp_path / "products" / "player" / "play_events.yaml")
    sla = {item["property"] for item in _contract(loaded)["slaProperties"]}
    assert "validity" not in sla
    assert {"completeness", "duplicates", "deadLetters"} <= sla


def test_odcs_range_on_a_timestamp_and_infinite_retention(tmp_path: Path) -> None:
    """ODCS bounds a timestamp with dates: a numeric range there is a ``text`` check."""
    rules = [{"rule": "range", "field": "event_time", "min": 0, "description": "After 1970."}]
    make_repo(tmp_path, product(quality=rules, outputPort__retention="infinite"))
    contract = _contract(load_product(tmp_path / "products" / "player" / "play_events.yaml"))
    assert problems("odcs", contract) == []
    event_time = contract["schema"][0]["properties"][1]
    assert "logicalTypeOptions" not in event_time
    assert event_time["quality"] == [
        {
            "type": "text",
            "name": "range",
            "description": "After 1970.",
            "customProperties": [{"property": "minimum", "value": 0}],
        }
    ]
    sla = {item["property"]: item for item in contract["slaProperties"]}
    assert sla["retention"]["value"] == "infinite"
