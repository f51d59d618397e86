"""``plan`` and ``apply`` against the session's embedded broker and registry.

Each test builds its own repository with a uuid domain, so topics, subjects and catalog keys
never collide with other tests.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient

from streams.catalog import (
    Change,
    LoadedProduct,
    apply,
    entry_key,
    load_products,
    plan,
)
from streams.catalog.store import CatalogStore
from streams.config import BrokerKind, Settings
from streams.errors import GovernanceError, IncompatibleSchemaError
from streams.governance import checked_apply
from tests.catalog._repo import DELETE, PLAY_EVENT, product, write_product, write_schema

RETENTION_MS = str(30 * 24 * 3600 * 1000)


@dataclass
class Repo:
    root: Path
    domain: str
    settings: Settings
    admin: AdminClient
    registry: SchemaRegistryClient

    @property
    def topic(self) -> str:
        return f"{self.domain}.play_events.v1"

    @property
    def dlq(self) -> str:
        return f"{self.topic}.dlq"

    @property
    def subject(self) -> str:
        return f"{self.topic}-value"

    def write(self, schema: dict[str, Any] | None = None, **changes: Any) -> None:
        write_schema(self.root, self.domain, schema or PLAY_EVENT)
        doc = product(
            domain=self.domain,
            outputPort__schema=f"schemas/{self.domain}/PlayEvent.avsc",
            **changes,
        )
        write_product(self.root, doc)

    def load(self) -> list[LoadedProduct]:
        return load_products(self.root)

    def partitions(self) -> dict[str, int]:
        topics = self.admin.list_topics(timeout=10).topics
        return {
            name: len(t.partitions) for name, t in topics.items() if name.startswith(self.topic)
        }

    def configs(self, topic: str) -> dict[str, str]:
        resource = ConfigResource("topic", topic)
        found = self.admin.describe_configs([resource])[resource].result(10)
        return {name: entry.value for name, entry in found.items()}

    def catalog(self) -> dict[str, Any]:
        store = CatalogStore(settings=self.settings)
        try:
            return {key: e for key, e in store.read().items() if key == self.topic}
        finally:
            store.close()


@pytest.fixture
def repo(tmp_path: Path, settings: Settings) -> Iterator[Repo]:
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    with SchemaRegistryClient(settings.registry.client_conf()) as registry:
        found = Repo(tmp_path, f"t{uuid.uuid4().hex[:10]}", settings, admin, registry)
        found.write()
        yield found
    # The broker keeps everything in memory for the whole session: drop what we made.
    made = list(found.partitions())
    if made:
        for future in admin.delete_topics(made).values():
            future.result(10)


def actions(changes: list[Change]) -> list[tuple[str, str]]:
    return [(change.action, change.target) for change in changes]


def test_change_to_dict_is_json_ready() -> None:
    change = Change("player.play_events.v1", "blocked", "t-value", "why", blocking=True)
    assert change.to_dict() == {
        "product": "player.play_events.v1",
        "action": "blocked",
        "target": "t-value",
        "detail": "why",
        "blocking": True,
    }


def test_plan_then_apply_then_nothing(repo: Repo) -> None:
    planned = plan(repo.load(), settings=repo.settings)
    assert actions(planned) == [
        ("create-topic", repo.topic),
        ("create-topic", repo.dlq),
        ("set-compatibility", repo.subject),
        ("register-schema", repo.subject),
        ("publish-descriptor", repo.topic),
    ]
    assert not any(change.blocking for change in planned)
    assert {change.product for change in planned} == {repo.topic}

    made: list[Change] = []
    result = apply(repo.load(), settings=repo.settings, on_change=made.append)
    assert list(result.changes) == planned == made
    assert result.published == (repo.topic,)

    assert repo.partitions() == {repo.topic: 6, repo.dlq: 6}
    for topic in (repo.topic, repo.dlq):
        configs = repo.configs(topic)
        assert configs["cleanup.policy"] == "delete"
        assert configs["retention.ms"] == RETENTION_MS
    latest = repo.registry.get_latest_version(repo.subject)
    assert repo.registry.get_compatibility(repo.subject) == "BACKWARD_TRANSITIVE"
    entry = repo.catalog()[repo.topic]
    assert entry.schema_id == latest.schema_id
    assert entry.subject == repo.subject
    assert entry.product == repo.load()[0].product
    assert entry_key(entry.product) == repo.topic

    assert plan(repo.load(), settings=repo.settings) == []
    again = apply(repo.load(), settings=repo.settings)
    assert again.changes == ()
    assert not again.changed
    assert repo.registry.get_versions(repo.subject) == [1]


def test_compatible_schema_change_is_registered_and_republished(repo: Repo) -> None:
    apply(repo.load(), settings=repo.settings)
    schema = copy.deepcopy(PLAY_EVENT)
    schema["fields"].append(
        {"name": "country", "type": ["null", "string"], "default": None, "doc": "Country."}
    )
    repo.write(schema)
    planned = plan(repo.load(), settings=repo.settings)
    assert actions(planned) == [
        ("register-schema", repo.subject),
        ("publish-descriptor", repo.topic),
    ]
    assert "compatible (BACKWARD_TRANSITIVE)" in planned[0].detail
    apply(repo.load(), settings=repo.settings)
    assert repo.registry.get_versions(repo.subject) == [1, 2]
    latest = repo.registry.get_latest_version(repo.subject)
    assert repo.catalog()[repo.topic].schema_id == latest.schema_id
    assert plan(repo.load(), settings=repo.settings) == []


def test_incompatible_schema_is_blocked_and_apply_changes_nothing(repo: Repo) -> None:
    apply(repo.load(), settings=repo.settings)
    before = repo.catalog()[repo.topic]
    schema = copy.deepcopy(PLAY_EVENT)
    schema["fields"].append({"name": "bitrate", "type": "int", "doc": "Kbit/s."})
    repo.write(schema, status="active")

    planned = plan(repo.load(), settings=repo.settings)
    blocked = [change for change in planned if change.blocking]
    assert actions(blocked) == [("blocked", repo.subject)]
    assert "bitrate" in blocked[0].detail  # the registry's reason names the field
    assert "new major version" in blocked[0].detail

    with pytest.raises(IncompatibleSchemaError) as caught:
        apply(repo.load(), settings=repo.settings)
    assert caught.value.subject == repo.subject
    assert "bitrate" in str(caught.value)
    assert repo.registry.get_versions(repo.subject) == [1]
    assert repo.catalog()[repo.topic] == before


def test_deprecation_is_published(repo: Repo) -> None:
    apply(repo.load(), settings=repo.settings)
    repo.write(
        status="deprecated",
        deprecation={"note": "Replaced by v2.", "replacedBy": f"{repo.domain}.play_events.v2"},
    )
    planned = plan(repo.load(), settings=repo.settings)
    assert actions(planned) == [("publish-descriptor", repo.topic)]
    assert "status active -> deprecated" in planned[0].detail
    apply(repo.load(), settings=repo.settings)
    assert repo.catalog()[repo.topic].product.status == "deprecated"
    assert plan(repo.load(), settings=repo.settings) == []


def test_topic_deleted_behind_apply_is_repaired(repo: Repo) -> None:
    apply(repo.load(), settings=repo.settings)
    repo.admin.delete_topics([repo.topic])[repo.topic].result(10)
    planned = plan(repo.load(), settings=repo.settings)
    assert actions(planned) == [("create-topic", repo.topic)]
    apply(repo.load(), settings=repo.settings)
    assert repo.partitions()[repo.topic] == 6
    assert plan(repo.load(), settings=repo.settings) == []


def test_topic_without_configs_is_reconfigured(repo: Repo, broker_kind: BrokerKind) -> None:
    new = NewTopic(repo.topic, num_partitions=6, replication_factor=1)
    repo.admin.create_topics([new])[repo.topic].result(10)
    planned = plan(repo.load(), settings=repo.settings)
    assert ("reconfigure-topic", repo.topic) in actions(planned)
    detail = next(c.detail for c in planned if c.action == "reconfigure-topic")
    if broker_kind == "tansu":  # describes only the configs set at creation (BROKER.md quirk 7)
        assert "cleanup.policy: (unset) -> delete" in detail
    else:  # Apache Kafka describes its defaults too: only what differs is changed
        assert detail == f"retention.ms: 604800000 -> {RETENTION_MS}"
    apply(repo.load(), settings=repo.settings)
    assert repo.configs(repo.topic)["retention.ms"] == RETENTION_MS
    assert plan(repo.load(), settings=repo.settings) == []


def test_partition_change_is_blocked(repo: Repo) -> None:
    new = NewTopic(repo.topic, num_partitions=2, replication_factor=1)
    repo.admin.create_topics([new])[repo.topic].result(10)
    planned = plan(repo.load(), settings=repo.settings)
    blocked = [change for change in planned if change.blocking]
    assert actions(blocked) == [("blocked", repo.topic)]
    assert "partitions cannot change in place" in blocked[0].detail
    assert f"{repo.domain}.play_events.v2" in blocked[0].detail
    with pytest.raises(GovernanceError) as caught:
        apply(repo.load(), settings=repo.settings)
    assert caught.value.violations == tuple(blocked)
    assert repo.partitions() == {repo.topic: 2}  # no DLQ made, nothing registered
    assert repo.registry.get_subjects().count(repo.subject) == 0


def test_governance_error_refuses_apply(repo: Repo) -> None:
    repo.write(owner=DELETE)
    with pytest.raises(GovernanceError) as caught:
        checked_apply(repo.root, settings=repo.settings)
    assert "GOV001-required" in str(caught.value)
    assert caught.value.violations
    assert repo.partitions() == {}
    assert repo.subject not in repo.registry.get_subjects()


def test_clean_repository_passes_the_governance_gate(repo: Repo) -> None:
    result = checked_apply(repo.root, settings=repo.settings)
    assert result.published == (repo.topic,)


def test_a_breaking_change_publishes_v2_and_keeps_v1_to_retire(repo: Repo) -> None:
    """The v1 descriptor stays as <name>.v1.yaml with its schema as <Record>.v1.avsc."""
    checked_apply(repo.root, settings=repo.settings)
    breaking = copy.deepcopy(PLAY_EVENT)
    breaking["fields"][4]["type"] = "string"  # ms_played: long -> string
    schemas = repo.root / "schemas" / repo.domain
    (schemas / "PlayEvent.avsc").rename(schemas / "PlayEvent.v1.avsc")
    repo.write(breaking, version=2, quality=[])
    v1 = product(
        domain=repo.domain,
        status="deprecated",
        deprecation={"note": "v2 types ms_played as text", "sunset": "2030-01-01"},
        outputPort__schema=f"schemas/{repo.domain}/PlayEvent.v1.avsc",
    )
    write_product(repo.root, v1, repo.root / "products" / repo.domain / "play_events.v1.yaml")
    v2 = f"{repo.domain}.play_events.v2"
    try:
        result = checked_apply(repo.root, settings=repo.settings)
        assert sorted(result.published) == [repo.topic, v2]
        with CatalogStore(settings=repo.settings) as store:
            entries = store.read()
        assert entries[repo.topic].product.status == "deprecated"
        assert entries[v2].product.status == "active"
        assert len(repo.registry.get_versions(repo.subject)) == 1  # v1's schema unchanged
        assert plan(repo.load(), settings=repo.settings) == []
    finally:
        for future in repo.admin.delete_topics([v2, f"{v2}.dlq"]).values():
            future.result(10)
