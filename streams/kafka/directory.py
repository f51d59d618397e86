"""Where consumers look product names up: the plug point the catalog implements.

``streams.kafka`` sits below ``streams.catalog`` and may not import it, so the consumer depends
only on this protocol; :class:`streams.catalog.Catalog` implements it from the ``_mesh.products``
topic, and tests can pass a small fake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from streams.naming import ProductRef

__all__ = ["ProductDirectory", "ProductStatus"]


@dataclass(frozen=True, slots=True)
class ProductStatus:
    """What the directory knows about one product version.

    Attributes:
        topic: The topic to read.
        status: ``active``, ``deprecated`` (still served, consumers are warned) or ``retired``
            (no longer served).
        note: The owner's deprecation or retirement note.
        replaced_by: The product version to move to (e.g. ``player.play_events.v2``).
    """

    topic: str
    status: Literal["active", "deprecated", "retired"]
    note: str | None = None
    replaced_by: str | None = None


class ProductDirectory(Protocol):
    """Resolves product references to topics and lifecycle status."""

    def resolve(self, ref: ProductRef) -> ProductStatus | None:
        """The product's status, or None when the directory does not know it."""
        ...
