"""Confluent's DEK Registry API, checked with confluent-kafka's own ``DekRegistryClient``."""

from __future__ import annotations

import base64

import httpx
import pytest
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.rules.encryption.dek_registry.dek_registry_client import (
    DekAlgorithm,
    DekRegistryClient,
)

from streams.local import PlatformInfo
from streams.registry import KafkaStorage
from tests.registry.conftest import ThreadedRegistry

WRAPPED = base64.b64encode(b"wrapped key bytes").decode()
KEKS = "/dek-registry/v1/keks"


def _error(http: httpx.Client, method: str, path: str, **kwargs: object) -> tuple[int, int, str]:
    answer = http.request(method, path, **kwargs)  # type: ignore[arg-type]
    body = answer.json()
    return answer.status_code, body["error_code"], body["message"]


def test_kek_and_dek_round_trip(memory_registry: ThreadedRegistry) -> None:
    with (
        DekRegistryClient({"url": memory_registry.url}) as client,
        DekRegistryClient({"url": memory_registry.url}) as fresh,  # nothing cached
    ):
        _round_trip(memory_registry, client, fresh)


def _round_trip(
    memory_registry: ThreadedRegistry, client: DekRegistryClient, fresh: DekRegistryClient
) -> None:
    kek = client.register_kek("orders-kek", "local-kms", "key-1", doc="for orders")
    assert (kek.name, kek.kms_type, kek.kms_key_id, kek.shared) == (
        "orders-kek",
        "local-kms",
        "key-1",
        False,
    )
    assert kek.ts is not None
    assert fresh.get_kek("orders-kek").kms_key_id == "key-1"
    dek = client.register_dek("orders-kek", "shop.orders.v1-value", WRAPPED)
    assert (dek.subject, dek.version, dek.algorithm) == (
        "shop.orders.v1-value",
        1,
        DekAlgorithm.AES256_GCM,
    )
    got = fresh.get_dek("orders-kek", "shop.orders.v1-value")
    assert got.encrypted_key_material == WRAPPED
    assert got.key_material is None  # the registry never holds a key in the clear
    with pytest.raises(SchemaRegistryError) as missing:
        fresh.get_dek("orders-kek", "shop.orders.v1-value", version=2)
    assert (missing.value.http_status_code, missing.value.error_code) == (404, 40470)
    with pytest.raises(SchemaRegistryError) as unknown:
        fresh.get_kek("nope")
    assert (unknown.value.http_status_code, unknown.value.error_code) == (404, 40470)
    with httpx.Client(base_url=memory_registry.url) as http:
        assert http.get(KEKS).json() == ["orders-kek"]
        assert http.get(f"{KEKS}/orders-kek/deks").json() == ["shop.orders.v1-value"]
        versions = http.get(f"{KEKS}/orders-kek/deks/shop.orders.v1-value/versions")
        assert versions.json() == [1]
        latest = http.get(f"{KEKS}/orders-kek/deks/shop.orders.v1-value/versions/latest")
        assert latest.json()["encryptedKeyMaterial"] == WRAPPED


def test_conflicts_and_bad_keys(memory_registry: ThreadedRegistry) -> None:
    body = {"name": "k", "kmsType": "local-kms", "kmsKeyId": "id"}
    with httpx.Client(base_url=memory_registry.url) as http:
        assert http.post(KEKS, json=body).status_code == 200
        assert _error(http, "POST", KEKS, json=body)[:2] == (409, 40971)
        status, code, message = _error(http, "POST", KEKS, json={**body, "name": "9k"})
        assert (status, code) == (422, 42271)
        assert "must start with a letter" in message
        assert _error(http, "POST", KEKS, json={"name": "j", "kmsType": "x"})[:2] == (422, 42271)
        dek = {"subject": "s-value", "encryptedKeyMaterial": WRAPPED}
        assert http.post(f"{KEKS}/k/deks", json=dek).status_code == 200  # the older route
        assert _error(http, "POST", f"{KEKS}/k/deks/s-value", json=dek)[:2] == (409, 40971)
        no_material = _error(http, "POST", f"{KEKS}/k/deks/t-value", json={})
        assert no_material[:2] == (422, 42271)
        assert "encryptedKeyMaterial" in no_material[2]
        assert _error(http, "POST", f"{KEKS}/nope/deks/s-value", json=dek)[:2] == (404, 40470)
        # a shared KEK needs the registry to hold the KMS, which this one never does
        http.post(KEKS, json={**body, "name": "shared", "shared": True})
        shared = _error(http, "POST", f"{KEKS}/shared/deks/s-value", json={})
        assert shared[:2] == (500, 50070)


def test_deletes_follow_confluent(memory_registry: ThreadedRegistry) -> None:
    dek = {"encryptedKeyMaterial": WRAPPED}
    with httpx.Client(base_url=memory_registry.url) as http:
        http.post(KEKS, json={"name": "k", "kmsType": "local-kms", "kmsKeyId": "id"})
        http.post(f"{KEKS}/k/deks/s-value", json=dek)
        http.post(f"{KEKS}/k/deks/s-value", json={**dek, "version": 2})
        # the KEK still has data keys
        assert _error(http, "DELETE", f"{KEKS}/k")[:2] == (422, 42272)
        # permanent before soft
        assert _error(http, "DELETE", f"{KEKS}/k/deks/s-value?permanent=true")[:2] == (404, 40471)
        assert http.delete(f"{KEKS}/k/deks/s-value/versions/2").status_code == 204
        assert http.get(f"{KEKS}/k/deks/s-value/versions").json() == [1]
        assert http.get(f"{KEKS}/k/deks/s-value/versions?deleted=true").json() == [1, 2]
        assert http.post(f"{KEKS}/k/deks/s-value/versions/2/undelete").status_code == 204
        assert http.delete(f"{KEKS}/k/deks/s-value").status_code == 204
        assert http.get(f"{KEKS}/k/deks").json() == []
        assert http.delete(f"{KEKS}/k").status_code == 204
        assert http.get(f"{KEKS}/k").status_code == 404
        assert http.get(f"{KEKS}/k?deleted=true").json()["deleted"] is True
        # a data key cannot come back while its KEK is deleted
        undelete = _error(http, "POST", f"{KEKS}/k/deks/s-value/undelete")
        assert undelete[:2] == (404, 40472)
        assert http.delete(f"{KEKS}/k/deks/s-value?permanent=true").status_code == 204
        assert http.delete(f"{KEKS}/k?permanent=true").status_code == 204
        assert http.get(f"{KEKS}/k?deleted=true").status_code == 404


def test_keys_survive_a_restart(platform: PlatformInfo, registry_topic: str) -> None:
    storage = KafkaStorage(bootstrap_servers=platform.bootstrap_servers, topic=registry_topic)
    registry = ThreadedRegistry(storage).start()
    try:
        with DekRegistryClient({"url": registry.url}) as client:
            client.register_kek("k", "local-kms", "id")
            client.register_dek("k", "s-value", WRAPPED)
    finally:
        registry.stop()
    storage = KafkaStorage(bootstrap_servers=platform.bootstrap_servers, topic=registry_topic)
    again = ThreadedRegistry(storage).start()
    try:
        with DekRegistryClient({"url": again.url}) as client:
            assert client.get_kek("k").kms_key_id == "id"
            assert client.get_dek("k", "s-value").encrypted_key_material == WRAPPED
    finally:
        again.stop()
