"""The catalog as published on ``_mesh.products``: list, search, show, and resolve for consumers.

A :class:`Catalog` is built from the topic (:meth:`Catalog.from_store`), never from local files,
so every machine on the mesh sees the same products. It also implements
:class:`streams.kafka.directory.ProductDirectory`, so a :class:`streams.kafka.Consumer` given
``directory=catalog`` reads topics the catalog knows and is warned about deprecated ones.
"""

from __future__ import annotations

import builtins
import datetime
import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from streams.avro import ParsedSchema, describe_type, iter_docs, iter_fields, parse_schema
from streams.catalog._model import (
    Classification,
    Deprecation,
    Description,
    Guarantees,
    Kind,
    Owner,
    Product,
    Status,
)
from streams.catalog._version import choose_version
from streams.catalog.store import PRODUCTS_TOPIC, CatalogEntry, CatalogStore, Rejected
from streams.errors import ConfigError, InvalidSchemaError
from streams.kafka.directory import ProductStatus
from streams.naming import ProductRef, parse_product

__all__ = ["Catalog", "ProductView", "SchemaField", "VersionInfo"]

_WHERE = f"the catalog ({PRODUCTS_TOPIC})"


@dataclass(frozen=True, slots=True)
class SchemaField:
    """One field of a product's value schema; nested record fields get dotted names.

    Attributes:
        name: ``user_id``, or ``context.playlist_id`` inside a nested record.
        type: The Avro type, shortened (``string``, ``null | Context``, ``timestamp-millis``).
        doc: The field's documentation.
        pii: Whether the schema marks the field as personal data (``"pii": "encrypt"`` or
            ``"pseudonymize"``).
    """

    name: str
    type: str
    doc: str | None
    pii: bool


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One published major version of a product."""

    version: int
    key: str
    status: Status
    published_at: datetime.datetime


@dataclass(frozen=True, slots=True)
class ProductView:
    """Everything :meth:`Catalog.show` tells about one product version.

    Attributes:
        entry: The catalog entry shown (descriptor, schema, subject, publication time).
        fields: The value schema's fields with their docs and PII flags.
        inputs: Keys (``<domain>.<name>.v<major>``) of the products this one is derived from.
        consumers: Keys of the catalog products that list this version as an input.
        versions: Every published major version of the product, oldest first.
    """

    entry: CatalogEntry
    fields: tuple[SchemaField, ...]
    inputs: tuple[str, ...]
    consumers: tuple[str, ...]
    versions: tuple[VersionInfo, ...]

    @property
    def product(self) -> Product:
        """The descriptor."""
        return self.entry.product

    @property
    def owner(self) -> Owner | None:
        """The owning team."""
        return self.product.owner

    @property
    def description(self) -> Description | None:
        """Purpose, usage and limitations."""
        return self.product.description

    @property
    def guarantees(self) -> Guarantees | None:
        """The promised service levels."""
        return self.product.guarantees

    @property
    def status(self) -> Status:
        """``active``, ``deprecated`` or ``retired``."""
        return self.product.status

    @property
    def deprecation(self) -> Deprecation | None:
        """Why and until when the version is deprecated."""
        return self.product.deprecation

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (descriptor parts in their camelCase descriptor form)."""
        product, ref = self.product, self.product.ref
        return {
            "id": product.id,
            "key": self.entry.key,
            "version": product.version,
            "kind": product.kind,
            "status": product.status,
            "deprecation": _dump(product.deprecation),
            "owner": _dump(product.owner),
            "description": _dump(product.description),
            "classification": product.classification,
            "tags": list(product.tags),
            "ports": {
                "output": {
                    "topic": ref.topic,
                    "subject": self.entry.subject,
                    "dlq": ref.dlq,
                    **product.output_port.model_dump(mode="json"),
                },
                "inputs": list(self.inputs),
            },
            "schema": {
                "subject": self.entry.subject,
                "id": self.entry.schema_id,
                "fields": [
                    {"name": f.name, "type": f.type, "doc": f.doc, "pii": f.pii}
                    for f in self.fields
                ],
            },
            "guarantees": _dump(product.guarantees),
            "quality": [rule.model_dump(mode="json") for rule in product.quality],
            "inputs": list(self.inputs),
            "consumers": list(self.consumers),
            "versions": [
                {
                    "version": v.version,
                    "key": v.key,
                    "status": v.status,
                    "published_at": v.published_at.isoformat(),
                }
                for v in self.versions
            ],
            "published_at": self.entry.published_at.isoformat(),
        }


def _dump(model: Owner | Description | Deprecation | Guarantees | None) -> Any:
    return None if model is None else model.model_dump(mode="json")


