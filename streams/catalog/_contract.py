"""A product's data contract as registered with its schema: the descriptor's per-event quality
rules as Confluent CEL conditions (see :mod:`streams.serialization.quality`)."""

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
from streams.serialization.quality import QualitySpec, rule_set_for

__all__ = ["contract_rule_set", "quality_specs"]


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


def contract_rule_set(product: Product) -> dict[str, Any] | None:
    """The ``ruleSet`` registered with the product's schema, or None when it has no rules."""
    return rule_set_for(quality_specs(product.quality), dlq_topic=dlq_topic(product.topic))
