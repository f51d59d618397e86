"""``apply``: make Kafka, the registry and the catalog match the descriptors, idempotently.

``apply`` plans first (see :mod:`streams.catalog.plan`) and refuses the whole run, changing
nothing, when any change is blocked. Otherwise it works product by product, in the order of the
plan: topics, then the subject's compatibility level, then the schema, and the catalog entry
**last**, so a product is never published half-made. When a step fails the error says what was
not done; the changes already made stay, and the next ``apply`` plans (and makes) the rest.

Governance is not run here (the catalog sits below governance): enforcement points such as
``mesh product apply`` lint the descriptors first and hand only clean products to :func:`apply`.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from streams.catalog._contract import contract_metadata, contract_rule_set
from streams.catalog._load import LoadedProduct
from streams.catalog._mesh import Mesh
from streams.catalog.plan import Change, plan_with, topic_config
from streams.catalog.store import CatalogEntry, entry_key
from streams.config import Settings
from streams.errors import GovernanceError, IncompatibleSchemaError, SchemaError

__all__ = ["ApplyResult", "apply"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What :func:`apply` did.

    Attributes:
        changes: The changes made, in order; empty when the mesh already matched the files.
    """

    changes: tuple[Change, ...]

    @property
    def changed(self) -> bool:
        """Whether anything was changed."""
        return bool(self.changes)

    @property
    def published(self) -> tuple[str, ...]:
        """The catalog keys (``<domain>.<name>.v<major>``) that were published."""
        return tuple(c.target for c in self.changes if c.action == "publish-descriptor")


def apply(
    products: Sequence[LoadedProduct],
    *,
    settings: Settings,
    on_change: Callable[[Change], None] | None = None,
    force: bool = False,
) -> ApplyResult:
    """Create topics, set compatibility levels, register schemas and publish descriptors.

    Args:
        products: Loaded descriptors that passed governance (``streams.governance.lint``).
        settings: How to reach Kafka and the schema registry.
        on_change: Called after each change is made (e.g. to print progress).
        force: Revive retired versions whose descriptor is no longer ``retired`` (without it,
            that is a blocked change and nothing is changed).

    Returns:
        The changes made; none when the mesh already matched (applying twice changes nothing).

    Raises:
        IncompatibleSchemaError: A schema change breaks its subject's compatibility level
            (the registry's reasons are in ``incompatibilities``); nothing was changed.
        GovernanceError: Another change cannot be made in place (e.g. partitions); nothing
            was changed. ``violations`` holds the blocked :class:`Change` objects.
        BrokerUnavailableError: Kafka cannot be reached or failed a step.
        RegistryUnavailableError: The schema registry cannot be reached or failed a step.
    """
    done: list[Change] = []
    with Mesh(settings=settings) as mesh:
        changes = plan_with(products, mesh, force=force)
        _refuse_blocked(changes)
        by_key = {entry_key(loaded.product): loaded for loaded in products}
        for change in changes:
            _make(change, by_key[change.product], mesh)
            logger.info("%s %s %s: %s", change.product, change.action, change.target, change.detail)
            done.append(change)
            if on_change is not None:
                on_change(change)
    return ApplyResult(changes=tuple(done))


def _refuse_blocked(changes: Sequence[Change]) -> None:
    blocked = [change for change in changes if change.blocking]
    if not blocked:
        return
    lines = "\n".join(
        f"  {c.product}: {c.detail}"
        if c.target == c.product
        else f"  {c.product}: {c.target}: {c.detail}"
        for c in blocked
    )
    message = (
        f"apply refused: {len(blocked)} change(s) cannot be made in place, so nothing was "
        f"changed (see 'mesh product plan'):\n{lines}"
    )
    if all(c.detail.startswith("identity ") for c in blocked):
        message = f"apply refused, nothing was changed:\n{lines}"
    schema_only = all(c.target.endswith("-value") for c in blocked)
    if schema_only:
        subjects = {c.target for c in blocked}
        raise IncompatibleSchemaError(
            message,
            subject=next(iter(subjects)) if len(subjects) == 1 else None,
            incompatibilities=[c.detail for c in blocked],
        )
    raise GovernanceError(message, violations=blocked)


def _make(change: Change, loaded: LoadedProduct, mesh: Mesh) -> None:
    """Make one planned change."""
    product = loaded.product
    port = product.output_port
    subject = product.ref.subject
    match change.action:
        case "create-topic":
            mesh.create_topic(change.target, port.partitions, topic_config(port))
        case "reconfigure-topic":
            mesh.alter_topic(change.target, topic_config(port))
        case "set-compatibility":
            mesh.set_level(subject, port.compatibility)
        case "register-schema":
            _register(change, loaded, mesh)
        case "publish-descriptor":
            _publish(change, loaded, mesh)
        case "blocked":  # pragma: no cover - refused before any change is made
            raise SchemaError(f"{change.target}: {change.detail}", subject=subject)


def _register(change: Change, loaded: LoadedProduct, mesh: Mesh) -> None:
    subject = change.target
    try:
        rules, metadata = mesh.registered_contract(subject)
        mesh.register(
            subject,
            loaded.schema_text,
            contract_rule_set(loaded.product, rules),
            contract_metadata(loaded.product, metadata),
        )
    except IncompatibleSchemaError as exc:
        # The level may have changed since the plan (e.g. set just before): give the reasons.
        reasons = mesh.incompatibilities(subject, loaded.schema_text) or exc.incompatibilities
        raise IncompatibleSchemaError(
            f"the registry refused the schema of {change.product} under {subject!r}: "
            + "; ".join(reasons)
            + f". {change.product} is not published; make the change compatible or publish a "
            "new major version (new topic), then apply again",
            subject=subject,
            incompatibilities=reasons,
        ) from exc


def _publish(change: Change, loaded: LoadedProduct, mesh: Mesh) -> None:
    subject = loaded.product.ref.subject
    _, schema_id = mesh.lookup(subject, loaded.schema_text)
    if schema_id is None:
        raise SchemaError(
            f"{change.product} is not published: its schema is not registered under "
            f"{subject!r}; run apply again to register it first",
            subject=subject,
        )
    entry = CatalogEntry(
        key=change.target,
        product=loaded.product,
        schema=loaded.schema_text,
        schema_id=schema_id,
        subject=subject,
        published_at=datetime.datetime.now(datetime.UTC),
    )
    mesh.store.publish(entry)
