"""What a domain writes to define a derived product: inputs, key, event-time window, aggregation.

A derived product's code lives next to its descriptor, in ``products/<domain>/<name>.py``, and
binds a module-level ``product`` to a :class:`DerivedProduct`::

    product = DerivedProduct(
        product="player.hourly_play_sessions",
        version=1,
        inputs=(InputPort("player.play_events", 1),),
        key="user_id",
        window=Tumbling(timedelta(hours=1)),
        allowed_lateness=timedelta(hours=2),
        aggregation=HourlyPlaySessions(),
    )

The same definition runs live (faust agents) and in replays (confluent-kafka); both drive the
pure :class:`streams.agents.engine.Task`, so they cannot drift apart.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from streams.errors import ConfigError
from streams.naming import ProductRef, parse_product

__all__ = [
    "Aggregation",
    "DerivedProduct",
    "Hopping",
    "InputPort",
    "MergingAggregation",
    "Session",
    "Tumbling",
    "Window",
    "WindowSpec",
    "definition_path",
    "load_definition",
]

A = TypeVar("A")


@dataclass(frozen=True, slots=True)
class Window:
    """An event-time interval ``[start_ms, end_ms)`` in epoch milliseconds."""

    start_ms: int
    end_ms: int


def _millis(what: str, value: timedelta, *, positive: bool = True) -> int:
    if not isinstance(value, timedelta):
        raise ConfigError(f"{what} must be a datetime.timedelta, not {type(value).__name__}")
    ms = value // timedelta(milliseconds=1)
    if ms < 0 or (positive and ms == 0):
        raise ConfigError(
            f"{what} must be {'positive' if positive else 'zero or positive'}, not {value}"
        )
    return ms


@dataclass(frozen=True, slots=True)
class Tumbling:
    """Fixed, non-overlapping windows of ``size``, aligned on the epoch (hours on the hour)."""

    size: timedelta

    def __post_init__(self) -> None:
        _millis("Tumbling size", self.size)


@dataclass(frozen=True, slots=True)
class Hopping:
    """Windows of ``size`` starting every ``advance``: an event belongs to several windows."""

    size: timedelta
    advance: timedelta

    def __post_init__(self) -> None:
        size = _millis("Hopping size", self.size)
        advance = _millis("Hopping advance", self.advance)
        if advance > size:
            raise ConfigError(
                f"Hopping advance {self.advance} is longer than its size {self.size}: events "
                "between windows would be lost; use an advance up to the size (equal: Tumbling)"
            )


@dataclass(frozen=True, slots=True)
class Session:
    """Per-key windows of activity: events less than ``gap`` apart share a window.

    A session window is ``[first event, last event + gap)``; windows that come to overlap
    merge, so the aggregation must implement ``merge``.
    """

    gap: timedelta

    def __post_init__(self) -> None:
        _millis("Session gap", self.gap)


WindowSpec = Tumbling | Hopping | Session
"""The kinds of event-time window a derived product may use."""


@runtime_checkable
class Aggregation(Protocol[A]):
    """The domain's computation over one key's events in one window.

    Accumulators are plain data (None, bool, int, float, str, list, dict, tuple, set,
    frozenset) so they can be checkpointed; ``add`` may update ``acc`` in place and return it.
    """

    def init(self) -> A:
        """A fresh accumulator for a new window."""
        ...

    def add(self, acc: A, event: Mapping[str, Any]) -> A:
        """``acc`` with one more event counted."""
        ...

    def result(self, acc: A, key: str, window: Window) -> dict[str, Any]:
        """The output record's value for ``key`` in ``window``."""
        ...


@runtime_checkable
class MergingAggregation(Aggregation[A], Protocol[A]):
    """An aggregation whose accumulators combine: required by session windows."""

    def merge(self, a: A, b: A) -> A:
        """One accumulator counting the events of both (``a`` may be updated in place)."""
        ...


@dataclass(frozen=True, slots=True)
class InputPort:
    """An input product at one major version, as ``inputPorts`` lists it in the descriptor."""

    product: str
    version: int = 1

    def __post_init__(self) -> None:
        self.ref  # noqa: B018 - validates the name and version early, with a clear message

    @property
    def ref(self) -> ProductRef:
        """The product reference (its topic is ``ref.topic``)."""
        return parse_product(self.product, major=self.version)


