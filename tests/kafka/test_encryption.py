"""Confluent field-level encryption (ENCRYPT rules, local KMS) read and written both ways:
confluent-kafka's AvroSerializer/AvroDeserializer with its own FieldEncryptionExecutor, and our
Producer/Consumer."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from confluent_kafka import Producer as RawProducer
from confluent_kafka.schema_registry import (
    Rule,
    RuleKind,
    RuleMode,
    RuleParams,
    RuleSet,
    Schema,
    SchemaRegistryClient,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.rule_registry import RuleRegistry

# confluent's own executor (Tink): the 'contracts' extra, part of 'dev'
from confluent_kafka.schema_registry.rules.encryption.encrypt_executor import (
    FieldEncryptionExecutor,
)
from confluent_kafka.schema_registry.rules.encryption.localkms.local_driver import LocalKmsDriver
from confluent_kafka.serialization import MessageField, SerializationContext
from pydantic import SecretStr

from streams.config import Settings
from streams.kafka import Consumer, Producer
from streams.local import PlatformInfo
from streams.naming import ProductRef
from tests.helpers.kafka import Product, create_topic, drain

SECRET = "mesh-local-kms-secret"
EMAIL = "alice@example.com"
NICK = "alice"
CUSTOMER = {
    "type": "record",
    "name": "Customer",
    "namespace": "crm",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "email", "type": "string", "confluent:tags": ["PII"]},
        {"name": "nick", "type": ["null", "string"], "default": None, "confluent:tags": ["PII"]},
        {"name": "visits", "type": "int"},
    ],
}


def _rules(kek: str, on_failure: str = "ERROR") -> RuleSet:
    params = {
        "encrypt.kek.name": kek,
        "encrypt.kms.type": "local-kms",
        "encrypt.kms.key.id": "mykey",
    }
    encrypt = Rule(
        "encrypt-pii",
        None,
        RuleKind.TRANSFORM,
        RuleMode.WRITEREAD,
        "ENCRYPT",
        ["PII"],
        RuleParams(params),
        None,
        None,
        on_failure,
        False,
    )
    return RuleSet(None, [encrypt])


@dataclass
class Encrypted:
    ref: ProductRef
    registry: SchemaRegistryClient
    bootstrap: str
    settings: Settings  # with the local KMS secret
    kek: str


@pytest.fixture
def encrypted(platform: PlatformInfo, settings: Settings) -> Iterator[Encrypted]:
    ref = ProductRef(domain=f"t{uuid.uuid4().hex[:10]}", name="customers")
    create_topic(platform.bootstrap_servers, ref.topic)
    kek = f"kek-{uuid.uuid4().hex[:8]}"
    registry_settings = settings.registry.model_copy(update={"local_kms_secret": SecretStr(SECRET)})
    with SchemaRegistryClient(platform.registry_conf()) as registry:
        schema = Schema(json.dumps(CUSTOMER), "AVRO", rule_set=_rules(kek, "ERROR,NONE"))
        registry.register_schema(ref.subject, schema)
        yield Encrypted(
            ref,
            registry,
            platform.bootstrap_servers,
            settings.model_copy(update={"registry": registry_settings}),
            kek,
        )


def _rule_registry() -> RuleRegistry:
    LocalKmsDriver.register()
    rules = RuleRegistry()
    rules.register_executor(FieldEncryptionExecutor())
    return rules


def _customer(n: int) -> dict[str, object]:
    return {"id": f"c{n}", "email": EMAIL, "nick": NICK if n % 2 else None, "visits": n}


def test_confluents_serializer_writes_and_our_consumer_decrypts(encrypted: Encrypted) -> None:
    serializer = AvroSerializer(
        encrypted.registry,
        json.dumps(CUSTOMER),
        conf={"auto.register.schemas": False, "use.latest.version": True},
        rule_conf={"secret": SECRET},
        rule_registry=_rule_registry(),
    )
    ctx = SerializationContext(encrypted.ref.topic, MessageField.VALUE)
    producer = RawProducer({"bootstrap.servers": encrypted.bootstrap})
    values = [serializer(_customer(n), ctx) for n in range(4)]
    for value in values:
        assert EMAIL.encode() not in value  # encrypted on the wire
        producer.produce(encrypted.ref.topic, value)
    producer.flush(10)
    serializer.close()
    with Consumer(
        encrypted.ref, group_id=None, from_beginning=True, settings=encrypted.settings
    ) as consumer:
        events = drain(consumer, 4)
    assert [e.value for e in events] == [_customer(n) for n in range(4)]


def test_our_producer_writes_and_confluents_deserializer_decrypts(encrypted: Encrypted) -> None:
    with Producer(settings=encrypted.settings, domain=encrypted.ref.domain) as producer:
        for n in range(4):
            producer.emit(encrypted.ref, _customer(n), key=f"c{n}")
    raw = Product(encrypted.ref, encrypted.settings, encrypted.registry, encrypted.bootstrap)
    messages = raw.read_raw()
    assert len(messages) == 4
    deserializer = AvroDeserializer(
        encrypted.registry, rule_conf={"secret": SECRET}, rule_registry=_rule_registry()
    )
    ctx = SerializationContext(encrypted.ref.topic, MessageField.VALUE)
    plain = AvroDeserializer(encrypted.registry)  # no rules: sees what is on the wire
    for n, message in enumerate(messages):
        assert EMAIL.encode() not in message.value()
        assert deserializer(message.value(), ctx) == _customer(n)
        wire = plain(message.value(), ctx)
        assert wire["id"] == f"c{n}"
        assert wire["email"] != EMAIL
    deserializer.close()
    # And our own consumer reads our own writes.
    with Consumer(
        encrypted.ref, group_id=None, from_beginning=True, settings=encrypted.settings
    ) as consumer:
        assert [e.value for e in drain(consumer, 4)] == [_customer(n) for n in range(4)]


def test_without_the_kms_secret_the_rule_decides_ciphertext(encrypted: Encrypted) -> None:
    with Producer(settings=encrypted.settings, domain=encrypted.ref.domain) as producer:
        producer.emit(encrypted.ref, _customer(1), key="c1")
    # onFailure "ERROR,NONE": a reader without the key gets the ciphertext, not an error.
    with Consumer(
        encrypted.ref,
        group_id=None,
        from_beginning=True,
        settings=encrypted.settings.model_copy(
            update={
                "registry": encrypted.settings.registry.model_copy(
                    update={"local_kms_secret": None}
                )
            }
        ),
    ) as consumer:
        (event,) = drain(consumer, 1)
    assert event.value["id"] == "c1"
    assert event.value["email"] != EMAIL
    assert event.value["nick"] != NICK
