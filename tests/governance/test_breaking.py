"""A breaking schema change needs a new major version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.catalog import load_product
from streams.errors import InvalidSchemaError
from streams.governance import BREAKING_RULE, breaking_change
from tests.catalog._repo import PLAY_EVENT, make_repo

OLD = json.dumps(PLAY_EVENT)


def _with_field(field: dict[str, object]) -> str:
    record = json.loads(OLD)
    record["fields"].append(field)
    return json.dumps(record)


def test_compatible_change_passes() -> None:
    new = _with_field({"name": "bitrate", "type": "int", "default": 0, "doc": "kbit/s"})
    assert breaking_change(OLD, new, "BACKWARD_TRANSITIVE") == []


def test_breaking_change_needs_a_new_major_version(tmp_path: Path) -> None:
    make_repo(tmp_path)
    loaded = load_product(tmp_path / "products" / "player" / "play_events.yaml")
    new = _with_field({"name": "bitrate", "type": "int", "doc": "kbit/s"})
    (found,) = breaking_change(OLD, new, "BACKWARD", product=loaded)
    assert found.rule_id == BREAKING_RULE
    assert found.severity == "error"
    assert "breaks BACKWARD compatibility" in found.message
    assert "bitrate" in found.message
    assert "'version: 2' (topic player.play_events.v2)" in found.hint
    assert found.line == loaded.line_of("outputPort", "schema")


def test_level_decides() -> None:
    record = json.loads(OLD)
    record["fields"] = [f for f in record["fields"] if f["name"] != "ms_played"]
    removed = json.dumps(record)
    assert breaking_change(OLD, removed, "BACKWARD") == []
    (found,) = breaking_change(OLD, removed, "FULL")
    assert found.path is None
    assert "new major version" in found.hint


def test_invalid_schema_raises() -> None:
    with pytest.raises(InvalidSchemaError):
        breaking_change(OLD, "{", "BACKWARD")
