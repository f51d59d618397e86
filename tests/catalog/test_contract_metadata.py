"""`mesh product apply` registers the product's classification in the schema's Confluent
metadata (``metadata.properties.classification``), where the registry's key service reads it:
only the owning domain (or the admin) may register under its subjects, so the owner decides."""

from __future__ import annotations

from typing import Any

from confluent_kafka.schema_registry import Metadata, MetadataProperties, Schema

from streams.catalog import apply, plan
from tests.catalog import test_plan_apply
from tests.catalog.test_plan_apply import Repo, actions

repo = test_plan_apply.repo  # the fixture: a fresh domain's PlayEvent product per test


def _properties(repo: Repo) -> dict[str, Any]:
    # get_latest_version would answer from the client's cache: ask for the newest version.
    newest = repo.registry.get_versions(repo.subject)[-1]
    metadata = repo.registry.get_version(repo.subject, newest).schema.metadata
    if metadata is None or metadata.properties is None:
        return {}
    return dict(metadata.properties.properties)


def test_apply_registers_the_classification_in_the_schemas_metadata(repo: Repo) -> None:
    apply(repo.load(), settings=repo.settings)
    assert _properties(repo) == {"classification": "confidential"}
    assert actions(plan(repo.load(), settings=repo.settings)) == []


def test_a_new_classification_is_a_planned_change_and_is_registered(repo: Repo) -> None:
    apply(repo.load(), settings=repo.settings)
    repo.write(classification="internal")
    assert ("register-schema", repo.subject) in {
        (change.action, change.target) for change in plan(repo.load(), settings=repo.settings)
    }
    apply(repo.load(), settings=repo.settings)
    assert _properties(repo) == {"classification": "internal"}


def test_apply_keeps_metadata_it_did_not_make(repo: Repo) -> None:
    apply(repo.load(), settings=repo.settings)
    latest = repo.registry.get_latest_version(repo.subject).schema
    owner = Metadata(
        tags=None,
        properties=MetadataProperties({"classification": "confidential", "owner": "Ada"}),
        sensitive=[],
    )
    repo.registry.register_schema(
        repo.subject,
        Schema(latest.schema_str, "AVRO", rule_set=latest.rule_set, metadata=owner),
    )
    repo.write(classification="restricted")
    apply(repo.load(), settings=repo.settings)
    assert _properties(repo) == {"classification": "restricted", "owner": "Ada"}
    assert actions(plan(repo.load(), settings=repo.settings)) == []
