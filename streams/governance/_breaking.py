"""A breaking schema change needs a new major version (a new topic), never an in-place change."""

from __future__ import annotations

from streams.avro import CompatibilityLevel, check_level, parse_schema
from streams.catalog import LoadedProduct, show_path
from streams.governance._violation import Violation
from streams.naming import topic_for

__all__ = ["BREAKING_RULE", "breaking_change"]

BREAKING_RULE = "GOV020-breaking-change"


def breaking_change(
    old_schema_text: str,
    new_schema_text: str,
    level: CompatibilityLevel = "BACKWARD",
    *,
    product: LoadedProduct | None = None,
) -> list[Violation]:
    """Why replacing ``old`` by ``new`` under the same major version is not allowed.

    Args:
        old_schema_text: The schema registered for the product's topic (its latest version).
        new_schema_text: The schema in the repository.
        level: The product's compatibility level.
        product: The descriptor, to point the violations at its ``outputPort.schema`` line.

    Returns:
        One violation per incompatibility; ``[]`` when the change may be published in place.

    Raises:
        InvalidSchemaError: One of the texts is not valid Avro.
    """
    old, new = parse_schema(old_schema_text), parse_schema(new_schema_text)
    problems = check_level(level, new, [old])
    if not problems:
        return []
    path = line = None
    hint = (
        "make the change compatible, or publish it as a new major version (new topic) and "
        "deprecate the old one"
    )
    if product is not None:
        path, line = show_path(product.path), product.line_of("outputPort", "schema")
        next_major = product.product.version + 1
        hint = (
            "make the change compatible, or publish it as a new major version: a descriptor "
            f"with 'version: {next_major}' (topic {topic_for(product.product.id, next_major)}) "
            "and deprecate this one"
        )
    return [
        Violation(
            rule_id=BREAKING_RULE,
            severity="error",
            path=path,
            line=line,
            message=f"breaks {level} compatibility with the registered schema: {item.describe()}",
            hint=hint,
        )
        for item in problems
    ]
