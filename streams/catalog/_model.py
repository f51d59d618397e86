"""The product descriptor (``products/<domain>/<name>.yaml``) as frozen pydantic models.

Keys are camelCase, close to ODPS v1 (``outputPort``, ``inputPorts``, ``status``) and ODCS v3
(``quality``); ``guarantees`` become ODCS ``slaProperties`` on export. The topic and subject are
never written: they are derived from domain, name and version by :mod:`streams.naming`.

Owner, description, retention, classification and guarantees are optional *here* so that a
descriptor missing them still loads: governance (``GOV001-required``) reports them, with a line.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from streams.avro import CompatibilityLevel
from streams.catalog._duration import format_duration, parse_duration, parse_retention
from streams.errors import ConfigError
from streams.naming import ProductRef, parse_product, product_id

__all__ = [
    "CLASSIFICATIONS",
    "AllowedValuesRule",
    "Classification",
    "Deprecation",
    "Description",
    "Duration",
    "Guarantees",
    "InputPort",
    "Kind",
    "NotNullRule",
    "OutputPort",
    "Owner",
    "Product",
    "QualityRule",
    "RangeRule",
    "Retention",
    "Status",
    "UniqueRule",
]

Kind = Literal["source-aligned", "aggregate", "consumer-aligned"]
Status = Literal["active", "deprecated", "retired"]
Classification = Literal["public", "internal", "confidential", "restricted"]
CLASSIFICATIONS: tuple[Classification, ...] = get_args(Classification)
"""Classifications from least to most sensitive."""

Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
"""Seconds, written ``30s``, ``5m``, ``1h``, ``7d`` or ``2w``."""

Retention = Annotated[
    int,
    BeforeValidator(parse_retention),
    PlainSerializer(format_duration, return_type=str),
]
"""Seconds, or ``-1`` (``infinite``): how long the topic keeps events."""

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _whole_major(value: object) -> object:
    """Refuse ``version: 1.0`` (or ``true``): a major version is a whole number, and pydantic
    would quietly turn 1.0 into 1 (and ``1.5`` is no version at all)."""
    if isinstance(value, bool | float):
        shown = str(value).lower() if isinstance(value, bool) else repr(value)
        raise ValueError(
            f"the major version is a whole number: write e.g. 'version: 1', not {shown} "
            "(a minor change keeps the major version; a breaking one takes the next)"
        )
    return value


MajorVersion = Annotated[int, BeforeValidator(_whole_major), Field(ge=1, examples=[1])]
"""A major version: a whole number from 1 (``1.0`` and ``true`` are refused, not coerced)."""


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
    )


class Owner(_Model):
    """The team accountable for the product."""

    team: str = Field(
        min_length=1, examples=["player-platform"], description="The owning team's name."
    )
    contact: str = Field(
        pattern=_EMAIL,
        examples=["player-platform@tunewave.example"],
        description="An e-mail address that reaches the team.",
    )


class Description(_Model):
    """What the product means (ODPS ``description``)."""

    purpose: str = Field(
        min_length=1,
        examples=["Every playback of a track, as it ends."],
        description="What one event (or record) of the product says, and when it is sent.",
    )
    usage: str = Field(
        min_length=1,
        examples=["Royalties, charts, recommendations."],
        description="What consumers use it for, and how (deduplicate, order, upsert).",
    )
    limitations: str | None = Field(
        default=None, description="What it does not promise: known gaps, delays, caveats."
    )


class OutputPort(_Model):
    """The topic the product publishes: its schema, key and Kafka settings."""

    schema_file: str = Field(
        alias="schema",
        examples=["schemas/player/PlayEvent.avsc"],
        description="The Avro schema file, relative to the repository root.",
    )
    key: str | None = Field(
        default=None,
        examples=["user_id"],
        description="The field whose value keys each event (so a key's events share a "
        "partition); unset, events have null keys.",
    )
    event_time: str = Field(
        examples=["event_time"],
        description="The field holding when the event happened (windows and freshness use it).",
    )
    partitions: int = Field(
        ge=1, examples=[6], description="Partitions of the topic (fixed at creation)."
    )
    retention: Retention | None = Field(
        default=None,
        examples=["7d", "infinite"],
        description="How long the topic keeps events (Kafka's retention.ms). Lint requires it.",
    )
    compatibility: CompatibilityLevel = Field(
        default="BACKWARD",
        description="The registry's compatibility level for the product's value subject.",
    )

    @property
    def retention_ms(self) -> int | None:
        """Kafka's ``retention.ms`` (``-1`` for infinite), or ``None`` when not declared."""
        if self.retention is None:
            return None
        return self.retention * 1000 if self.retention > 0 else self.retention


