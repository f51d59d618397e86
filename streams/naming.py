"""Data naming: the one place where product, topic, subject and file names are built.

- product id ``<domain>.<product>`` (e.g. ``player.play_events``)
- product topic ``<domain>.<product>.v<major>`` (e.g. ``player.play_events.v1``)
- dead-letter topic ``<topic>.dlq``
- late-event topic ``<topic>.late`` (events a derived product's window had already closed for)
- a derived product's agent: consumer group ``_mesh.agents.<domain>.<product>.v<major>`` and
  checkpoint topic ``_mesh.agents.<domain>.<product>.v<major>.checkpoints``
- internal topics ``_mesh.<purpose>`` (e.g. ``_mesh.products``)
- OpenLineage run events ``_mesh.lineage``; agents' inputs and outputs ``_mesh.agent_runs``
- the monitor's guarantees: observations ``_mesh.observations``, state changes ``_mesh.alerts``
- value subject ``<topic>-value`` (Confluent's TopicNameStrategy)
- schema file ``schemas/<domain>/<Record>.avsc``; a superseded major version's schema, kept after
  a breaking change so the old version can be deprecated and retired,
  ``schemas/<domain>/<Record>.v<major>.avsc`` (same record name, so its subject stays compatible)
- descriptor file ``products/<domain>/<product>.yaml``; a superseded major version's
  ``products/<domain>/<product>.v<major>.yaml``
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from streams.errors import ConfigError

__all__ = [
    "ProductRef",
    "agent_group",
    "agent_runs_topic",
    "alerts_topic",
    "checkpoint_topic",
    "dlq_topic",
    "internal_topic",
    "late_topic",
    "lineage_topic",
    "observations_topic",
    "parse_product",
    "product_id",
    "schema_file",
    "subject_domain",
    "superseded_major",
    "topic_for",
    "value_subject",
]

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_RECORD = re.compile(r"[A-Z][A-Za-z0-9]*\Z")
_SUPERSEDED = re.compile(r"\.v(?P<major>[1-9][0-9]*)\.[a-z]+\Z")
_PRODUCT_SUBJECT = re.compile(r"(?P<domain>[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\.v[1-9][0-9]*-value\Z")
_REF = re.compile(r"(?P<domain>[^.]+)\.(?P<name>[^.]+)(?:\.v(?P<major>\d+))?\Z")


def _check(kind: str, value: str) -> str:
    if not _NAME.match(value):
        raise ConfigError(
            f"invalid {kind} name {value!r}: use lower_snake_case starting with a letter "
            "(e.g. 'player', 'play_events')"
        )
    return value


@dataclass(frozen=True, slots=True)
class ProductRef:
    """A product at one major version."""

    domain: str
    name: str
    major: int = 1

    @property
    def id(self) -> str:
        """``<domain>.<product>``."""
        return product_id(self.domain, self.name)

    @property
    def topic(self) -> str:
        """``<domain>.<product>.v<major>``."""
        return topic_for(self.id, self.major)

    @property
    def subject(self) -> str:
        """The value subject of the topic."""
        return value_subject(self.topic)

    @property
    def dlq(self) -> str:
        """The dead-letter topic."""
        return dlq_topic(self.topic)


def product_id(domain: str, name: str) -> str:
    """``<domain>.<product>``, both lower_snake_case."""
    return f"{_check('domain', domain)}.{_check('product', name)}"


def parse_product(ref: str, *, major: int | None = None) -> ProductRef:
    """Parse ``domain.product`` or ``domain.product.vN``; ``major`` overrides (default 1)."""
    match = _REF.match(ref)
    if match is None:
        raise ConfigError(
            f"invalid product {ref!r}: write '<domain>.<product>' or '<domain>.<product>.v<major>' "
            "(e.g. 'player.play_events' or 'player.play_events.v1')"
        )
    found = int(match["major"]) if match["major"] else None
    if major is not None and found is not None and major != found:
        raise ConfigError(
            f"product {ref!r} names version {found} but version {major} was asked for"
        )
    chosen = major if major is not None else (found if found is not None else 1)
    if chosen < 1:
        raise ConfigError(f"invalid major version {chosen} for {ref!r}: versions start at 1")
    return ProductRef(_check("domain", match["domain"]), _check("product", match["name"]), chosen)


def topic_for(product: str, major: int) -> str:
    """The topic of a product id at a major version."""
    ref = parse_product(product)
    if major < 1:
        raise ConfigError(f"invalid major version {major} for {product!r}: versions start at 1")
    return f"{ref.domain}.{ref.name}.v{major}"


def value_subject(topic: str) -> str:
    """The registry subject of a topic's values."""
    return f"{topic}-value"


def subject_domain(subject: str) -> str | None:
    """The domain owning ``subject`` when it is a product's value subject
    (``<domain>.<product>.v<major>-value``), else None (a subject only the admin may change)."""
    match = _PRODUCT_SUBJECT.match(subject)
    return match["domain"] if match else None


def dlq_topic(topic: str) -> str:
    """Where undecodable messages of ``topic`` go."""
    return f"{topic}.dlq"


def late_topic(topic: str) -> str:
    """Where a derived product's agents put events of ``topic`` that came after their window."""
    return f"{topic}.late"


def agent_group(ref: ProductRef) -> str:
    """The consumer group (faust app id) of the agents computing derived product ``ref``."""
    return f"{internal_topic('agents')}.{ref.domain}.{ref.name}.v{ref.major}"


def checkpoint_topic(ref: ProductRef) -> str:
    """The compacted topic of the checkpoints (state + input offsets) of ``ref``'s agents."""
    return f"{agent_group(ref)}.checkpoints"


def internal_topic(purpose: str) -> str:
    """A platform-internal topic, ``_mesh.<purpose>``."""
    return f"_mesh.{_check('purpose', purpose)}"


def lineage_topic() -> str:
    """Where agents and replays publish OpenLineage run events: ``_mesh.lineage``."""
    return internal_topic("lineage")


def agent_runs_topic() -> str:
    """The compacted catalog of what each agent reads and writes: ``_mesh.agent_runs``."""
    return internal_topic("agent_runs")


def observations_topic() -> str:
    """The compacted topic of the latest observation per product and guarantee:
    ``_mesh.observations``."""
    return internal_topic("observations")


def alerts_topic() -> str:
    """Where a guarantee's change of state (met, at risk, breached) is published:
    ``_mesh.alerts``."""
    return internal_topic("alerts")


def schema_file(root: Path, domain: str, record: str, *, major: int | None = None) -> Path:
    """``<root>/schemas/<domain>/<Record>.avsc``, or ``<Record>.v<major>.avsc`` for the schema
    of a superseded major version (see :func:`superseded_major`)."""
    if not _RECORD.match(record):
        raise ConfigError(f"invalid record name {record!r}: use PascalCase (e.g. 'PlayEvent')")
    if major is not None and major < 1:
        raise ConfigError(f"invalid major version {major} for {record!r}: versions start at 1")
    suffix = "" if major is None else f".v{major}"
    return root / "schemas" / _check("domain", domain) / f"{record}{suffix}.avsc"


def superseded_major(path: Path) -> int | None:
    """The major version of a superseded version's file (``PlayEvent.v1.avsc``,
    ``play_events.v1.yaml``), or None for a current one (``PlayEvent.avsc``)."""
    match = _SUPERSEDED.search(path.name)
    return int(match["major"]) if match else None
