"""Protected records on a real broker: keys published before the records, read back from
``_mesh.keys``, and a forgotten subject unreadable while the others stay readable."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer as RawProducer
from confluent_kafka.schema_registry import SchemaRegistryClient

from streams.access import (
    KEYS_TOPIC,
    FieldProtection,
    KeyGate,
    KeyStore,
    LocalKeyProvider,
    Pseudonymizer,
    local_pseudonym_key,
)
from streams.avro import parse_schema
from streams.config import Settings
from streams.kafka import Consumer, Producer
from streams.local import PlatformInfo
from streams.naming import ProductRef
from tests.access._schemas import UUID_TYPE, event
from tests.helpers.kafka import Product, create_topic, drain

ADA, BOB, EVE = (str(uuid.UUID(int=n)) for n in (1, 2, 3))
SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "PlayEvent",
    "namespace": "music.player",
    "fields": [
        {"name": "event_id", "type": "string"},
        {"name": "user_id", "type": UUID_TYPE, "pii": "pseudonymize"},
        {"name": "email", "type": "string", "pii": "encrypt"},
        {"name": "display_name", "type": ["null", "string"], "default": None, "pii": "encrypt"},
        {"name": "photo", "type": ["null", "bytes"], "default": None, "pii": "encrypt"},
        {"name": "country", "type": "string"},
    ],
}


@pytest.fixture
def registrations(platform: PlatformInfo, settings: Settings) -> Iterator[Product]:
    """A fresh product topic whose registered schema protects its personal fields."""
    ref = ProductRef(domain=f"t{uuid.uuid4().hex[:10]}", name="registrations")
    create_topic(platform.bootstrap_servers, ref.topic)
    with SchemaRegistryClient(platform.registry_conf()) as registry:
        found = Product(ref, settings, registry, platform.bootstrap_servers)
        found.register(SCHEMA)
        yield found


def _emit(product: Product, settings: Settings, state: Path, users: list[str]) -> FieldProtection:
    """Emit one protected event per user (in order) through the gate; returns the protection."""
    pseudonyms = Pseudonymizer(local_pseudonym_key(state))
    provider = LocalKeyProvider.in_state_dir(state)
    protection = FieldProtection(
        parse_schema(json.dumps(SCHEMA)), product=product.ref.id, pseudonymizer=pseudonyms
    )
    KeyStore(settings.kafka, provider=provider).ensure_topic()
    keys = RawProducer(settings.kafka.librdkafka(enable_idempotence=True, linger_ms=5))
    gate = KeyGate(keys, provider=provider)
    producer = Producer(settings=settings, domain=product.ref.domain)
    for n, user in enumerate(users):
        protected = protection.protect(event(user, event_id=f"e-{n}"))
        value = protected.value

        def send(value: dict[str, Any] = value) -> None:
            producer.emit(product.ref, value, key=value["user_id"])

        gate.send(protected.key, protected.new, send)
    gate.flush()
    assert keys.flush(10) == 0
    producer.flush()
    producer.close()
    return protection


def _read(product: Product, settings: Settings, count: int) -> list[dict[str, Any]]:
    consumer = Consumer(
        product.ref, group_id=f"g-{uuid.uuid4().hex}", settings=settings, from_beginning=True
    )
    try:
        return [item.value for item in drain(consumer, count)]
    finally:
        consumer.close()


def test_protected_records_read_back_and_a_forgotten_subject_is_unreadable(
    registrations: Product, settings: Settings, tmp_path: Path
) -> None:
    product = registrations
    users = [ADA, BOB, ADA, EVE, BOB, ADA]
    protection = _emit(product, settings, tmp_path, users)
    stored = _read(product, settings, len(users))
    assert len(stored) == len(users)
    assert all(value["email"].startswith("enc1:") for value in stored)
    assert ADA not in json.dumps(stored, default=str)

    provider = LocalKeyProvider.in_state_dir(tmp_path)
    store = KeyStore(settings.kafka, provider=provider)
    store.refresh()
    mine = {kid for kid in store.ids() if kid.startswith(product.ref.id + "/")}
    assert len(mine) == 3  # one key per data subject
    revealed = [protection.reveal(value, store.get) for value in stored]
    assert [value["email"] for value in revealed] == [event(user)["email"] for user in users]
    assert {value["photo"] for value in revealed} == {event(ADA)["photo"]}

    pseudonyms = Pseudonymizer(local_pseudonym_key(tmp_path))
    forgotten = store.forget(ADA, pseudonymizer=pseudonyms)
    assert len(forgotten) == 1
    assert forgotten[0].startswith(product.ref.id + "/")

    # Any reader, from the log again (a replay): Ada's fields are gone, the others' stay.
    later = KeyStore(settings.kafka, provider=provider)
    later.refresh()
    assert forgotten[0] not in later.ids()
    again = [
        protection.reveal(value, later.get, missing="null")
        for value in _read(product, settings, len(users))
    ]
    for user, value in zip(users, again, strict=True):
        if user == ADA:
            assert value["email"] is None
            assert value["display_name"] is None
            assert value["photo"] is None
        else:
            assert value["email"] == event(user)["email"]
        assert value["country"] == "SE"
    assert store.forget(ADA, pseudonymizer=pseudonyms) == []


def test_keys_of_another_kek_do_not_unwrap(
    registrations: Product, settings: Settings, tmp_path: Path
) -> None:
    product = registrations
    protection = _emit(product, settings, tmp_path, [ADA])
    (stored,) = _read(product, settings, 1)
    stranger = KeyStore(settings.kafka, provider=LocalKeyProvider(tmp_path / "other.json"))
    stranger.refresh()
    assert protection.key_ids(stored) <= stranger.ids()
    value = protection.reveal(stored, stranger.get)
    assert value["email"] == stored["email"]  # the ciphertext, no exception
    assert KEYS_TOPIC == "_mesh.keys"
