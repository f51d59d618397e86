"""A product's data contract as registered with its schema: the descriptor's per-event quality
rules as Confluent CEL conditions (see :mod:`streams.serialization.quality`), and its
classification as Confluent metadata (``metadata.properties.classification``), which the
registry's key service reads to release a public or internal product's data keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streams.catalog._model import (
    AllowedValuesRule,
    NotNullRule,
    Product,
    QualityRule,
    RangeRule,
)
from streams.naming import dlq_topic
from streams.serialization.quality import PARAM, QualitySpec, rule_set_for

__all__ = ["CLASSIFICATION_PROPERTY", "contract_metadata", "contract_rule_set", "quality_specs"]

CLASSIFICATION_PROPERTY = "classification"
"""The metadata property carrying the product's classification (the registry reads it)."""


def quality_specs(rules: Sequence[QualityRule]) -> list[QualitySpec]:
    """The per-event rules of a descriptor (``unique`` is not one: it is measured over events)."""
    specs: list[QualitySpec] = []
    for rule in rules:
        if isinstance(rule, NotNullRule):
            specs.append(QualitySpec(rule.field, "not_null"))
        elif isinstance(rule, RangeRule):
            specs.append(QualitySpec(rule.field, "range", min=rule.min, max=rule.max))
        elif isinstance(rule, AllowedValuesRule):
            specs.append(QualitySpec(rule.field, "allowed_values", values=rule.values))
    return specs


def contract_rule_set(
    product: Product, registered: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The ``ruleSet`` to register with the product's schema (None: none is needed).

    The descriptor owns the quality rules it made (those carrying the ``streams.quality``
    parameter); every other rule of the ``registered`` rule set (an ``ENCRYPT`` rule, a
    migration rule someone registered with Confluent's tools) is kept as it is. When the
    descriptor's rules were all removed, an explicitly empty rule set is sent: the registry
    would otherwise carry the previous version's rules over.
    """
    ours = rule_set_for(quality_specs(product.quality), dlq_topic=dlq_topic(product.topic))
    kept = {
        kind: [rule for rule in (registered or {}).get(kind) or () if not _made_here(rule)]
        for kind in ("domainRules", "migrationRules", "encodingRules")
    }
    merged = {kind: rules for kind, rules in kept.items() if rules}
    if ours is not None:
        merged["domainRules"] = [*merged.get("domainRules", []), *ours["domainRules"]]
    if merged:
        return merged
    had_ours = any(_made_here(rule) for rule in (registered or {}).get("domainRules") or ())
    return {"domainRules": []} if had_ours else None


def _made_here(rule: Any) -> bool:
    return isinstance(rule, dict) and PARAM in (rule.get("params") or {})


def contract_metadata(
    product: Product, registered: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The ``metadata`` to register with the product's schema (None: none is needed).

    The descriptor owns the ``classification`` property; every other property, tag or
    sensitive name of the ``registered`` metadata (an ``owner`` set with Confluent's tools) is
    kept as it is. When the classification was removed, the rest is sent explicitly: the
    registry would otherwise carry the previous version's metadata over.
    """
    kept = dict(registered or {})
    properties = {
        name: value
        for name, value in (kept.get("properties") or {}).items()
        if name != CLASSIFICATION_PROPERTY
    }
    if product.classification is not None:
        properties[CLASSIFICATION_PROPERTY] = product.classification
    had_ours = CLASSIFICATION_PROPERTY in ((registered or {}).get("properties") or {})
    if not properties and not had_ours and not kept.get("tags") and not kept.get("sensitive"):
        return None
    kept["properties"] = properties
    return {name: value for name, value in kept.items() if value not in (None, [], {})} or {
        "properties": {}
    }
