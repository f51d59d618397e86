"""`mesh product apply` registers the descriptor's quality rules as Confluent CEL conditions:
confluent's own serializer is held to them (a bad record goes to the dead-letter topic and is
refused), and emit enforces the same rules."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.rule_registry import RuleRegistry
from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor
from confluent_kafka.schema_registry.rules.dlq.dlq_action import DlqAction
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

from streams.catalog import apply, plan
from streams.errors import SerializationError as EmitRefused
from streams.kafka import Producer
from tests.catalog import test_plan_apply
from tests.catalog._repo import PLAY_EVENT
from tests.catalog.test_plan_apply import Repo, actions

repo = test_plan_apply.repo  # the fixture: a fresh domain's PlayEvent product per test


def _read_all(bootstrap: str, topic: str, *, count: int) -> list[Any]:
    """``count`` messages from every partition of ``topic`` (the DLQ action spreads them)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "raw-dlq"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        found: list[Any] = []
        deadline = time.monotonic() + 30
        while len(found) < count and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                found.append(message)
        return found
    finally:
        consumer.close()


def _play(**changes: Any) -> dict[str, Any]:
    event = {
        "event_id": "e1",
        "event_time": 1_700_000_000_000,
        "user_id": "u1",
        "device": "IOS",
        "ms_played": 1000,
        "context": {"playlist_id": "p1"},
    }
    return {**event, **changes}


def test_apply_registers_the_quality_rules_as_cel_conditions(repo: Repo) -> None:
    apply(repo.load(), settings=repo.settings)
    registered = repo.registry.get_latest_version(repo.subject).schema
    assert registered.rule_set is not None
    rules = [rule.to_dict() for rule in registered.rule_set.domain_rules]
    # unique is measured over events, not a per-event rule: three rules of four
    assert [r["name"] for r in rules] == [
        "quality-0-not_null-context_playlist_id",
        "quality-1-range-ms_played",
        "quality-2-allowed_values-device",
    ]
    for rule in rules:
        assert (rule["kind"], rule["type"], rule["mode"]) == ("CONDITION", "CEL", "WRITE")
        assert (rule["onSuccess"], rule["onFailure"]) == ("NONE", "DLQ")
        assert rule["params"]["dlq.topic"] == repo.dlq
    # the registered contract is what the descriptor says: nothing left to do
    assert "register-schema" not in [
        a for a, _ in actions(plan(repo.load(), settings=repo.settings))
    ]
    # a changed rule is a new version with the new contract
    repo.write(quality=[{"rule": "range", "field": "ms_played", "min": 0, "max": 10}])
    assert ("register-schema", repo.subject) in actions(plan(repo.load(), settings=repo.settings))
    apply(repo.load(), settings=repo.settings)
    assert repo.registry.get_versions(repo.subject) == [1, 2]
    latest = repo.registry.get_version(repo.subject, 2)
    assert [r.name for r in latest.schema.rule_set.domain_rules] == ["quality-0-range-ms_played"]


def test_confluents_serializer_is_held_to_the_rules(repo: Repo) -> None:
    apply(repo.load(), settings=repo.settings)
    rules = RuleRegistry()
    rules.register_executor(CelExecutor())
    dlq = DlqAction(
        {"bootstrap.servers": repo.settings.kafka.bootstrap_servers, "dlq.auto.flush": True}
    )
    rules.register_action(dlq)
    serializer = AvroSerializer(
        repo.registry,
        json.dumps(PLAY_EVENT),
        conf={"auto.register.schemas": False, "use.latest.version": True},
        rule_registry=rules,
    )
    ctx = SerializationContext(repo.topic, MessageField.VALUE)
    try:
        assert serializer(_play(), ctx)  # a good record is written
        with pytest.raises(SerializationError, match="quality-1-range-ms_played"):
            serializer(_play(ms_played=-5), ctx)
        with pytest.raises(SerializationError, match="quality-2-allowed_values-device"):
            serializer(_play(device="TV"), ctx)
    finally:
        serializer.close()
        dlq.close()
    letters = _read_all(repo.settings.kafka.bootstrap_servers, repo.dlq, count=2)
    assert sorted(dict(m.headers())["__rule.name"] for m in letters) == [
        b"quality-1-range-ms_played",
        b"quality-2-allowed_values-device",
    ]


