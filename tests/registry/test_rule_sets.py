"""Data contracts: the registry stores and serves ``ruleSet`` and ``metadata`` as Confluent does,
checked with confluent-kafka's own ``SchemaRegistryClient``."""

from __future__ import annotations

import json

import httpx
import pytest
from confluent_kafka.schema_registry import (
    Metadata,
    MetadataProperties,
    MetadataTags,
    Rule,
    RuleKind,
    RuleMode,
    RuleParams,
    RuleSet,
    Schema,
    SchemaRegistryClient,
)
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streams.registry import KafkaStorage
from tests.registry.conftest import ThreadedRegistry

TEXT = json.dumps(
    {
        "type": "record",
        "name": "Customer",
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "email", "type": "string", "confluent:tags": ["PII"]},
        ],
    }
)


def _encrypt_rule(kek: str = "k1") -> Rule:
    return Rule(
        "encrypt-pii",
        None,
        RuleKind.TRANSFORM,
        RuleMode.WRITEREAD,
        "ENCRYPT",
        ["PII"],
        RuleParams({"encrypt.kek.name": kek, "encrypt.kms.type": "local-kms"}),
        None,
        None,
        "ERROR,NONE",
        False,
    )


def _rules(kek: str = "k1") -> RuleSet:
    return RuleSet(None, [_encrypt_rule(kek)])


def _metadata() -> Metadata:
    return Metadata(
        MetadataTags({"Customer.email": ["PII"]}),
        MetadataProperties({"owner": "crm"}),
        None,
    )


def _check_contract(client: SchemaRegistryClient, subject: str, schema_id: int) -> None:
    by_id = client.get_schema(schema_id)
    assert by_id.rule_set is not None
    assert [r.name for r in by_id.rule_set.domain_rules] == ["encrypt-pii"]
    rule = by_id.rule_set.domain_rules[0]
    assert (rule.kind, rule.mode, rule.type, rule.tags) == (
        RuleKind.TRANSFORM,
        RuleMode.WRITEREAD,
        "ENCRYPT",
        ["PII"],
    )
    assert rule.params.params == {"encrypt.kek.name": "k1", "encrypt.kms.type": "local-kms"}
    assert rule.on_failure == "ERROR,NONE"
    assert by_id.metadata is not None
    assert by_id.metadata.properties.properties == {"owner": "crm"}
    latest = client.get_latest_version(subject)
    assert latest.schema.rule_set == by_id.rule_set
    assert latest.schema.metadata == by_id.metadata
    version = client.get_version(subject, latest.version)
    assert version.schema.rule_set == by_id.rule_set
    found = client.get_latest_with_metadata(subject, {"owner": "crm"})
    assert found.schema_id == schema_id
    assert found.schema.rule_set == by_id.rule_set


def test_rule_set_and_metadata_round_trip(memory_registry: ThreadedRegistry) -> None:
    subject = "crm.customers.v1-value"
    with SchemaRegistryClient({"url": memory_registry.url}) as client:
        schema = Schema(TEXT, "AVRO", rule_set=_rules(), metadata=_metadata())
        schema_id = client.register_schema(subject, schema)
        _check_contract(client, subject, schema_id)
        # lookup (POST /subjects/{s}) finds the version with the same rule set
        found = client.lookup_schema(subject, schema)
        assert (found.schema_id, found.version) == (schema_id, 1)
        served = client.get_schema(schema_id).rule_set
        assert found.schema.rule_set.domain_rules == served.domain_rules


