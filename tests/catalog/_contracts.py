"""Data contracts for the import tests, and what "the same product" means after a round trip."""

from __future__ import annotations

from pathlib import Path

from streams.catalog import Product

CONTRACTS = Path(__file__).parent / "contracts"
SELLER = CONTRACTS / "seller_payments.odcs.yaml"
"""An ODCS v3.1.0 contract written by hand from the specification's examples."""


def assert_equivalent(imported: Product, original: Product) -> None:
    """The same product: equal but for the order of the quality rules (export lists them by
    field, in schema order)."""
    assert set(imported.quality) == set(original.quality)
    assert len(imported.quality) == len(original.quality)
    assert imported.model_copy(update={"quality": ()}) == original.model_copy(
        update={"quality": ()}
    )