def test_emit_enforces_the_same_rules(repo: Repo) -> None:
    apply(repo.load(), settings=repo.settings)
    product = f"{repo.domain}.play_events"
    with Producer(settings=repo.settings) as producer:
        producer.emit(product, _play(), key="u1")
        with pytest.raises(EmitRefused) as refused:
            producer.emit(product, _play(ms_played=-5), key="u1")
        assert refused.value.path == "ms_played"
        assert "ms_played = -5 breaks range [0, 8.64e+07]" in str(refused.value)
        with pytest.raises(EmitRefused) as missing:
            producer.emit(product, _play(context=None), key="u1")
        assert "context.playlist_id = None breaks not_null" in str(missing.value)
        with pytest.raises(EmitRefused, match="device = 'TV' breaks allowed_values"):
            producer.emit(product, _play(device="TV"), key="u1")
    assert producer.sent == 1


def _latest_rules(repo: Repo) -> Any:
    # get_latest_version is cached by the client; a numbered version is not.
    latest = max(repo.registry.get_versions(repo.subject))
    return repo.registry.get_version(repo.subject, latest).schema.rule_set


def test_apply_keeps_rules_it_did_not_make(repo: Repo) -> None:
    # An ENCRYPT rule added with Confluent's tools is not the descriptor's to drop.
    from confluent_kafka.schema_registry import Rule, RuleSet, Schema

    apply(repo.load(), settings=repo.settings)
    latest = repo.registry.get_latest_version(repo.subject).schema
    encrypt = Rule.from_dict(
        {
            "name": "encrypt-pii",
            "kind": "TRANSFORM",
            "mode": "WRITEREAD",
            "type": "ENCRYPT",
            "tags": ["PII"],
            "params": {"encrypt.kek.name": "k1"},
        }
    )
    rules = RuleSet(migration_rules=[], domain_rules=[*latest.rule_set.domain_rules, encrypt])
    repo.registry.register_schema(repo.subject, Schema(latest.schema_str, "AVRO", rule_set=rules))
    repo.write(quality=[{"rule": "range", "field": "ms_played", "min": 0, "max": 10}])
    apply(repo.load(), settings=repo.settings)
    after = _latest_rules(repo)
    assert [r.name for r in after.domain_rules] == ["encrypt-pii", "quality-0-range-ms_played"]


def test_removing_the_quality_rules_removes_them_from_the_registry(repo: Repo) -> None:
    apply(repo.load(), settings=repo.settings)
    repo.write(quality=[])
    apply(repo.load(), settings=repo.settings)
    after = _latest_rules(repo)
    assert after is None or not after.domain_rules
    assert actions(plan(repo.load(), settings=repo.settings)) == []


def test_dead_lettering_producers_send_a_breaking_event_to_the_dlq(repo: Repo) -> None:
    # The rules' DLQ action, as the agents use it: the event is kept, with the broken rule.
    apply(repo.load(), settings=repo.settings)
    product = f"{repo.domain}.play_events"
    with Producer(settings=repo.settings, rule_failures="dead-letter") as producer:
        producer.emit(product, _play(ms_played=-5), key="u1")
        producer.emit(product, _play(), key="u2")
        assert producer.rule_failures == 1
    [letter] = _read_all(repo.settings.kafka.bootstrap_servers, repo.dlq, count=1)
    headers = dict(letter.headers())
    assert headers["dlq.reason"] == b"quality"
    assert b"ms_played = -5 breaks range" in headers["dlq.error"]
    # user_id is pseudonymized ("pii"), in the Kafka key too: a dead letter keeps no raw id.
    assert letter.key().startswith(b"ps1:")
