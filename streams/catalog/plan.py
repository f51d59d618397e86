"""``plan``: what ``apply`` would change to make the mesh match the descriptors (reads only).

For each product the plan compares three places with the files:

- Kafka: the product topic and its dead-letter topic ``<topic>.dlq`` exist with the descriptor's
  partitions, ``cleanup.policy=delete`` and ``retention.ms``;
- the schema registry: subject ``<topic>-value`` holds the schema file's text at the descriptor's
  compatibility level (a different schema gets the registry's own compatibility verdict);
- the catalog topic ``_mesh.products``: the published entry equals the descriptor and schema.

What cannot be done in place (fewer or more partitions, a breaking schema change) is planned as
a ``blocked`` change that says how to do it instead: publish a new major version. Reviving a
retired version (its descriptor no longer ``retired``) is blocked too unless ``force`` is given:
its consumers were told it is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from streams.catalog._contract import contract_metadata, contract_rule_set
from streams.catalog._load import LoadedProduct
from streams.catalog._mesh import NEW_MAJOR, Mesh
from streams.catalog._model import OutputPort, Product
from streams.catalog.store import CatalogEntry, entry_key
from streams.config import Settings
from streams.naming import topic_for

__all__ = ["ACTIONS", "Action", "Change", "plan"]

logger = logging.getLogger(__name__)

Action = Literal[
    "create-topic",
    "reconfigure-topic",
    "set-compatibility",
    "register-schema",
    "publish-descriptor",
    "blocked",
]
ACTIONS: tuple[Action, ...] = (
    "create-topic",
    "reconfigure-topic",
    "set-compatibility",
    "register-schema",
    "publish-descriptor",
    "blocked",
)
"""Every action, in the order ``apply`` performs them within one product."""


@dataclass(frozen=True, slots=True)
class Change:
    """One planned change.

    Attributes:
        product: The product at its major version, e.g. ``player.play_events.v1``.
        action: What ``apply`` would do; ``blocked`` is a change it refuses to make.
        target: The topic, subject or catalog key concerned.
        detail: Human text: the config diff, the compatibility verdict, or why it is blocked
            and how to do it instead.
        blocking: True when ``apply`` refuses to run because of this change.
    """

    product: str
    action: Action
    target: str
    detail: str
    blocking: bool = False

    def to_dict(self) -> dict[str, str | bool]:
        """A JSON-ready dict (``mesh product plan --output json``)."""
        return {
            "product": self.product,
            "action": self.action,
            "target": self.target,
            "detail": self.detail,
            "blocking": self.blocking,
        }


def plan(
    products: Sequence[LoadedProduct], *, settings: Settings, force: bool = False
) -> list[Change]:
    """The changes that would make Kafka, the registry and the catalog match ``products``.

    Args:
        products: Loaded (and normally linted) descriptors.
        settings: How to reach Kafka and the schema registry.
        force: Allow reviving retired versions (else their publication is ``blocked``).

    Returns:
        The changes, product by product in the order given; ``[]`` when the mesh matches.

    Raises:
        BrokerUnavailableError: Kafka cannot be reached.
        RegistryUnavailableError: The schema registry cannot be reached.
    """
    with Mesh(settings=settings) as mesh:
        return plan_with(products, mesh, force=force)


def plan_with(
    products: Sequence[LoadedProduct], mesh: Mesh, *, force: bool = False
) -> list[Change]:
    """:func:`plan` with clients that are already open (``apply`` reuses them to make it)."""
    refused = _not_yours(products, mesh)
    if refused:
        return refused
    topics = mesh.topics()
    entries = mesh.store.read()
    changes: list[Change] = []
    for loaded in products:
        changes += _plan_product(loaded, mesh, topics, entries, force=force)
    return changes


def _not_yours(products: Sequence[LoadedProduct], mesh: Mesh) -> list[Change]:
    """Blocked changes for the products the acting domain does not own: a domain publishes
    only its own products (the registry and, on Kafka, the ACLs would refuse it half-way)."""
    credential = mesh.settings.identity.credential()
    if credential is None or credential.is_admin:
        return []
    return [
        Change(
            entry_key(loaded.product),
            "blocked",
            entry_key(loaded.product),
            f"identity {credential.name!r} may not apply the products of domain "
            f"{loaded.product.domain!r}: only that domain (or the admin) publishes them; run as "
            f"it: `mesh --as {loaded.product.domain} product apply "
            f"products/{loaded.product.domain}` (the admin gives its credential: `mesh domain "
            f"create {loaded.product.domain}`)",
            blocking=True,
        )
        for loaded in products
        if loaded.product.domain != credential.name
    ]


def topic_config(port: OutputPort) -> dict[str, str]:
    """The topic configs a product topic must have (set explicitly: see BROKER.md quirk 7)."""
    config = {"cleanup.policy": "delete"}
    if port.retention_ms is not None:
        config["retention.ms"] = str(port.retention_ms)
    return config


def _plan_product(
    loaded: LoadedProduct,
    mesh: Mesh,
    topics: dict[str, int],
    entries: dict[str, CatalogEntry],
    *,
    force: bool,
) -> list[Change]:
    product = loaded.product
    ref = product.ref
    key = entry_key(product)
    wanted = topic_config(product.output_port)
    changes = _plan_topic(key, ref.topic, product, wanted, topics, mesh, dlq=False)
    changes += _plan_topic(key, ref.dlq, product, wanted, topics, mesh, dlq=True)
    schema_id, schema_changes = _plan_schema(key, loaded, mesh)
    changes += schema_changes
    published = entries.get(key)
    why = _publish_reason(loaded, published, schema_id)
    if why:
        changes.append(Change(key, "publish-descriptor", key, why))
    revived = published is not None and published.product.status == "retired" != product.status
    if revived and not force:
        changes.append(
            Change(
                key,
                "blocked",
                key,
                f"{key} is retired in the catalog but its descriptor says "
                f"'status: {product.status}': reviving it brings back a version its "
                "consumers were told is gone. Apply with --force to revive it, or keep "
                "'status: retired'",
                blocking=True,
            )
        )
    return changes


def _plan_topic(
    key: str,
    topic: str,
    product: Product,
    wanted: dict[str, str],
    topics: dict[str, int],
    mesh: Mesh,
    *,
    dlq: bool,
) -> list[Change]:
    partitions = product.output_port.partitions
    settings = ", ".join(f"{name}={value}" for name, value in wanted.items())
    if topic not in topics:
        return [Change(key, "create-topic", topic, f"{partitions} partitions, {settings}")]
    changes: list[Change] = []
    # A dead-letter topic created on demand by a consumer has one partition; its partitioning
    # carries no meaning (dead letters are not read in key order), so a difference is accepted.
    if topics[topic] != partitions and not dlq:
        next_topic = topic_for(product.id, product.version + 1)
        changes.append(
            Change(
                key,
                "blocked",
                topic,
                f"topic has {topics[topic]} partitions but the descriptor says {partitions}: "
                "partitions cannot change in place; publish a new major version "
                f"('version: {product.version + 1}', topic {next_topic}) and deprecate this one",
                blocking=True,
            )
        )
    current = mesh.topic_configs(topic)
    diff = [
        f"{name}: {current.get(name, '(unset)')} -> {value}"
        for name, value in wanted.items()
        if current.get(name) != value
    ]
    if diff:
        changes.append(Change(key, "reconfigure-topic", topic, ", ".join(diff)))
    return changes


def _plan_schema(key: str, loaded: LoadedProduct, mesh: Mesh) -> tuple[int | None, list[Change]]:
    """The registered id of the schema file's text (``None`` if not registered) and changes."""
    product = loaded.product
    subject = product.ref.subject
    wanted_level = product.output_port.compatibility
    changes: list[Change] = []
    level = mesh.subject_level(subject)
    if level != wanted_level:
        changes.append(
            Change(key, "set-compatibility", subject, f"{level or '(unset)'} -> {wanted_level}")
        )
    rules, metadata = mesh.registered_contract(subject)
    subject_exists, schema_id = mesh.lookup(
        subject,
        loaded.schema_text,
        contract_rule_set(product, rules),
        contract_metadata(product, metadata),
    )
    if schema_id is not None:
        return schema_id, changes
    if not subject_exists:
        changes.append(Change(key, "register-schema", subject, "new subject"))
        return None, changes
    problems = mesh.incompatibilities(subject, loaded.schema_text)
    if not problems:
        verdict = f"compatible ({level or mesh.global_level()})"
        changes.append(Change(key, "register-schema", subject, verdict))
        return None, changes
    next_topic = topic_for(product.id, product.version + 1)
    changes.append(
        Change(
            key,
            "blocked",
            subject,
            f"incompatible with the registered schema ({level or mesh.global_level()}): "
            + "; ".join(problems)
            + f". Make the change compatible, or: {NEW_MAJOR}, a descriptor with "
            f"'version: {product.version + 1}' (topic {next_topic})",
            blocking=True,
        )
    )
    return None, changes


def _publish_reason(
    loaded: LoadedProduct, entry: CatalogEntry | None, schema_id: int | None
) -> str | None:
    """Why the catalog entry must be (re)published, or ``None`` when it is current."""
    if entry is None:
        return "new catalog entry"
    reasons: list[str] = []
    published = entry.product.model_dump(mode="json")
    wanted = loaded.product.model_dump(mode="json")
    if entry.product.status != loaded.product.status:
        reasons.append(f"status {entry.product.status} -> {loaded.product.status}")
    fields = sorted(
        name
        for name in wanted.keys() | published.keys()
        if wanted.get(name) != published.get(name) and name != "status"
    )
    if fields:
        reasons.append("descriptor changed: " + ", ".join(fields))
    if entry.schema != loaded.schema_text or schema_id is None or entry.schema_id != schema_id:
        reasons.append("schema changed")
    if entry.subject != loaded.product.ref.subject:
        reasons.append(f"subject {entry.subject} -> {loaded.product.ref.subject}")
    return "; ".join(reasons) or None
