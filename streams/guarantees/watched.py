"""What the monitor keeps of one product: its measures, options, and where it has read to."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import orjson
from pydantic import JsonValue

from streams.catalog._model import Product
from streams.catalog.store import CatalogEntry
from streams.errors import StateError
from streams.guarantees.measures import ProductMeasures, Record
from streams.guarantees.records import Observation
from streams.guarantees.state import ProductState
from streams.guarantees.usage import OffsetTimes
from streams.guarantees.windows import WindowCompleteness
from streams.naming import dlq_topic

__all__ = ["MonitorOptions", "Watched"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorOptions:
    """How the monitor measures and how often it publishes.

    Attributes:
        window_s: The sliding window every guarantee is judged over.
        publish_every_s: How often observations are published and state checkpointed.
        catalog_every_s: How often the catalog is read for new and retired products.
        batch: Most records per consume call.
        only: Watch only these product topics (None: every product in the catalog).
        state_topic: Where checkpoints go (default ``_mesh.monitor_state``).
        observations_topic: Where observations go (default ``_mesh.observations``).
        alerts_topic: Where alerts go (default ``_mesh.alerts``).
        window_grace_s: Wall-clock time an aggregate's agent has to emit a window once it is
            due, before the window counts as missing (see :mod:`.windows`).
    """

    window_s: float = 300.0
    publish_every_s: float = 10.0
    catalog_every_s: float = 10.0
    batch: int = 5000
    only: frozenset[str] | None = None
    state_topic: str | None = None
    observations_topic: str | None = None
    alerts_topic: str | None = None
    window_grace_s: float = 30.0

    @property
    def window_ms(self) -> int:
        return round(self.window_s * 1000)

    @property
    def bucket_ms(self) -> int:
        """The measures' bucket: a minute, or a fifth of a shorter window; divides an hour."""
        return math.gcd(min(60_000, max(1, self.window_ms // 5)), self.window_ms, 3_600_000)


@dataclass(slots=True)
class Watched:
    """One product under watch: its measures and where its partitions are."""

    product: Product
    measures: ProductMeasures
    partitions: list[int]
    dlq: str
    offsets: dict[str, dict[int, int]] = field(default_factory=dict)
    ends: dict[int, int] = field(default_factory=dict)
    times: dict[int, OffsetTimes] = field(default_factory=dict)
    previous: dict[str, Observation] = field(default_factory=dict)
    dlq_assigned: bool = False
    undecodable: int = 0
    restored: bool = False
    hours: dict[str, list[JsonValue]] = field(default_factory=dict)  # see Monitor._hours
    hours_at: int = -1  # the end of the newest closed hour ``hours`` judged
    windows: WindowCompleteness | None = None  # an aggregate's window check (see .windows)
    windows_reason: str | None = None  # why a product with inputs has no window check
    saved_windows: bytes | None = None  # its checkpoint, until the check is set up
    fields: list[str] | None = None  # the value schema's top-level fields

    @property
    def topic(self) -> str:
        return self.product.topic

    def state(self) -> ProductState:
        return ProductState(
            topic=self.topic,
            measures=self.measures.state(),
            offsets={t: dict(parts) for t, parts in self.offsets.items()},
            ends=dict(self.ends),
            times={p: s.state() for p, s in self.times.items()},
            previous={k: o.model_dump(mode="json") for k, o in self.previous.items()},
            windows=self.saved_windows if self.windows is None else self.windows.state(),
        )

    @classmethod
    def open(
        cls,
        entry: CatalogEntry,
        partitions: list[int],
        *,
        saved: ProductState | None,
        options: MonitorOptions,
    ) -> Watched:
        """Start watching ``entry``'s product, from its checkpoint ``saved`` when it is usable."""
        product = entry.product
        sizes = (options.window_ms, options.bucket_ms)
        fields = _fields(entry.schema)
        measures: ProductMeasures | None = None
        if saved is not None:
            try:
                measures = ProductMeasures.restore(
                    product,
                    saved.measures,
                    window_ms=sizes[0],
                    bucket_ms=sizes[1],
                    schema_fields=fields,
                )
            except StateError as exc:
                logger.warning("%s: measuring afresh: %s", product.topic, exc)
                saved = None
        if measures is None:
            measures = ProductMeasures(
                product, window_ms=sizes[0], bucket_ms=sizes[1], schema_fields=fields
            )
        watched = cls(
            product=product,
            measures=measures,
            partitions=partitions,
            dlq=dlq_topic(product.topic),
            fields=fields,
        )
        if saved is not None:
            watched.restored = True
            watched.offsets = {t: dict(parts) for t, parts in saved.offsets.items()}
            watched.ends = dict(saved.ends)
            watched.times = {p: OffsetTimes.restore(s) for p, s in saved.times.items()}
            watched.previous = {k: Observation.model_validate(o) for k, o in saved.previous.items()}
            watched.saved_windows = saved.windows
        return watched

    def advance(self, records: list[Record]) -> None:
        """Next offsets, ends and a lag sample per partition, from one batch's records."""
        first: dict[int, tuple[int, int]] = {}
        last: dict[int, int] = {}
        for partition, offset, append_ms, _, _ in records:
            if partition not in first:
                first[partition] = (offset, append_ms)
            last[partition] = offset
        offsets = self.offsets.setdefault(self.topic, {})
        for partition, offset in last.items():
            offsets[partition] = offset + 1
            if offset + 1 > self.ends.get(partition, 0):
                self.ends[partition] = offset + 1
            times = self.times.get(partition)
            if times is None:
                times = self.times[partition] = OffsetTimes()
            times.add(*first[partition])


def _fields(schema: str) -> list[str] | None:
    """The top-level field names of a record schema's text (None: not a record)."""
    try:
        parsed = orjson.loads(schema)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("fields"), list):
        return None
    return [f["name"] for f in parsed["fields"] if isinstance(f, dict) and "name" in f]