def test_another_rule_set_is_a_new_version_and_id(memory_registry: ThreadedRegistry) -> None:
    subject = "crm.customers.v1-value"
    with SchemaRegistryClient({"url": memory_registry.url}) as client:
        first = client.register_schema(subject, Schema(TEXT, "AVRO", rule_set=_rules("k1")))
        # Same text, same rules: the same version.
        assert client.register_schema(subject, Schema(TEXT, "AVRO", rule_set=_rules("k1"))) == first
        second = client.register_schema(subject, Schema(TEXT, "AVRO", rule_set=_rules("k2")))
        assert second != first
        assert client.get_versions(subject) == [1, 2]
        # Without a rule set, a registration keeps the latest version's rules (no new version).
        with httpx.Client(base_url=memory_registry.url) as http:
            answer = http.post(f"/subjects/{subject}/versions", json={"schema": TEXT})
            assert answer.json()["id"] == second
            served = http.get(f"/schemas/ids/{second}").json()
        assert served["ruleSet"]["domainRules"][0]["params"]["encrypt.kek.name"] == "k2"
        assert client.get_versions(subject) == [1, 2]


def test_rules_are_normalised_like_confluent(memory_registry: ThreadedRegistry) -> None:
    bare = {"name": "r", "type": "CEL", "expr": "true", "tags": ["b", "a", "b"]}
    with httpx.Client(base_url=memory_registry.url) as http:
        answer = http.post(
            "/subjects/s/versions", json={"schema": TEXT, "ruleSet": {"domainRules": [bare]}}
        )
        assert answer.status_code == 200, answer.text
        rule = http.get("/subjects/s/versions/1").json()["ruleSet"]["domainRules"][0]
    assert rule == {
        "name": "r",
        "kind": "TRANSFORM",
        "mode": "WRITEREAD",
        "type": "CEL",
        "tags": ["a", "b"],
        "expr": "true",
        "disabled": False,
    }


def test_an_unknown_rule_kind_is_refused(memory_registry: ThreadedRegistry) -> None:
    bad = {"name": "r", "type": "CEL", "kind": "CHECK"}
    with httpx.Client(base_url=memory_registry.url) as http:
        answer = http.post(
            "/subjects/s/versions", json={"schema": TEXT, "ruleSet": {"domainRules": [bad]}}
        )
    assert answer.status_code == 422
    assert answer.json()["error_code"] == 42210
    assert "domainRules[0].kind is 'CHECK'; use one of CONDITION, TRANSFORM" in answer.text


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"type": "CEL"}, "Missing rule name"),
        ({"name": "9x", "type": "CEL"}, "Illegal initial character in rule name: 9x"),
        ({"name": "x"}, "Missing rule type"),
        ({"name": "x", "type": "CEL", "mode": "UPGRADE"}, "Domain rules can only be"),
        ({"name": "x", "type": "CEL", "mode": "WRITE", "onFailure": "DLQ,NONE"}, "Multiple"),
    ],
)
def test_bad_rules_are_refused(
    memory_registry: ThreadedRegistry, rule: dict[str, object], message: str
) -> None:
    with SchemaRegistryClient({"url": memory_registry.url}) as client:
        schema = Schema(TEXT, "AVRO", rule_set=RuleSet.from_dict({"domainRules": [rule]}))
        with pytest.raises(SchemaRegistryError) as caught:
            client.register_schema("s", schema)
    assert caught.value.http_status_code == 422
    assert caught.value.error_code == 42210
    assert message in caught.value.error_message


def test_rule_sets_survive_a_restart(platform: object, registry_topic: str) -> None:
    bootstrap = platform.bootstrap_servers  # type: ignore[attr-defined]
    subject = "crm.customers.v1-value"
    registry = ThreadedRegistry(KafkaStorage(bootstrap_servers=bootstrap, topic=registry_topic))
    registry.start()
    try:
        with SchemaRegistryClient({"url": registry.url}) as client:
            schema = Schema(TEXT, "AVRO", rule_set=_rules(), metadata=_metadata())
            schema_id = client.register_schema(subject, schema)
    finally:
        registry.stop()
    again = ThreadedRegistry(KafkaStorage(bootstrap_servers=bootstrap, topic=registry_topic))
    again.start()
    try:
        with SchemaRegistryClient({"url": again.url}) as client:
            _check_contract(client, subject, schema_id)
    finally:
        again.stop()