class Catalog:
    """Published products, keyed by ``<domain>.<name>.v<major>``.

    Args:
        entries: The catalog entries, e.g. from :meth:`CatalogStore.read`.
        rejected: The records the store ignored (forged, unsigned, undecodable), to report.
    """

    def __init__(
        self, entries: Mapping[str, CatalogEntry], *, rejected: Sequence[Rejected] = ()
    ) -> None:
        self._entries = dict(sorted(entries.items(), key=lambda item: _order(item[1])))
        self.rejected: tuple[Rejected, ...] = tuple(rejected)

    @classmethod
    def from_store(cls, store: CatalogStore) -> Catalog:
        """The catalog as the topic holds it now.

        Raises:
            BrokerUnavailableError: Kafka cannot be reached.
        """
        entries = store.read()
        return cls(entries, rejected=store.rejected)

    @property
    def entries(self) -> dict[str, CatalogEntry]:
        """Every entry, by key, ordered by product id and version."""
        return dict(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(self._entries.values())

    def list(
        self,
        *,
        domain: str | None = None,
        kind: Kind | None = None,
        tag: str | None = None,
        classification: Classification | None = None,
        text: str | None = None,
    ) -> builtins.list[CatalogEntry]:
        """The entries matching every filter given, ordered by product id and version.

        Args:
            domain: Only this domain.
            kind: Only this kind (``source-aligned``, ``aggregate``, ``consumer-aligned``).
            tag: Only products carrying this tag.
            classification: Only this classification.
            text: Case-insensitive search over product ids, names, descriptions and the
                schema's docs (record and fields).
        """
        needle = text.casefold() if text else None
        found: builtins.list[CatalogEntry] = []
        for entry in self._entries.values():
            product = entry.product
            if domain is not None and product.domain != domain:
                continue
            if kind is not None and product.kind != kind:
                continue
            if tag is not None and tag not in product.tags:
                continue
            if classification is not None and product.classification != classification:
                continue
            if needle is not None and not any(needle in s.casefold() for s in _searchable(entry)):
                continue
            found.append(entry)
        return found

    def versions_of(self, product_id: str) -> dict[int, Status]:
        """Every published major version of ``product_id`` with its status, oldest first."""
        return {
            e.product.version: e.product.status
            for e in self._entries.values()
            if e.product.id == product_id
        }

    def pick(self, name: str, *, version: int | None = None) -> ProductRef:
        """The product version a command means by ``name``: the one resolver of the CLI.

        ``domain.product.vN`` or ``version`` pick that version, which must be published; a bare
        ``domain.product`` is its latest active major version (see
        :func:`~streams.catalog.choose_version`). A product the catalog does not know is read
        by the naming convention (version 1 unless one is given): callers that need it
        published check :meth:`resolve`.

        Raises:
            ConfigError: The name is malformed, or names a version that is not published.
        """
        ref = parse_product(name, major=version)
        return choose_version(name, self.versions_of(ref.id), version=version, where=_WHERE)

    def show(self, name: str, *, version: int | None = None) -> ProductView:
        """One product: ``domain.product`` (its latest active version) or ``domain.product.vN``.

        Raises:
            ConfigError: The name is malformed, or no such product (version) is published; the
                message lists close matches.
        """
        ref = parse_product(name, major=version)
        versions = [e for e in self._entries.values() if e.product.id == ref.id]
        if not versions:
            raise ConfigError(self._unknown(name))
        chosen = self._entries[self.pick(name, version=version).topic]
        consumers = sorted(
            other.key
            for other in self._entries.values()
            if other.key != chosen.key
            and any(port.ref.topic == chosen.key for port in other.product.input_ports)
        )
        return ProductView(
            entry=chosen,
            fields=tuple(schema_fields(chosen.schema)),
            inputs=tuple(port.ref.topic for port in chosen.product.input_ports),
            consumers=tuple(consumers),
            versions=tuple(
                VersionInfo(e.product.version, e.key, e.product.status, e.published_at)
                for e in versions
            ),
        )

    def resolve(self, ref: ProductRef) -> ProductStatus | None:
        """The topic and lifecycle status of ``ref``, or None if it is not published.

        Implements :class:`streams.kafka.directory.ProductDirectory`.
        """
        entry = self._entries.get(ref.topic)
        if entry is None:
            return None
        deprecation = entry.product.deprecation
        return ProductStatus(
            topic=entry.product.topic,
            status=entry.product.status,
            note=deprecation.note if deprecation else None,
            replaced_by=deprecation.replaced_by if deprecation else None,
            key=entry.product.output_port.key,
        )

    def _unknown(self, name: str) -> str:
        ignored = [r for r in self.rejected if r.key == name or r.key.startswith(f"{name}.v")]
        if ignored:
            return (
                f"product {name!r} is in the catalog ({PRODUCTS_TOPIC}) but ignored: "
                f"{ignored[-1].reason}"
            )
        names = sorted({e.product.id for e in self} | set(self._entries))
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        return (
            f"no product {name!r} in the catalog ({PRODUCTS_TOPIC}); {hint}"
            "see 'mesh product list', or publish it with 'mesh product apply'"
        )


def _order(entry: CatalogEntry) -> tuple[str, int]:
    return entry.product.id, entry.product.version


def _searchable(entry: CatalogEntry) -> Iterator[str]:
    product = entry.product
    yield from (entry.key, product.id, product.name)
    if product.description is not None:
        yield product.description.purpose
        yield product.description.usage
        if product.description.limitations:
            yield product.description.limitations
    yield from _docs(_parse(entry.schema))


def _parse(text: str) -> ParsedSchema | None:
    try:
        return parse_schema(text)
    except InvalidSchemaError:
        return None


def _docs(schema: ParsedSchema | None) -> Iterator[str]:
    """Every ``doc`` string of a schema (none when it cannot be parsed)."""
    if schema is not None:
        yield from iter_docs(schema)


def schema_fields(text: str) -> list[SchemaField]:
    """The fields of an Avro record schema (nested records flattened with dotted names).

    A schema that is not a valid record yields no fields.
    """
    schema = _parse(text)
    if schema is None:
        return []
    return [
        SchemaField(
            name=info.path,
            type=describe_type(info.type, schema),
            doc=info.doc,
            pii=info.pii,
        )
        for info in iter_fields(schema)
    ]
