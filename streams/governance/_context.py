"""What every policy sees besides its product: thresholds, the other products, and helpers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.catalog import LoadedProduct, show_path
from streams.errors import ConfigError
from streams.governance._config import GovernanceConfig
from streams.governance._violation import Severity, Violation
from streams.naming import ProductRef
from streams.avro.schema import ParsedSchema

__all__ = [
    "Policy",
    "PolicyContext",
    "field_line",
    "field_type",
    "iter_fields",
    "ref_of",
    "resolve_field",
    "violation",
]


@dataclass(frozen=True, slots=True)
class PolicyContext:
    """The mesh as the policies see it.

    Attributes:
        config: The thresholds of ``governance.yaml``.
        root: The repository root.
        products: Every loaded product with a valid name, by reference (first file wins).
        declared: Every file declaring each reference (more than one is a conflict).
        consumers: For each product, the products that list it as an input.
    """

    config: GovernanceConfig
    root: Path
    products: Mapping[ProductRef, LoadedProduct] = field(default_factory=dict)
    declared: Mapping[ProductRef, tuple[LoadedProduct, ...]] = field(default_factory=dict)
    consumers: Mapping[ProductRef, tuple[ProductRef, ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls, products: Sequence[LoadedProduct], *, config: GovernanceConfig, root: Path
    ) -> PolicyContext:
        """Index ``products``; those whose names break the convention are left out."""
        declared: dict[ProductRef, list[LoadedProduct]] = {}
        consumers: dict[ProductRef, list[ProductRef]] = {}
        for loaded in products:
            ref = ref_of(loaded)
            if ref is None:
                continue
            declared.setdefault(ref, []).append(loaded)
            for port in loaded.product.input_ports:
                consumers.setdefault(port.ref, []).append(ref)
        products_dir = (root / "products").resolve()
        for ref, files in declared.items():
            # The file in its domain's folder is the real one; others are the duplicates.
            files.sort(key=lambda f: f.path.resolve().parent != products_dir / ref.domain)
        return cls(
            config=config,
            root=root,
            products={ref: files[0] for ref, files in declared.items()},
            declared={ref: tuple(files) for ref, files in declared.items()},
            consumers={ref: tuple(dict.fromkeys(refs)) for ref, refs in consumers.items()},
        )


Policy = Callable[[LoadedProduct, PolicyContext], list[Violation]]
"""A governance policy: pure, one product at a time, returning what it finds."""


def ref_of(loaded: LoadedProduct) -> ProductRef | None:
    """The product's reference, or ``None`` when its domain or name breaks the convention."""
    try:
        return loaded.product.ref
    except ConfigError:
        return None


def violation(
    loaded: LoadedProduct,
    rule_id: str,
    location: Sequence[str | int],
    message: str,
    hint: str,
    *,
    severity: Severity = "error",
) -> Violation:
    """A violation at a key of the descriptor (or its nearest written ancestor)."""
    return Violation(
        rule_id=rule_id,
        severity=severity,
        path=show_path(loaded.path),
        line=loaded.source.line_of(tuple(location)),
        message=message,
        hint=hint,
    )


def iter_fields(schema: ParsedSchema) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every field of the record, nested records' fields included, as ``(dotted path, field)``.

    A record type is walked once (where it is first used), so recursive types terminate.
    """
    seen: set[str] = set()

    def walk(record: dict[str, Any], prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
        seen.add(str(record.get("name")))
        for item in record.get("fields", []):
            path = f"{prefix}{item['name']}"
            yield path, item
            nested = _record_of(item["type"], schema)
            if nested is not None and str(nested.get("name")) not in seen:
                yield from walk(nested, f"{path}.")

    definition = schema.definition
    if isinstance(definition, dict):
        yield from walk(definition, "")


def resolve_field(schema: ParsedSchema, dotted: str) -> dict[str, Any] | None:
    """The field at a dotted path such as ``context.playlist_id``, or ``None``."""
    return dict(iter_fields(schema)).get(dotted)


def field_type(item: dict[str, Any], schema: ParsedSchema) -> Any:
    """A field's type with ``null`` removed from a two-branch union and names resolved."""
    kind = item["type"]
    if isinstance(kind, list):
        branches = [branch for branch in kind if branch != "null"]
        kind = branches[0] if len(branches) == 1 else kind
    if isinstance(kind, str) and kind in schema.named:
        kind = schema.named[kind]
    return kind


def _record_of(kind: Any, schema: ParsedSchema) -> dict[str, Any] | None:
    resolved = field_type({"type": kind}, schema)
    if isinstance(resolved, dict) and resolved.get("type") == "record":
        return resolved
    return None


def field_line(loaded: LoadedProduct, name: str) -> int:
    """The line of a field's ``"name": "<name>"`` in the schema file (1 when not found)."""
    pattern = re.compile(r'"name"\s*:\s*"' + re.escape(name) + '"')
    for number, line in enumerate(loaded.schema_text.splitlines(), start=1):
        if pattern.search(line):
            return number
    return 1
