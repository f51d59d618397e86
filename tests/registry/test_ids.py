"""Schema ids: IMPORT cannot give one id two schemas or leave the 4-byte range; storage failures
answer a clear 503 and the registry re-reads its log before the next write."""

from __future__ import annotations

import json

import httpx
import pytest

from streams.registry import MemoryStorage
from tests.registry.conftest import ThreadedRegistry


def _record(name: str) -> str:
    return json.dumps({"type": "record", "name": name, "fields": [{"name": "f", "type": "int"}]})


@pytest.fixture
def http(memory_registry: ThreadedRegistry) -> httpx.Client:
    with httpx.Client(base_url=memory_registry.url, timeout=30) as client:
        client.put("/mode", json={"mode": "IMPORT"}).raise_for_status()
        yield client


def test_import_refuses_an_id_held_by_another_schema(http: httpx.Client) -> None:
    first = http.post("/subjects/a-value/versions", json={"schema": _record("A"), "id": 7})
    assert first.status_code == 200
    assert first.json()["id"] == 7
    clash = http.post("/subjects/b-value/versions", json={"schema": _record("B"), "id": 7})
    assert clash.status_code == 422
    body = clash.json()
    assert body["error_code"] == 42205
    assert "Overwrite new schema with id 7 is not permitted" in body["message"]
    assert "'a-value'" in body["message"]
    assert http.get("/schemas/ids/7").json()["schema"] == _record("A").replace(" ", "")
    assert http.get("/subjects").json() == ["a-value"]
    # The same schema under the same id elsewhere is an import of the same thing: fine.
    same = http.post("/subjects/c-value/versions", json={"schema": _record("A"), "id": 7})
    assert same.status_code == 200
    assert same.json()["id"] == 7


@pytest.mark.parametrize("schema_id", [2**31, 2**64 - 1, 0, -1])
def test_import_refuses_ids_outside_the_4_byte_range(http: httpx.Client, schema_id: int) -> None:
    answer = http.post("/subjects/a-value/versions", json={"schema": _record("A"), "id": schema_id})
    assert answer.status_code == 422
    assert f"Schema id {schema_id} is out of range" in answer.json()["message"]
    assert "2147483647" in answer.json()["message"]
    # Nothing was stored, and later registrations keep working.
    http.put("/mode", json={"mode": "READWRITE"}).raise_for_status()
    ok = http.post("/subjects/b-value/versions", json={"schema": _record("B")})
    assert ok.status_code == 200
    assert ok.json()["id"] == 1


def test_the_largest_id_can_be_imported_and_then_ids_run_out_clearly(http: httpx.Client) -> None:
    top = http.post("/subjects/a-value/versions", json={"schema": _record("A"), "id": 2**31 - 1})
    assert top.status_code == 200
    http.put("/mode", json={"mode": "READWRITE"}).raise_for_status()
    full = http.post("/subjects/b-value/versions", json={"schema": _record("B")})
    assert full.status_code == 422
    assert "No schema id is left" in full.json()["message"]


def test_a_failed_write_answers_503_and_is_not_kept() -> None:
    storage = MemoryStorage()
    registry = ThreadedRegistry(storage).start()
    try:
        with httpx.Client(base_url=registry.url, timeout=30) as http:
            assert (
                http.post("/subjects/a-value/versions", json={"schema": _record("A")}).json()["id"]
                == 1
            )
            storage.fail_next(OSError("disk on fire: internal detail"))
            failed = http.post("/subjects/b-value/versions", json={"schema": _record("B")})
            assert failed.status_code == 503
            body = failed.json()
            assert body["error_code"] == 50001
            assert "not stored" in body["message"]
            assert "retry" in body["message"]
            assert "disk on fire" not in body["message"]
            # The failed registration is gone from the state (re-read from the log), and the
            # next one gets the id the failed one would have had.
            assert http.get("/subjects").json() == ["a-value"]
            assert http.get("/schemas/ids/2").status_code == 404
            again = http.post("/subjects/b-value/versions", json={"schema": _record("B")})
            assert again.status_code == 200
            assert again.json()["id"] == 2
            assert len(storage.records) == 2
    finally:
        registry.stop()


def test_a_storage_error_becomes_a_store_error_not_internal_text() -> None:
    storage = MemoryStorage()
    registry = ThreadedRegistry(storage).start()
    try:
        with httpx.Client(base_url=registry.url, timeout=30) as http:
            storage.fail_next(TimeoutError())
            failed = http.put("/config", json={"compatibility": "NONE"})
            assert failed.status_code == 503
            assert failed.json()["error_code"] == 50001
            assert http.get("/config").json()["compatibilityLevel"] == "BACKWARD"
    finally:
        registry.stop()
