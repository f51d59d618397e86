"""A new product's descriptor, with the defaults the mesh's policy (``governance.yaml``) allows.

Every value is one ``mesh product lint`` accepts, chosen to be safe rather than cheap: the
personal-data classification when a field is personal (or an input is classified higher),
a retention within the policy's limits, the policy's compatibility level. The owner is the
domain's existing team when the domain has products; the texts are ``TODO`` for the team.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from streams.catalog import (
    CLASSIFICATIONS,
    INFINITE,
    Classification,
    LoadedProduct,
    Product,
    format_duration,
)
from streams.governance import GovernanceConfig, satisfies
from streams.naming import ProductRef

__all__ = ["AGGREGATE_WINDOW_S", "descriptor"]

AGGREGATE_WINDOW_S = 3600
"""The window of a new aggregate: one hour of event time (the code says so too)."""

_RETENTION_S = 7 * 86400  # Kafka's own default
_PARTITIONS = 3


def descriptor(
    ref: ProductRef,
    *,
    kind: str,
    schema: str,
    key: str | None,
    personal: bool,
    config: GovernanceConfig,
    domain_products: Sequence[LoadedProduct],
    inputs: Sequence[LoadedProduct],
) -> dict[str, Any]:
    """The descriptor document (validated by :class:`~streams.catalog.Product`).

    Args:
        ref: The new product.
        kind: ``source-aligned`` or ``aggregate``.
        schema: The schema file, relative to the repository root.
        key: The key field, if any.
        personal: Whether a field of the schema is marked ``pii``.
        config: The mesh's thresholds.
        domain_products: The domain's existing products (their owner is reused).
        inputs: An aggregate's input products.
    """
    aggregate = kind == "aggregate"
    # The domain's team: the owner of most of its products.
    owners = Counter(p.product.owner for p in domain_products if p.product.owner is not None)
    owner = owners.most_common(1)[0][0] if owners else None
    source = ", ".join(item.product.ref.topic for item in inputs)
    document: dict[str, Any] = {
        "name": ref.name,
        "domain": ref.domain,
        "version": 1,
        "kind": kind,
        "owner": (
            owner.model_dump(mode="json")
            if owner is not None
            else {"team": f"{ref.domain}-team", "contact": f"{ref.domain}-team@example.com"}
        ),
        "description": {
            "purpose": (
                f"TODO: what one record says, e.g. the events of {source} per {key} and hour."
                if aggregate
                else "TODO: what one event records, and when its producer sends it."
            ),
            "usage": "TODO: what consumers use it for, and how (deduplicate, order, upsert).",
        },
        "classification": _classification(config, personal, inputs),
        "outputPort": {
            "schema": schema,
            **({"key": key} if key else {}),
            "eventTime": "event_time",
            "partitions": _partitions(config, inputs),
            "retention": format_duration(_retention(config, personal)),
            "compatibility": _compatibility(config, aggregate),
        },
    }
    if aggregate:
        document["inputPorts"] = [
            {"product": item.product.id, "version": item.product.version} for item in inputs
        ]
    document["guarantees"] = {
        "freshness": "1h",
        # An hour's final record comes after the window and its allowed lateness (10 min).
        "latency": "2h" if aggregate else "1m",
        "completeness": 0.99,
        "maxDuplicateShare": 0.0 if aggregate else 0.01,
        "availability": 0.99,
    }
    if not aggregate:
        document["quality"] = [{"rule": "unique", "field": "event_id"}]
    Product.model_validate(document)  # a bug here must not reach the user's repository
    return document


def _classification(
    config: GovernanceConfig, personal: bool, inputs: Sequence[LoadedProduct]
) -> Classification:
    wanted: list[Classification] = ["internal"]
    if personal:
        wanted.append(config.personal_data_classification)
    wanted += [item.product.classification for item in inputs if item.product.classification]
    floor = max(CLASSIFICATIONS.index(level) for level in wanted)
    allowed = [level for level in CLASSIFICATIONS if level in config.allowed_classifications]
    high_enough = [level for level in allowed if CLASSIFICATIONS.index(level) >= floor]
    return high_enough[0] if high_enough else (allowed[-1] if allowed else CLASSIFICATIONS[floor])


def _retention(config: GovernanceConfig, personal: bool) -> int:
    limits = [config.max_retention] + ([config.max_personal_data_retention] if personal else [])
    return min([_RETENTION_S, *(limit for limit in limits if limit != INFINITE)])


def _partitions(config: GovernanceConfig, inputs: Sequence[LoadedProduct]) -> int:
    # An aggregate's agents read its inputs by partition: keep the inputs' count.
    wanted = inputs[0].product.output_port.partitions if inputs else _PARTITIONS
    return max(config.min_partitions, min(wanted, config.max_partitions))


def _compatibility(config: GovernanceConfig, aggregate: bool) -> str:
    level = config.min_compatibility
    # An aggregate that others consume later needs transitive compatibility; start there.
    if aggregate and satisfies(config.consumed_aggregate_compatibility, level):
        level = config.consumed_aggregate_compatibility
    return level
