"""What the monitor publishes: one :class:`Observation` per product and guarantee, and an
:class:`Alert` when a guarantee changes state.

Both are JSON (orjson) on their topics, keyed by :func:`observation_key`
(``<product topic>/<guarantee>``, e.g. ``player.play_events.v1/freshness``): the latest
observation per key on the compacted ``_mesh.observations``, every change on ``_mesh.alerts``.
Readers ignore fields they do not know, so a newer monitor can add some.
"""

from __future__ import annotations

from typing import Literal, get_args

import orjson
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from streams.errors import DeserializationError
from streams.naming import alerts_topic, observations_topic

__all__ = [
    "GUARANTEES",
    "STATES",
    "Alert",
    "Guarantee",
    "Observation",
    "State",
    "Unit",
    "observation_key",
]

Guarantee = Literal[
    "freshness",
    "latency",
    "completeness",
    "duplicates",
    "validity",
    "dead_letters",
    "usage",
    "volume",
]
GUARANTEES: tuple[Guarantee, ...] = get_args(Guarantee)
"""Every guarantee, in the order tables show them."""

State = Literal["met", "at_risk", "breached"]
STATES: tuple[State, ...] = get_args(State)
"""From good to bad."""

Unit = Literal["ms", "share", "count"]


def observation_key(topic: str, guarantee: str) -> str:
    """The record key of a product topic's guarantee: ``<topic>/<guarantee>``."""
    return f"{topic}/{guarantee}"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    product: str = Field(examples=["player.play_events"])
    version: int = Field(ge=1)
    topic: str = Field(examples=["player.play_events.v1"])
    guarantee: Guarantee
    state: State
    promised: float | None = Field(description="The promise, in ``unit``; None: no promise.")
    observed: float | None = Field(description="What was measured, in ``unit``; None: nothing.")
    unit: Unit
    since_ms: int = Field(description="When the guarantee entered this state (epoch ms).")
    measured_at_ms: int

    @property
    def key(self) -> str:
        """``<topic>/<guarantee>``: the record key on both topics."""
        return observation_key(self.topic, self.guarantee)

    def to_value(self) -> bytes:
        """The record value: JSON."""
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def _decode(cls, value: bytes, *, topic: str) -> dict[str, JsonValue]:
        try:
            data = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise DeserializationError(
                f"a record on {topic} is not JSON: {exc}; it was not written by the monitor",
                reason="json",
                topic=topic,
            ) from exc
        if not isinstance(data, dict):
            raise DeserializationError(
                f"a record on {topic} is a JSON {type(data).__name__}, not an object",
                reason="json",
                topic=topic,
            )
        return data


class Observation(_Record):
    """One guarantee of one product version as measured over the sliding window.

    Attributes:
        product: The product id (``<domain>.<name>``).
        version: Its major version.
        topic: Its topic (``<domain>.<name>.v<version>``).
        guarantee: Which guarantee (``volume`` carries no promise and is always ``met``).
        promised: The promise, in ``unit`` (None for ``volume``).
        observed: The measured value, in ``unit`` (None when there was nothing to measure).
        unit: ``ms`` (freshness, latency, usage), ``share`` (0..1) or ``count``.
        state: ``met``, ``at_risk`` (within 80 % of the bound, or no events to tell) or
            ``breached``.
        since_ms: When this state began (epoch ms).
        window_ms: The length of the sliding window measured.
        measured_at_ms: When it was measured (epoch ms).
        details: What explains the value (counts, percentiles, failing records, groups).
    """

    window_ms: int = Field(ge=0)
    details: dict[str, JsonValue] = Field(default_factory=dict)

    @classmethod
    def from_value(cls, value: bytes, *, topic: str | None = None) -> Observation:
        """Decode a record value written by :meth:`to_value` (read from ``topic``, by default
        ``_mesh.observations``, named in errors).

        Raises:
            DeserializationError: The value is not an observation (``reason="observation"``).
        """
        topic = topic or observations_topic()
        data = cls._decode(value, topic=topic)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise DeserializationError(
                f"a record on {topic} is not an observation: {_first(exc)}",
                reason="observation",
                topic=topic,
            ) from exc


class Alert(_Record):
    """A guarantee changed state (``previous`` is None for its first observation).

    Attributes:
        previous: The state before (None: the guarantee was not observed before).
        state: The state now; ``since_ms`` is when it began.
    """

    previous: State | None

    @classmethod
    def from_value(cls, value: bytes, *, topic: str | None = None) -> Alert:
        """Decode a record value written by :meth:`to_value` (read from ``topic``, by default
        ``_mesh.alerts``, named in errors).

        Raises:
            DeserializationError: The value is not an alert (``reason="alert"``).
        """
        topic = topic or alerts_topic()
        data = cls._decode(value, topic=topic)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise DeserializationError(
                f"a record on {topic} is not an alert: {_first(exc)}",
                reason="alert",
                topic=topic,
            ) from exc


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "the record"
    return f"{where}: {error['msg']}"
