"""Where consumers look product names up: the plug point the catalog implements.

``streams.kafka`` sits below ``streams.catalog`` and may not import it, so the consumer depends
only on this protocol; :class:`streams.catalog.Catalog` implements it from the ``_mesh.products``
topic, and tests can pass a small fake.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from streams.errors import ConfigError, ProductDeprecatedWarning
from streams.naming import ProductRef, internal_topic, parse_product

__all__ = ["ProductDirectory", "ProductStatus", "VersionPicker", "product_ref", "resolve_topic"]


@dataclass(frozen=True, slots=True)
class ProductStatus:
    """What the directory knows about one product version.

    Attributes:
        topic: The topic to read.
        status: ``active``, ``deprecated`` (still served, consumers are warned) or ``retired``
            (no longer served).
        note: The owner's deprecation or retirement note.
        replaced_by: The product version to move to (e.g. ``player.play_events.v2``).
        key: The descriptor's key field (``outputPort.key``, e.g. ``user_id``): producers key
            events by its value, so each key's events share a partition. None: not keyed.
    """

    topic: str
    status: Literal["active", "deprecated", "retired"]
    note: str | None = None
    replaced_by: str | None = None
    key: str | None = None


class ProductDirectory(Protocol):
    """Resolves product references to topics and lifecycle status."""

    def resolve(self, ref: ProductRef) -> ProductStatus | None:
        """The product's status, or None when the directory does not know it."""
        ...


@runtime_checkable
class VersionPicker(Protocol):
    """A directory that also knows which version a bare product name means (the catalog does)."""

    def pick(self, name: str, *, version: int | None = None) -> ProductRef:
        """The version ``name`` means: a bare ``domain.product`` is its latest active major
        version (a product the directory does not know: version 1)."""
        ...


def product_ref(directory: ProductDirectory | None, product: str | ProductRef) -> ProductRef:
    """The product version a client means by ``product``, as every ``mesh`` command reads it.

    A :class:`ProductRef` or a name with its version (``player.play_events.v2``) is that version;
    a bare name (``player.play_events``) is the latest active major version when the directory
    can tell (:class:`VersionPicker`, e.g. the catalog), else version 1.
    """
    if isinstance(product, ProductRef):
        return product
    ref = parse_product(product)
    bare = product.count(".") == 1
    if bare and isinstance(directory, VersionPicker):
        return directory.pick(product)
    return ref


def resolve_topic(directory: ProductDirectory, ref: ProductRef) -> str:
    """The topic of ``ref`` per the directory; warn if deprecated, raise if retired or unknown.

    Call it straight from the constructor of the public client: the warning points two frames up.
    """
    status = directory.resolve(ref)
    if status is None:
        raise ConfigError(
            f"product {ref.topic} is not in the catalog ({internal_topic('products')}): check the "
            f"name with 'mesh product list', or publish it with 'mesh product apply "
            f"products/{ref.domain}/{ref.name}.yaml'"
        )
    if status.status == "retired":
        raise ConfigError(
            f"product {ref.topic} is retired and no longer served"
            f"{': ' + status.note if status.note else ''}; "
            f"read {status.replaced_by or 'a newer version'} instead "
            f"(see 'mesh product show {ref.id}')"
        )
    if status.status == "deprecated":
        successor = status.replaced_by or f"a newer version (see 'mesh product show {ref.id}')"
        # stacklevel 3: point at the code that created the Consumer, not at __init__.
        warnings.warn(
            ProductDeprecatedWarning(
                f"product {ref.topic} is deprecated: {status.note or 'no note given'}; "
                f"move to {successor}"
            ),
            stacklevel=3,
        )
    return status.topic
