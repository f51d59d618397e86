"""The example company's Avro schemas (``schemas/``) keep the house rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.avro import PROTECTIONS, parse_schema
from streams.catalog import product_files
from streams.naming import schema_file

ROOT = Path(__file__).parents[1]
FILES = sorted((ROOT / "schemas").glob("*/*.avsc"))
SHARED_IDS = ("user_id", "track_id", "artist_id")
# Field names that identify or locate a person; each must be marked with a "pii" protection. Age
# bands and
# regions are classes of many people, and stage names are public by choice (see their docs).
PII_NAMES = frozenset(
    {"user_id", "email", "contact_email", "display_name", "legal_name", "phone", "ip_address"}
    | {"latitude", "longitude", "date_of_birth", "postal_code", "street_address"}
)
UUID_TYPE = {"type": "string", "logicalType": "uuid"}
EVENT_TIME_TYPE = {"type": "long", "logicalType": "timestamp-millis"}


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT / "schemas"))


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _named_types(schema: Any) -> Iterator[dict[str, Any]]:
    """Every record, enum and fixed defined inside ``schema`` (itself included)."""
    if isinstance(schema, list):
        for branch in schema:
            yield from _named_types(branch)
    elif isinstance(schema, dict):
        if schema.get("type") in ("record", "enum", "fixed"):
            yield schema
        for field in schema.get("fields", []):
            yield from _named_types(field["type"])
        for key in ("items", "values"):
            if key in schema:
                yield from _named_types(schema[key])


def _fields(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(record name, field)`` for every field of every record in ``schema``."""
    for named in _named_types(schema):
        for field in named.get("fields", []):
            yield named["name"], field


def test_there_are_schemas_for_every_domain() -> None:
    """Every domain with products has its schemas, and every schema folder is such a domain."""
    domains = {path.parent.name for path in FILES}
    assert domains
    assert domains == {path.parent.name for path in product_files(ROOT)}


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_is_valid_avro(path: Path) -> None:
    # That the registry's parser and fastavro agree is tests/avro/test_properties.py's job.
    parse_schema(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_is_pretty_printed(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_lives_where_naming_puts_it(path: Path) -> None:
    schema = _load(path)
    domain = path.parent.name
    assert schema["type"] == "record"
    assert schema["namespace"] == f"music.{domain}"
    assert path == schema_file(ROOT, domain, schema["name"])


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_everything_is_documented(path: Path) -> None:
    schema = _load(path)
    for named in _named_types(schema):
        assert named.get("doc", "").strip(), f"{named['name']} has no doc"
    for record, field in _fields(schema):
        assert field.get("doc", "").strip(), f"field {field['name']!r} of {record} has no doc"


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_pii_is_marked(path: Path) -> None:
    for record, field in _fields(_load(path)):
        if field["name"] in PII_NAMES:
            assert "pii" in field, f'{record}.{field["name"]} needs a "pii" protection'
        # The attribute is a protection or absent (lint refuses true and anything else).
        assert field.get("pii", "encrypt") in PROTECTIONS, f"{record}.{field['name']}: pii"


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_time_and_ids_have_one_spelling(path: Path) -> None:
    fields = {field["name"]: field for field in _load(path)["fields"]}
    # Every record here is an event or an event-time aggregate, so none is exempt.
    assert fields["event_time"]["type"] == EVENT_TIME_TYPE
    if "event_id" in fields:
        assert fields["event_id"]["type"] == UUID_TYPE
    else:
        # Aggregates are keyed by what they aggregate, not by an event id.
        assert "window_start" in fields, "records without event_id must say what keys them"


def _without_null(kind: Any) -> Any:
    """The type of an optional value (``["null", T]`` -> ``T``); other types unchanged."""
    if isinstance(kind, list) and len(kind) == 2 and "null" in kind:
        return next(branch for branch in kind if branch != "null")
    return kind


def test_shared_ids_have_one_type_everywhere() -> None:
    # An id may be optional where the thing may be missing (a player error before any track),
    # but the id itself is spelled one way.
    seen: dict[str, set[str]] = {name: set() for name in SHARED_IDS}
    for path in FILES:
        for _, field in _fields(_load(path)):
            if field["name"] in seen:
                seen[field["name"]].add(json.dumps(_without_null(field["type"]), sort_keys=True))
    for name, types in seen.items():
        assert types == {json.dumps(UUID_TYPE, sort_keys=True)}, f"{name} has types {types}"


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_nullable_fields_default_to_null(path: Path) -> None:
    for record, field in _fields(_load(path)):
        kind = field["type"]
        if isinstance(kind, list) and "null" in kind:
            assert kind[0] == "null", f"{record}.{field['name']}: put null first"
            assert "default" in field, f'{record}.{field["name"]}: add "default": null'
            assert field["default"] is None


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_enums_can_evolve(path: Path) -> None:
    for named in _named_types(_load(path)):
        if named["type"] == "enum":
            assert named.get("default") in named["symbols"], f"{named['name']} needs a default"


def test_shared_named_types_are_defined_identically() -> None:
    """Each file is standalone Avro, so shared enums are repeated; the copies must agree."""
    definitions: dict[str, dict[str, str]] = {}
    for path in FILES:
        namespace = _load(path)["namespace"]
        for named in _named_types(_load(path)):
            full = named["name"] if "." in named["name"] else f"{namespace}.{named['name']}"
            if named["type"] != "record":
                text = json.dumps(named, sort_keys=True)
                definitions.setdefault(full, {})[_id(path)] = text
    for full, texts in definitions.items():
        assert len(set(texts.values())) == 1, f"{full} differs between {sorted(texts)}"
