"""The mesh's ACL set as data (no broker)."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclOperation,
    ResourcePatternType,
    ResourceType,
)

from streams.errors import ConfigError
from streams.kafka.acls import domain_acls, grant_acls, principal_filter, product_prefix


def _allowed(bindings: list, resource: ResourceType, name: str) -> set[AclOperation]:  # type: ignore[type-arg]
    return {b.operation for b in bindings if b.restype == resource and b.name == name}


def test_a_domain_owns_its_prefixes_and_nothing_else() -> None:
    bindings = domain_acls("player")
    assert {b.principal for b in bindings} == {"User:player"}
    owned = _allowed(bindings, ResourceType.TOPIC, "player.")
    assert {AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE, AclOperation.ALTER} <= (
        owned
    )
    assert AclOperation.WRITE in _allowed(bindings, ResourceType.TOPIC, "_mesh.agents.player.")
    assert _allowed(bindings, ResourceType.GROUP, "player.") >= {AclOperation.READ}
    assert _allowed(bindings, ResourceType.TRANSACTIONAL_ID, "player.") >= {AclOperation.WRITE}
    # Shared topics: write the catalog, read the grants; never read the wrapped data keys.
    assert AclOperation.WRITE in _allowed(bindings, ResourceType.TOPIC, "_mesh.products")
    assert _allowed(bindings, ResourceType.TOPIC, "_mesh.access") == {
        AclOperation.READ,
        AclOperation.DESCRIBE,
    }
    assert AclOperation.READ not in _allowed(bindings, ResourceType.TOPIC, "_mesh.keys")
    assert _allowed(bindings, ResourceType.TOPIC, "_mesh.observations") == {
        AclOperation.READ,
        AclOperation.DESCRIBE,
    }
    # No wildcard: nothing on another domain's topics, nothing on the cluster.
    names = {b.name for b in bindings if b.resource_pattern_type == ResourcePatternType.PREFIXED}
    assert all(n.startswith(("player.", "_mesh.agents.player.", "streams-")) for n in names)
    assert not [b for b in bindings if b.restype == ResourceType.BROKER]


def test_the_admin_needs_no_acls() -> None:
    with pytest.raises(ConfigError, match="super user"):
        domain_acls("admin")


def test_a_grant_reads_every_version_of_one_product() -> None:
    bindings = grant_acls("player.play_events", "listeners")
    assert {(b.name, b.resource_pattern_type, b.principal) for b in bindings} == {
        ("player.play_events.v", ResourcePatternType.PREFIXED, "User:listeners")
    }
    assert {b.operation for b in bindings} == {AclOperation.READ, AclOperation.DESCRIBE}


def test_a_grant_names_the_product_not_a_version() -> None:
    assert product_prefix("player.play_events") == "player.play_events.v"
    with pytest.raises(ConfigError, match="all its major versions"):
        product_prefix("player.play_events.v1")


def test_bad_names_are_refused_with_the_rule() -> None:
    with pytest.raises(ConfigError, match="lower_snake_case"):
        domain_acls("Player")
    with pytest.raises(ConfigError, match="lower_snake_case"):
        principal_filter("no-dashes")
