"""The mesh's access rules on Apache Kafka, as ACL bindings: what a domain and a grant allow.

Pure: this module only builds :class:`~confluent_kafka.admin.AclBinding` values;
:mod:`streams.kafka.access` sends them to the broker. Keeping the rules apart from the I/O
lets a test read the whole policy, and lets :func:`domain_acls` serve both ``allow`` (create
these) and an audit (are these the ones present?).

A domain ``d`` (principal ``User:d``) gets:

- everything on the topics prefixed ``d.`` (its products ``d.<name>.v<N>``, their ``.dlq`` and
  ``.late`` topics) and ``_mesh.agents.d.`` (its agents' checkpoint, changelog and repartition
  topics): nobody else may write, create, alter or delete them;
- its consumer groups and transactional ids prefixed ``d.`` and ``_mesh.agents.d.`` (the faust
  app id of its agents is ``_mesh.agents.d.<name>.v<N>``), and the library's own assign-only
  group ids prefixed ``streams-`` (they never join; librdkafka still wants a group);
- write (and create, since the first writer creates them) on the shared topics its processes
  write: the catalog ``_mesh.products`` (``mesh product apply``), OpenLineage ``_mesh.lineage``
  and ``_mesh.agent_runs`` (agents, replays), wrapped data keys ``_mesh.keys`` (producers of
  protected fields) and ``_mesh.redrives`` (``mesh dlq redrive``);
- read on the shared topics it needs to take part: the catalog, domains and grants, lineage,
  the monitor's observations and alerts, redrives.

Reading another domain's product needs a grant: read and describe on the topics prefixed
``<owner>.<name>.v`` (every major version, its dead letters and late events).
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)

from streams.errors import ConfigError
from streams.identity import ADMIN, check_identity_name
from streams.naming import internal_topic, parse_product

__all__ = [
    "SHARED_READS",
    "SHARED_WRITES",
    "domain_acls",
    "grant_acls",
    "principal",
    "principal_filter",
    "product_prefix",
]

SHARED_WRITES: tuple[str, ...] = tuple(
    internal_topic(purpose) for purpose in ("products", "lineage", "agent_runs", "keys", "redrives")
)
"""Shared topics a domain's processes write (and may be the first to create)."""

SHARED_READS: tuple[str, ...] = tuple(
    internal_topic(purpose)
    for purpose in (
        "products",
        "domains",
        "access",
        "lineage",
        "agent_runs",
        "observations",
        "alerts",
        "redrives",
    )
)
"""Shared topics a domain's processes read. Not ``_mesh.keys``: data keys are released by the
registry's key service, and not the registry's own ``_schemas`` or the monitor's state."""

_OWNED_TOPIC = (
    AclOperation.READ,
    AclOperation.WRITE,
    AclOperation.CREATE,
    AclOperation.DELETE,
    AclOperation.ALTER,
    AclOperation.DESCRIBE,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS,
)
_OWNED_GROUP = (AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE)
_OWNED_TRANSACTION = (AclOperation.WRITE, AclOperation.DESCRIBE)
_SHARED_WRITE = (AclOperation.WRITE, AclOperation.CREATE, AclOperation.DESCRIBE)
_SHARED_READ = (AclOperation.READ, AclOperation.DESCRIBE)
_LIBRARY_GROUPS = "streams-"
_ANY_HOST = "*"


def principal(name: str) -> str:
    """The Kafka principal of identity ``name``: ``User:<name>`` (its SCRAM user name).

    Raises:
        ConfigError: ``name`` is not ``admin`` or a domain name.
    """
    return f"User:{check_identity_name(name)}"


def product_prefix(product_id: str) -> str:
    """The prefix of every topic of product ``<domain>.<name>``: ``<domain>.<name>.v``.

    Raises:
        ConfigError: ``product_id`` is not ``<domain>.<name>`` (a major version is refused too:
            a grant covers every version of the product).
    """
    ref = parse_product(product_id)
    if product_id != ref.id:
        raise ConfigError(
            f"grant on {product_id!r}: name the product as <domain>.<name> (e.g. "
            f"{ref.id!r}); a grant covers all its major versions"
        )
    return f"{ref.id}.v"


def _allow(
    resource: ResourceType,
    name: str,
    who: str,
    operations: Iterable[AclOperation],
    pattern: ResourcePatternType = ResourcePatternType.PREFIXED,
) -> list[AclBinding]:
    return [
        AclBinding(resource, name, pattern, who, _ANY_HOST, operation, AclPermissionType.ALLOW)
        for operation in operations
    ]


def domain_acls(name: str) -> list[AclBinding]:
    """Every ACL binding of domain ``name`` (see the module docstring for what and why).

    Raises:
        ConfigError: ``name`` is not a domain name (``admin`` is a super user: it needs none).
    """
    who = principal(name)
    if name == ADMIN:
        raise ConfigError(
            "the admin is a Kafka super user (super.users=User:admin): it needs no ACLs"
        )
    prefixes = (f"{name}.", f"{internal_topic('agents')}.{name}.")
    bindings: list[AclBinding] = []
    for prefix in prefixes:
        bindings += _allow(ResourceType.TOPIC, prefix, who, _OWNED_TOPIC)
        bindings += _allow(ResourceType.GROUP, prefix, who, _OWNED_GROUP)
        bindings += _allow(ResourceType.TRANSACTIONAL_ID, prefix, who, _OWNED_TRANSACTION)
    bindings += _allow(ResourceType.GROUP, _LIBRARY_GROUPS, who, _SHARED_READ)
    literal = ResourcePatternType.LITERAL
    for topic in SHARED_WRITES:
        bindings += _allow(ResourceType.TOPIC, topic, who, _SHARED_WRITE, literal)
    for topic in SHARED_READS:
        bindings += _allow(ResourceType.TOPIC, topic, who, (AclOperation.READ,), literal)
        if topic not in SHARED_WRITES:  # a writer may already describe it
            bindings += _allow(ResourceType.TOPIC, topic, who, (AclOperation.DESCRIBE,), literal)
    return bindings


def grant_acls(product_id: str, consumer: str) -> list[AclBinding]:
    """The bindings letting domain ``consumer`` read product ``<domain>.<name>``.

    Raises:
        ConfigError: A name is invalid, or ``product_id`` names a version.
    """
    return _allow(ResourceType.TOPIC, product_prefix(product_id), principal(consumer), _SHARED_READ)


def principal_filter(name: str) -> AclBindingFilter:
    """A filter matching every ACL binding of identity ``name`` (to remove them all)."""
    return AclBindingFilter(
        ResourceType.ANY,
        None,  # type: ignore[arg-type]  # None matches any resource name
        ResourcePatternType.ANY,
        principal(name),
        None,  # type: ignore[arg-type]  # any host
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