class InputPort(_Model):
    """A product this one is derived from, at one major version."""

    product: str = Field(
        examples=["player.play_events"], description="The input product, <domain>.<name>."
    )
    version: MajorVersion = Field(default=1, description="The input's major version.")

    @field_validator("product")
    @classmethod
    def _product_id(cls, value: str) -> str:
        try:
            ref = parse_product(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        if value != ref.id:
            raise ValueError(
                f"write the product id without version, e.g. {ref.id!r}, and the major version "
                f"as 'version: {ref.major}'"
            )
        return value

    @property
    def ref(self) -> ProductRef:
        """The input product at its major version."""
        return parse_product(self.product, major=self.version)


class Guarantees(_Model):
    """Service levels the owner promises (exported as ODCS ``slaProperties``).

    Shares are fractions: ``completeness: 0.999`` means at most 0.1 % of events are lost.

    ``validity`` and ``maxDeadLetters`` are optional; unset, the monitor holds the product to
    :attr:`Product.promised_validity` and :attr:`Product.promised_dead_letters`.
    """

    freshness: Duration = Field(
        examples=["5m"], description="Most time between now and the newest event time."
    )
    latency: Duration = Field(
        examples=["30s"],
        description="Most time from an event's event time to its append to the topic (p99).",
    )
    completeness: float = Field(
        ge=0,
        le=1,
        examples=[0.999],
        description="Least share of events appended within the latency promise (for an "
        "aggregate: of the windows its inputs imply, emitted final).",
    )
    max_duplicate_share: float = Field(
        ge=0,
        le=1,
        examples=[0.001],
        description="Most share of events whose id was seen before in the window.",
    )
    availability: float = Field(
        ge=0,
        le=1,
        examples=[0.999],
        description="Least share of time the topic accepts and serves events (not measured yet).",
    )
    validity: float | None = Field(
        default=None,
        ge=0,
        le=1,
        examples=[0.999],
        description=(
            "Share of events passing the quality rules. Default: 1.0 when the descriptor has "
            "rules other than 'unique', else not measured."
        ),
    )
    max_dead_letters: int | None = Field(
        default=None,
        ge=0,
        examples=[0],
        description="Dead letters allowed per monitoring window (default 5 min). Default: 0.",
    )


class _Rule(_Model):
    field: str = Field(
        min_length=1, examples=["event_id"], description="The schema field the rule checks."
    )
    description: str | None = Field(default=None, description="Why the rule holds.")


class NotNullRule(_Rule):
    """The field is never null."""

    rule: Literal["not_null"]


class RangeRule(_Rule):
    """The field's numeric value lies within ``min``..``max`` (inclusive)."""

    rule: Literal["range"]
    min: float | None = Field(default=None, description="The least value allowed.")
    max: float | None = Field(default=None, description="The greatest value allowed.")

    @model_validator(mode="after")
    def _bounds(self) -> RangeRule:
        if self.min is None and self.max is None:
            raise ValueError("a range rule needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}; swap them")
        return self


class AllowedValuesRule(_Rule):
    """The field only takes the listed values."""

    rule: Literal["allowed_values"]
    values: tuple[str | int | float | bool, ...] = Field(
        min_length=1, description="The values allowed."
    )


class UniqueRule(_Rule):
    """The field identifies an event: no two events share a value."""

    rule: Literal["unique"]


QualityRule = Annotated[
    NotNullRule | RangeRule | AllowedValuesRule | UniqueRule, Field(discriminator="rule")
]


class Deprecation(_Model):
    """Why a product version is deprecated, and until when it is served."""

    note: str = Field(
        min_length=1,
        examples=["Replaced by player.play_events v2 (adds bitrate)."],
        description="Why, and what consumers should do.",
    )
    sunset: datetime.date | None = Field(
        default=None, examples=["2026-06-30"], description="The last day it is served."
    )
    replaced_by: str | None = Field(
        default=None, examples=["player.play_events.v2"], description="The version to move to."
    )


class Product(_Model):
    """One product descriptor: a topic at one major version, its owner, meaning and guarantees."""

    name: str = Field(
        examples=["play_events"], description="The product's name in its domain, lower_snake_case."
    )
    domain: str = Field(
        examples=["player"], description="The owning domain, lower_snake_case (its identity)."
    )
    version: MajorVersion = Field(
        description="The major version: a breaking schema change takes the next, a new topic."
    )
    kind: Kind = Field(
        description="source-aligned: written by producers; aggregate: computed from inputPorts "
        "by an agent (products/<domain>/<name>.py); consumer-aligned: shaped for one use."
    )
    status: Status = Field(
        default="active",
        description="The lifecycle: a deprecated version still serves, a retired one refuses "
        "events.",
    )
    deprecation: Deprecation | None = Field(
        default=None, description="Why the version is deprecated (with status: deprecated)."
    )
    owner: Owner | None = Field(
        default=None, description="The team accountable for the product. Lint requires it."
    )
    description: Description | None = Field(
        default=None, description="What the product means (ODPS description). Lint requires it."
    )
    classification: Classification | None = Field(
        default=None,
        description="How sensitive it is; personal data forces confidential or higher, and "
        "confidential or restricted products are read only with a grant. Lint requires it.",
    )
    tags: tuple[str, ...] = Field(default=(), description="Free words to find the product by.")
    output_port: OutputPort = Field(
        description="The topic it publishes (derived: <domain>.<name>.v<version>)."
    )
    input_ports: tuple[InputPort, ...] = Field(
        default=(), description="The products it is computed from (aggregate, consumer-aligned)."
    )
    guarantees: Guarantees | None = Field(
        default=None,
        description="Service levels the owner promises; `mesh guarantees` shows them measured. "
        "Lint requires them.",
    )
    quality: tuple[QualityRule, ...] = Field(
        default=(),
        description="Rules every event keeps: emit enforces them, the monitor measures validity.",
    )

    @property
    def id(self) -> str:
        """``<domain>.<name>``.

        Raises:
            ConfigError: The domain or name breaks the naming convention.
        """
        return product_id(self.domain, self.name)

    @property
    def ref(self) -> ProductRef:
        """This product at its major version (topic, subject and DLQ come from it).

        Raises:
            ConfigError: The domain or name breaks the naming convention.
        """
        return parse_product(self.id, major=self.version)

    @property
    def topic(self) -> str:
        """The output topic, ``<domain>.<name>.v<version>``."""
        return self.ref.topic

    @property
    def promised_validity(self) -> float | None:
        """The share of valid events promised: ``guarantees.validity``, else 1.0 when there are
        quality rules other than ``unique`` to break, else None (nothing to measure).

        None too when the descriptor has no ``guarantees``.
        """
        if self.guarantees is None:
            return None
        if self.guarantees.validity is not None:
            return self.guarantees.validity
        checked = any(not isinstance(rule, UniqueRule) for rule in self.quality)
        return 1.0 if checked else None

    @property
    def promised_dead_letters(self) -> int | None:
        """Dead letters allowed per monitoring window: ``guarantees.maxDeadLetters``, else 0.

        None when the descriptor has no ``guarantees``.
        """
        if self.guarantees is None:
            return None
        return self.guarantees.max_dead_letters or 0
