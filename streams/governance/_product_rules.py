"""Policies on the descriptor itself: completeness, names, placement, thresholds, lifecycle."""

from __future__ import annotations

import re

from streams.catalog import CLASSIFICATIONS, INFINITE, LoadedProduct, format_duration, show_path
from streams.errors import ConfigError
from streams.governance._context import PolicyContext, ref_of, violation
from streams.governance._violation import Violation
from streams.naming import product_id

__all__ = [
    "check_classification",
    "check_duplicates",
    "check_lifecycle",
    "check_location",
    "check_naming",
    "check_partitions",
    "check_required",
    "check_retention",
]

_VERSION_SUFFIX = re.compile(r"_v\d+\Z")


def check_required(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV001-required: owner, description, classification, retention and guarantees."""
    product = loaded.product
    missing: list[tuple[tuple[str, ...], str, str]] = []
    if product.owner is None:
        missing.append(
            (
                ("owner",),
                "owner",
                "add 'owner:' with 'team:' and 'contact:' (a team e-mail address)",
            )
        )
    if product.description is None:
        missing.append(
            (
                ("description",),
                "description",
                "add 'description:' with 'purpose:' (what it is) and 'usage:' (what it is for)",
            )
        )
    if product.classification is None:
        missing.append(
            (
                ("classification",),
                "classification",
                f"add 'classification:' with one of {', '.join(CLASSIFICATIONS)}",
            )
        )
    if product.output_port.retention is None:
        missing.append(
            (
                ("outputPort", "retention"),
                "outputPort.retention",
                "add 'retention:' under 'outputPort:', e.g. '7d', '30d' or 'infinite'",
            )
        )
    if product.guarantees is None:
        missing.append(
            (
                ("guarantees",),
                "guarantees",
                "add 'guarantees:' with freshness, latency, completeness, maxDuplicateShare "
                "and availability",
            )
        )
    return [
        violation(loaded, "GOV001-required", location, f"product declares no {what}", hint)
        for location, what, hint in missing
    ]


def check_naming(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV002-naming: domain and name are lower_snake_case; the version is not in the name."""
    product = loaded.product
    found: list[Violation] = []
    # Checked one at a time so each message points at its own key.
    for location, domain, name in (("domain", product.domain, "x"), ("name", "x", product.name)):
        try:
            product_id(domain, name)
        except ConfigError as exc:
            found.append(
                violation(
                    loaded,
                    "GOV002-naming",
                    (location,),
                    str(exc).partition(":")[0],
                    "use lower_snake_case starting with a letter (e.g. 'player', "
                    "'play_events'); topics and subjects are derived from it",
                )
            )
    if found:
        return found
    if _VERSION_SUFFIX.search(product.name):
        return [
            violation(
                loaded,
                "GOV002-naming",
                ("name",),
                f"product name {product.name!r} carries a version",
                "drop the suffix: the major version is 'version:' and goes into the topic "
                f"({product.domain}.<name>.v{product.version})",
            )
        ]
    return []


def check_location(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV003-location: the file is ``products/<domain>/<name>.yaml`` of its own domain."""
    product = loaded.product
    folder = context.root / "products" / product.domain
    # A superseded major version may stay next to the current one as <name>.v<N>.yaml.
    allowed = (folder / f"{product.name}.yaml", folder / f"{product.name}.v{product.version}.yaml")
    if loaded.path.resolve() in {path.resolve() for path in allowed}:
        return []
    # The hint names a file that passes lint: from valid names (GOV002 asks for the renaming).
    domain, name = valid_name(product.domain), valid_name(product.name)
    renamed = [
        f"'{key}: {new}'"
        for key, old, new in (("domain", product.domain, domain), ("name", product.name, name))
        if old != new
    ]
    rename = f" and rename {' and '.join(renamed)} (GOV002)" if renamed else ""
    parent = loaded.path.resolve().parent
    if parent.name != product.domain or parent.parent != (context.root / "products").resolve():
        return [
            violation(
                loaded,
                "GOV003-location",
                ("domain",),
                f"a product of domain {product.domain!r} is declared in {show_path(parent)}/",
                f"a domain may only declare its own products: move the file to "
                f"products/{domain}/{name}.yaml{rename}, or fix 'domain'",
            )
        ]
    return [
        violation(
            loaded,
            "GOV003-location",
            ("name",),
            f"product {product.name!r} is declared in {loaded.path.name!r}",
            f"name the file after the product: products/{domain}/{name}.yaml{rename} "
            f"(or {name}.v{product.version}.yaml for a superseded version)",
        )
    ]


def valid_name(text: str) -> str:
    """``text`` as a lower_snake_case name without a version suffix (``PlayEvents_v2`` ->
    ``play_events``), for hints that must name something valid."""
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()
    snake = _VERSION_SUFFIX.sub("", re.sub(r"[^a-z0-9]+", "_", snake).strip("_"))
    if not snake:
        return "unnamed"
    return snake if snake[0].isalpha() else f"n_{snake}"


def check_classification(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV007-classification: the classification is one the platform allows."""
    classification = loaded.product.classification
    allowed = context.config.allowed_classifications
    if classification is None or classification in allowed:
        return []
    return [
        violation(
            loaded,
            "GOV007-classification",
            ("classification",),
            f"classification {classification!r} is not allowed on this mesh",
            f"use one of {', '.join(allowed)} (governance.yaml allowedClassifications)",
        )
    ]


def check_partitions(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV008-partitions: partitions within the platform's minimum and maximum."""
    partitions = loaded.product.output_port.partitions
    low, high = context.config.min_partitions, context.config.max_partitions
    if low <= partitions <= high:
        return []
    return [
        violation(
            loaded,
            "GOV008-partitions",
            ("outputPort", "partitions"),
            f"{partitions} partitions is outside {low}..{high}",
            f"choose between {low} and {high} (governance.yaml minPartitions/maxPartitions)",
        )
    ]


def check_retention(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV009-retention: retention within the platform's maximum."""
    retention = loaded.product.output_port.retention
    limit = context.config.max_retention
    if retention is None or not exceeds(retention, limit):
        return []
    return [
        violation(
            loaded,
            "GOV009-retention",
            ("outputPort", "retention"),
            f"retention {format_duration(retention)} exceeds the maximum {format_duration(limit)}",
            f"lower it to {format_duration(limit)} or less (governance.yaml maxRetention)",
        )
    ]


def exceeds(retention: int, limit: int) -> bool:
    """Whether a retention (``-1`` infinite) is longer than a limit (``-1`` infinite)."""
    if limit == INFINITE:
        return False
    return retention == INFINITE or retention > limit


def check_lifecycle(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV014-lifecycle: deprecated and retired versions say why, and until when."""
    product = loaded.product
    if product.status == "active":
        if product.deprecation is None:
            return []
        return [
            violation(
                loaded,
                "GOV014-lifecycle",
                ("deprecation",),
                "an active product has a 'deprecation' block",
                "set 'status: deprecated' to deprecate it, or remove the block",
            )
        ]
    if product.deprecation is None:
        return [
            violation(
                loaded,
                "GOV014-lifecycle",
                ("status",),
                f"status is {product.status!r} but no 'deprecation' says why",
                "add 'deprecation:' with 'note:' (why, and what to use instead), 'sunset:' "
                "(YYYY-MM-DD) and 'replacedBy:'",
            )
        ]
    if product.status == "deprecated" and product.deprecation.sunset is None:
        return [
            violation(
                loaded,
                "GOV014-lifecycle",
                ("deprecation",),
                "a deprecated product has no sunset date",
                "add 'sunset: YYYY-MM-DD' under 'deprecation:' so consumers can plan",
                severity="warning",
            )
        ]
    return []


def check_duplicates(loaded: LoadedProduct, context: PolicyContext) -> list[Violation]:
    """GOV015-duplicate: one file per product version."""
    ref = ref_of(loaded)
    if ref is None:
        return []
    files = context.declared.get(ref, ())
    if len(files) < 2 or files[0] is loaded:
        return []
    return [
        violation(
            loaded,
            "GOV015-duplicate",
            ("name",),
            f"{ref.topic} is also declared in {show_path(files[0].path)}",
            "keep one descriptor per product version; a new major version gets its own "
            "'version:' (and topic)",
        )
    ]
