"""IMPORT mode: a requested id or version is checked before anything else, and a schema that is
already stored keeps its one id (Confluent's 42207 for an id that does not match)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.registry.conftest import ThreadedRegistry


def _record(name: str, field_type: str = "int") -> str:
    return json.dumps(
        {"type": "record", "name": name, "fields": [{"name": "f", "type": field_type}]}
    )


@pytest.fixture
def http(memory_registry: ThreadedRegistry) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=memory_registry.url, timeout=30) as client:
        client.put("/mode", json={"mode": "IMPORT"}).raise_for_status()
        stored = client.post("/subjects/s-value/versions", json={"schema": _record("A"), "id": 600})
        assert stored.json()["id"] == 600
        yield client


@pytest.mark.parametrize("subject", ["s-value", "other-value"])
@pytest.mark.parametrize("schema_id", [601, 0])
def test_a_stored_schema_refuses_another_id(
    http: httpx.Client, subject: str, schema_id: int
) -> None:
    again = http.post(
        f"/subjects/{subject}/versions", json={"schema": _record("A"), "id": schema_id}
    )
    assert again.status_code == 422
    body = again.json()
    assert body["error_code"] == 42207
    assert (
        f"Schema already registered with id 600 instead of input id {schema_id}"
        in (body["message"])
    )
    assert http.get("/schemas/ids/601").status_code == 404


def test_a_stored_schema_with_its_own_id_is_idempotent(http: httpx.Client) -> None:
    again = http.post("/subjects/s-value/versions", json={"schema": _record("A"), "id": 600})
    assert again.json()["id"] == 600


@pytest.mark.parametrize("version", [99999999999, 2**31, -3])
@pytest.mark.parametrize("name", ["A", "B"])
def test_a_version_outside_a_java_int_is_refused(
    http: httpx.Client, version: int, name: str
) -> None:
    answer = http.post(
        "/subjects/s-value/versions", json={"schema": _record(name), "id": 700, "version": version}
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["error_code"] == 42202
    assert f"version {version}" in body["message"]
    assert "1..2147483647" in body["message"]


@pytest.mark.parametrize("schema_id", [-3, 2**31])
def test_the_id_range_is_checked_before_compatibility(http: httpx.Client, schema_id: int) -> None:
    incompatible = _record("A", "string")  # BACKWARD would refuse it with a 409
    answer = http.post("/subjects/s-value/versions", json={"schema": incompatible, "id": schema_id})
    assert answer.status_code == 422
    assert f"Schema id {schema_id} is out of range" in answer.json()["message"]