@dataclass(frozen=True, slots=True, kw_only=True)
class DerivedProduct:
    """A derived product: which inputs, keyed how, windowed how, aggregated how.

    Attributes:
        product: ``<domain>.<name>`` of the output product.
        version: Its major version (the output topic is ``<domain>.<name>.v<version>``).
        inputs: The input products; they must be co-partitioned by ``key``.
        key: The input field the aggregation is keyed by (present in every input).
        window: Tumbling, hopping or session windows on event time.
        allowed_lateness: How long after a window's end events are still counted; a window is
            final once the watermark passes ``end + allowed_lateness``.
        aggregation: The computation (init / add / result, and merge for sessions).
        idle_timeout: Wall-clock time after which a silent input partition no longer holds
            the watermark back.
        event_time: The input field holding the event time (``timestamp-millis``).
    """

    product: str
    version: int
    inputs: tuple[InputPort, ...]
    key: str
    window: WindowSpec
    allowed_lateness: timedelta
    aggregation: Aggregation[Any]
    idle_timeout: timedelta = field(default=timedelta(seconds=30))
    event_time: str = "event_time"

    def __post_init__(self) -> None:
        ref = self.ref
        if not isinstance(self.inputs, tuple) or not self.inputs:
            raise ConfigError(
                f"{ref.id}: inputs must be a non-empty tuple of InputPort, e.g. "
                "(InputPort('player.play_events', 1),)"
            )
        for port in self.inputs:
            if not isinstance(port, InputPort):
                raise ConfigError(f"{ref.id}: input {port!r} is not an InputPort")
        if len({port.ref for port in self.inputs}) != len(self.inputs):
            raise ConfigError(f"{ref.id}: an input is listed twice; list each input once")
        for what, name in (("key", self.key), ("event_time", self.event_time)):
            if not isinstance(name, str) or not name:
                raise ConfigError(f"{ref.id}: {what} must name an input field, not {name!r}")
        if not isinstance(self.window, Tumbling | Hopping | Session):
            raise ConfigError(
                f"{ref.id}: window must be Tumbling, Hopping or Session, not {self.window!r}"
            )
        _millis(f"{ref.id}: allowed_lateness", self.allowed_lateness, positive=False)
        _millis(f"{ref.id}: idle_timeout", self.idle_timeout)
        if not isinstance(self.aggregation, Aggregation):
            raise ConfigError(
                f"{ref.id}: aggregation {self.aggregation!r} lacks init/add/result methods"
            )

    @property
    def ref(self) -> ProductRef:
        """The output product at its version."""
        return parse_product(self.product, major=self.version)

    @property
    def lateness_ms(self) -> int:
        """``allowed_lateness`` in milliseconds."""
        return self.allowed_lateness // timedelta(milliseconds=1)

    @property
    def idle_timeout_s(self) -> float:
        """``idle_timeout`` in seconds."""
        return self.idle_timeout.total_seconds()

    @property
    def merges(self) -> bool:
        """Whether the aggregation implements ``merge`` (session windows need it)."""
        return callable(getattr(self.aggregation, "merge", None))


def definition_path(root: Path, ref: ProductRef) -> Path:
    """``<root>/products/<domain>/<name>.py``, where a derived product's code lives."""
    return root / "products" / ref.domain / f"{ref.name}.py"


def _missing_code_hint(path: Path) -> str:
    """What a missing code file means: a product that is not derived, or a misspelt name."""
    descriptor = path.with_suffix(".yaml")
    if descriptor.is_file():
        found = re.search(r"^kind:\s*([\w-]+)", descriptor.read_text(), re.MULTILINE)
        kind = found[1] if found else "non-derived"
        return (
            f"{descriptor} describes the product, a {kind} product without code: only derived "
            "(aggregate) products are computed by agents and replayed; a "
            f"{kind} product's events are written by its producers"
        )
    names = sorted({p.stem.split(".v")[0] for p in path.parent.glob("*.yaml")})
    close = difflib.get_close_matches(path.stem, names, n=1)
    guess = f"did you mean {path.parent.name}.{close[0]}? " if close else ""
    return (
        f"{guess}a derived product's code lives next to its descriptor, in "
        "products/<domain>/<name>.py"
    )


def load_definition(path: Path) -> DerivedProduct:
    """Import a derived product's module by path and return its module-level ``product``.

    Raises:
        ConfigError: The file is missing, fails to import, or its ``product`` is not a
            :class:`DerivedProduct`; the message names the file.
    """
    if not path.is_file():
        raise ConfigError(f"{path}: no such file; {_missing_code_hint(path)}")
    name = f"_mesh_product_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except ConfigError as exc:
        del sys.modules[name]
        raise ConfigError(f"{path}: {exc}") from exc
    except Exception as exc:  # the domain's code may raise anything while importing
        del sys.modules[name]
        raise ConfigError(
            f"{path}: importing it failed with {type(exc).__name__}: {exc}; fix the module"
        ) from exc
    found = getattr(module, "product", None)
    if not isinstance(found, DerivedProduct):
        what = "no module-level 'product'" if found is None else f"'product' is {found!r}"
        raise ConfigError(
            f"{path}: {what}; bind 'product = DerivedProduct(...)' "
            "(from streams.agents.definition) at module level"
        )
    return found
