"""Metadata and config values are checked against Confluent's model (string maps, string lists,
booleans) and refused with a 422 naming the field, never stored for clients to trip over."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.schema_registry_client import Metadata

from tests.registry.conftest import ThreadedRegistry


@pytest.fixture
def http(memory_registry: ThreadedRegistry) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=memory_registry.url, timeout=30) as client:
        yield client


@pytest.mark.parametrize(
    ("metadata", "where"),
    [
        ({"properties": {"a": [1]}}, "metadata.properties.a"),
        ({"properties": {"a": 5}}, "metadata.properties.a"),
        ({"properties": ["a"]}, "metadata.properties"),
        ({"tags": {"a": "x"}}, "metadata.tags.a"),
        ({"tags": {"a": [1]}}, "metadata.tags.a.0"),
        ({"sensitive": "a"}, "metadata.sensitive"),
        ({"sensitive": [{"a": 1}]}, "metadata.sensitive.0"),
    ],
)
def test_metadata_of_the_wrong_type_is_refused(
    http: httpx.Client, metadata: dict[str, Any], where: str
) -> None:
    answer = http.post("/subjects/m-value/versions", json={"schema": '"int"', "metadata": metadata})
    assert answer.status_code == 422
    body = answer.json()
    assert body["error_code"] == 42201
    assert where in body["message"]
    assert http.get("/subjects").json() == []


def test_valid_metadata_reads_back_through_confluents_client(
    http: httpx.Client, memory_registry: ThreadedRegistry
) -> None:
    metadata = {"properties": {"owner": "x"}, "tags": {"f": ["PII"]}, "sensitive": ["s"]}
    stored = http.post("/subjects/m-value/versions", json={"schema": '"int"', "metadata": metadata})
    assert stored.status_code == 200, stored.text
    with SchemaRegistryClient({"url": memory_registry.url}) as client:
        version = client.get_version("m-value", 1)
    assert isinstance(version.schema, Schema)
    assert isinstance(version.schema.metadata, Metadata)
    assert version.schema.metadata.properties.properties == {"owner": "x"}


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"compatibilityGroup": 5}, "compatibilityGroup"),
        ({"normalize": "yes"}, "normalize"),
        ({"validateFields": 1}, "validateFields"),
        ({"alias": ["x"]}, "alias"),
        ({"compatibility": "BACKWARD", "normalize": "true"}, "normalize"),
    ],
)
def test_config_values_of_the_wrong_type_are_refused(
    http: httpx.Client, config: dict[str, Any], field: str
) -> None:
    answer = http.put("/config/x", json=config)
    assert answer.status_code == 422
    body = answer.json()
    assert body["error_code"] == 42203
    assert field in body["message"]
    assert http.get("/config/x").status_code == 404  # nothing stored


def test_config_values_of_the_right_type_are_stored(http: httpx.Client) -> None:
    config = {"compatibilityGroup": "app", "normalize": True, "validateFields": False, "alias": "y"}
    answer = http.put("/config/x", json=config)
    assert answer.status_code == 200, answer.text
    assert http.get("/config/x").json() == config
