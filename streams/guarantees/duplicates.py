"""Which field identifies an event, and its 64-bit hash for duplicate detection.

Duplicates are found exactly up to 64-bit hash collisions: each minute bucket of the sliding
window keeps a Python set of the hashes of the ids appended in it, and an id already in a live
bucket's set is a duplicate; a bucket's set is dropped as it leaves the window, so the state is
bounded by the ids of one window. Among ``n`` distinct ids, the chance that any two share a hash
is about ``n**2 / 2**65``: below 1e-8 for a million ids per window. A UUID contributes its first
8 bytes (random in a version 4 UUID); any other value the first 8 bytes of its BLAKE2b digest.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection

from streams.catalog import Product, UniqueRule

__all__ = ["DEFAULT_ID_FIELD", "id_field", "id_hash"]

DEFAULT_ID_FIELD = "event_id"
"""The id measured when the descriptor has no ``unique`` rule and the schema has this field."""

_MASK = (1 << 64) - 1


def id_field(product: Product, schema_fields: Collection[str] | None = None) -> str | None:
    """The field whose repeats are duplicates, or None: duplicates are not measured.

    The field of the descriptor's ``unique`` rule, else ``event_id`` when the value schema has it
    (``schema_fields`` None: assume it has).
    """
    for rule in product.quality:
        if isinstance(rule, UniqueRule):
            return rule.field
    if schema_fields is None or DEFAULT_ID_FIELD in schema_fields:
        return DEFAULT_ID_FIELD
    return None


def id_hash(value: object) -> int:
    """A 64-bit hash of an id value (a UUID's first 8 bytes; BLAKE2b-8 of anything else)."""
    if type(value) is uuid.UUID:
        return value.int >> 64
    if type(value) is int:
        return value & _MASK
    if isinstance(value, str):
        data = value.encode()
    elif isinstance(value, bytes):
        data = value
    else:
        data = repr(value).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")
