"""ODCS v3 and ODPS v1 export, and duration parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.catalog import (
    export_odcs,
    export_odps,
    format_duration,
    load_product,
    load_products,
    parse_duration,
    parse_retention,
)
from tests.catalog._repo import REPO, make_repo, product


def test_odcs_contract(tmp_path: Path) -> None:
    make_repo(tmp_path)
    loaded = load_product(tmp_path / "products" / "player" / "play_events.yaml")
    contract = export_odcs(loaded.product, loaded.schema)
    assert contract["apiVersion"].startswith("v3.0.")
    assert contract["kind"] == "DataContract"
    assert contract["id"] == "player.play_events.v1"
    assert contract["dataProduct"] == "player.play_events"
    assert contract["description"] == {
        "purpose": "Every playback.",
        "usage": "Royalties and charts.",
    }
    assert contract["team"] == [{"username": "player@tunewave.example", "role": "owner"}]
    (table,) = contract["schema"]
    assert table["name"] == "PlayEvent"
    assert table["physicalName"] == "player.play_events.v1"
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
        {"type": "library", "rule": "duplicateCount", "mustBe": 0}
    ]
    assert properties["event_time"]["logicalType"] == "date"
    assert properties["user_id"]["classification"] == "confidential"
    assert properties["user_id"]["partitionKeyPosition"] == 1
    assert properties["device"]["quality"][0]["validValues"] == ["IOS", "WEB"]
    assert properties["ms_played"]["logicalTypeOptions"] == {"minimum": 0, "maximum": 86400000}
    assert properties["context"]["required"] is False
    (nested,) = properties["context"]["properties"]
    assert nested["name"] == "playlist_id"
    assert nested["quality"] == [{"type": "library", "rule": "nullCheck", "mustBe": 0}]
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
    assert sla["availability"]["unit"] == "%"
    assert {item["name"] for item in table["quality"]} == {
        "completeness",
        "duplicates",
        "validity",
        "deadLetters",
    }


def test_odps_product(tmp_path: Path) -> None:
    doc = product(name="hourly", kind="aggregate", inputPorts=[{"product": "player.play_events"}])
    make_repo(tmp_path, doc)
    loaded = load_product(tmp_path / "products" / "player" / "hourly.yaml")
    document = export_odps(loaded.product)
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


def test_every_repository_product_exports() -> None:
    for loaded in load_products(REPO):
        contract = export_odcs(loaded.product, loaded.schema)
        fields = [item["name"] for item in loaded.schema.definition["fields"]]
        assert [p["name"] for p in contract["schema"][0]["properties"]] == fields
        assert export_odps(loaded.product)["outputPorts"][0]["name"] == loaded.product.topic


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
    quality = {
        item["name"]: item
        for item in export_odcs(loaded.product, loaded.schema)["schema"][0]["quality"]
    }
    assert set(quality) == {"completeness", "duplicates", "validity", "deadLetters"}
    assert "99.5000%" in quality["validity"]["description"]
    assert "At most 2 records" in quality["deadLetters"]["description"]


def test_odcs_default_validity_and_dead_letters(tmp_path: Path) -> None:
    """Unset, the monitor's defaults apply: every event valid (rules beyond unique), no DLQ."""
    make_repo(tmp_path)
    loaded = load_product(tmp_path / "products" / "player" / "play_events.yaml")
    quality = {
        item["name"]: item
        for item in export_odcs(loaded.product, loaded.schema)["schema"][0]["quality"]
    }
    assert "100.0000%" in quality["validity"]["description"]
    assert "At most 0 records" in quality["deadLetters"]["description"]


def test_odcs_no_validity_without_rules(tmp_path: Path) -> None:
    make_repo(tmp_path, product(quality=[{"rule": "unique", "field": "event_id"}]))
    loaded = load_product(tmp_path / "products" / "player" / "play_events.yaml")
    quality = export_odcs(loaded.product, loaded.schema)["schema"][0]["quality"]
    assert {item["name"] for item in quality} == {"completeness", "duplicates", "deadLetters"}
