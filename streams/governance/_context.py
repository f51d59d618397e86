"""What every policy sees besides its product: thresholds, the other products, and helpers."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from streams.avro import FieldInfo, ParsedSchema, iter_fields
from streams.catalog import LoadedProduct, show_path
from streams.errors import ConfigError
from streams.governance._config import GovernanceConfig
from streams.governance._violation import Severity, Violation
from streams.naming import ProductRef

__all__ = [
    "Policy",
    "PolicyContext",
    "field_line",
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


def resolve_field(schema: ParsedSchema, dotted: str) -> FieldInfo | None:
    """The field at a dotted path such as ``context.playlist_id``, or ``None``."""
    return next((info for info in iter_fields(schema) if info.path == dotted), None)


def field_line(loaded: LoadedProduct, name: str) -> int:
    """The line of a field's ``"name": "<name>"`` in the schema file (1 when not found)."""
    pattern = re.compile(r'"name"\s*:\s*"' + re.escape(name) + '"')
    for number, line in enumerate(loaded.schema_text.splitlines(), start=1):
        if pattern.search(line):
            return number
    return 1
