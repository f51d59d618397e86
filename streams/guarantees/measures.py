"""Everything measured of one product, per record, into a sliding window and closed hours.

:class:`ProductMeasures` is pure: the caller passes each decoded record with its append time
(the Kafka record timestamp) and asks for a :class:`~streams.guarantees.summary.Summary` at a
``now`` of its choosing. Per record it updates one minute bucket (:mod:`.window`): the latency
histogram (:mod:`.histogram`), on-time count, newest event time of the partition, duplicate ids
(:mod:`.duplicates`), quality rules (:mod:`.validity`) and schema ids. Hours are built from the
minutes as they leave the window, never by a second update per record. An aggregate's windows
are checked beside these, by :mod:`.windows`, from its inputs' records and its own.
"""

from __future__ import annotations

import datetime
import math
import uuid
import zlib
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import orjson

from streams.catalog import Product
from streams.errors import StateError
from streams.guarantees.duplicates import id_field, id_hash
from streams.guarantees.histogram import INVERSE_LOG_GAMMA, ZERO
from streams.guarantees.summary import Failure, Summary
from streams.guarantees.validity import compile_rules, shown
from streams.guarantees.window import MAX_FAILURES, Span, Window
from streams.serialization.plain import event_time_ms

__all__ = ["ProductMeasures", "Record", "event_time_ms"]

Record = tuple[int, int, int, Mapping[str, Any], int]
"""``(partition, offset, append_ms, value, schema_id)`` of one decoded record."""

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MS = datetime.timedelta(milliseconds=1)
_VERSION = 1


class ProductMeasures:
    """The measures of one product: a sliding window of minute buckets and closed hours.

    Args:
        product: The descriptor: its ``outputPort.eventTime`` field, latency promise and
            quality rules are what is measured.
        window_ms: The sliding window (a multiple of ``bucket_ms``).
        bucket_ms: The bucket records are counted in (divides an hour).
        hours: Closed hours kept.
        allowed_lateness_ms: An event is on time when its append time minus its event time is
            at most this; default the latency promise (no promise: every event is on time).
        schema_fields: The value schema's top-level field names, to tell whether it has
            ``event_id`` when no ``unique`` rule names the id (None: assume it has).

    Raises:
        ValueError: The window and bucket sizes do not fit together.
    """

    __slots__ = ("_check", "_event_time", "_id_field", "_lateness", "_window", "product")

    def __init__(
        self,
        product: Product,
        *,
        window_ms: int = 300_000,
        bucket_ms: int = 60_000,
        hours: int = 24,
        allowed_lateness_ms: int | None = None,
        schema_fields: Collection[str] | None = None,
    ) -> None:
        self.product = product
        self._window = Window(window_ms=window_ms, bucket_ms=bucket_ms, hours=hours)
        self._event_time = product.output_port.event_time
        self._id_field = id_field(product, schema_fields)
        self._check = compile_rules(product.quality)
        if allowed_lateness_ms is None and product.guarantees is not None:
            allowed_lateness_ms = product.guarantees.latency * 1000
        self._lateness = allowed_lateness_ms

    @property
    def id_field(self) -> str | None:
        """The field whose repeats are duplicates (None: duplicates are not measured)."""
        return self._id_field

    @property
    def window_ms(self) -> int:
        """The sliding window's length."""
        return self._window.window_ms

    def observe(
        self, partition: int, offset: int, append_ms: int, value: Mapping[str, Any], schema_id: int
    ) -> None:
        """Measure one decoded record of the product's topic."""
        self.observe_many(((partition, offset, append_ms, value, schema_id),))

    def observe_many(self, records: Iterable[Record]) -> None:
        """Measure decoded records, in the order they were read.

        Raises:
            TypeError: A record's event time is neither int milliseconds nor an aware datetime.
        """
        # The hot loop of the monitor: everything is a local, the bucket is looked up only when
        # the append time's bucket changes, and the histogram's bucket is computed inline.
        # scripts/bench_measures.py measures it against decoding (the issue asks >= 0.5x).
        window = self._window
        bucket_ms = window.bucket_ms
        time_field = self._event_time
        key_field = self._id_field
        check = self._check
        lateness = self._lateness
        log = math.log
        ceil = math.ceil
        inverse = INVERSE_LOG_GAMMA
        uuid_type = uuid.UUID
        epoch = _EPOCH
        ms = _MS
        last = None
        span = Span(ids=False)
        counts: dict[int, int] = {}
        newest: dict[int, int] = {}
        own: set[int] | None = None
        sets: tuple[set[int], ...] = ()
        for partition, offset, append_ms, value, schema_id in records:
            bucket = append_ms // bucket_ms
            if bucket != last:
                span = window.span_for(bucket)
                counts = span.latency.counts
                newest = span.newest
                own = span.ids
                sets = window.id_sets
                last = bucket
            span.events += 1
            span.schema_ids.add(schema_id)
            moment = value.get(time_field)
            if moment is not None:
                if type(moment) is not int:
                    if type(moment) is datetime.datetime and moment.tzinfo is not None:
                        moment = (moment - epoch) // ms
                    else:
                        moment = event_time_ms(moment)  # raises the error
                latency = append_ms - moment
                index = ZERO if latency < 1 else ceil(log(latency) * inverse)
                counts[index] = counts.get(index, 0) + 1
                if lateness is None or latency <= lateness:
                    span.on_time += 1
                if moment > newest.get(partition, moment - 1):
                    newest[partition] = moment
            if key_field is not None and own is not None:
                key = value.get(key_field)
                if key is not None:
                    hashed = key.int >> 64 if type(key) is uuid_type else id_hash(key)
                    for seen in sets:
                        if hashed in seen:
                            span.duplicates += 1
                            break
                    own.add(hashed)
            if check is not None:
                broken = check(value)
                if broken is not None:
                    span.invalid += 1
                    failures = span.failures
                    for field, rule, found in broken:
                        if len(failures) < MAX_FAILURES:
                            failures.append(
                                Failure(
                                    partition=partition,
                                    offset=offset,
                                    field=field,
                                    rule=rule,
                                    value=shown(found),
                                )
                            )

    def dead_letter(self, append_ms: int) -> None:
        """Count a record appended to the product's dead-letter topic at ``append_ms``."""
        self._window.span_for(append_ms // self._window.bucket_ms).dead_letters += 1

    def window(self, now_ms: int) -> Summary:
        """The sliding window ending at ``now_ms`` (rounded up to a bucket), and newest events.

        The window covers the ``window_ms`` of append time ``[end - window_ms, end)`` where
        ``end`` is ``now_ms`` rounded up to a whole bucket, or later if records were appended
        after ``now_ms`` (the window never moves back).
        """
        self._window.ends_at(now_ms)
        return self._window.summary()

    def closed_hours(self, now_ms: int) -> list[Summary]:
        """The last closed hours (24 by default) up to ``now_ms``, oldest first."""
        self._window.ends_at(now_ms)
        return self._window.closed_hours()

    def state(self) -> bytes:
        """A checkpoint: :meth:`restore` rebuilds exactly these measures from it."""
        data = {"version": _VERSION, "topic": self.product.topic, **self._window.to_json()}
        return zlib.compress(orjson.dumps(data))

    @classmethod
    def restore(
        cls,
        product: Product,
        data: bytes,
        *,
        window_ms: int = 300_000,
        bucket_ms: int = 60_000,
        hours: int = 24,
        allowed_lateness_ms: int | None = None,
        schema_fields: Collection[str] | None = None,
    ) -> ProductMeasures:
        """The measures a :meth:`state` checkpoint saved, to go on counting after a restart.

        Raises:
            StateError: The checkpoint cannot be read, is another product's, or was taken
                with other window sizes (the message says which; start from an empty state).
        """
        measures = cls(
            product,
            window_ms=window_ms,
            bucket_ms=bucket_ms,
            hours=hours,
            allowed_lateness_ms=allowed_lateness_ms,
            schema_fields=schema_fields,
        )
        topic = product.topic
        try:
            saved = orjson.loads(zlib.decompress(data))
        except (zlib.error, orjson.JSONDecodeError) as exc:
            raise StateError(
                f"the guarantees checkpoint of {topic} cannot be read ({exc}); it is corrupt: "
                "discard it and measure from an empty state",
                product=topic,
                key=None,
                window=None,
            ) from exc
        expected = {
            "version": _VERSION,
            "topic": topic,
            "window_ms": window_ms,
            "bucket_ms": bucket_ms,
            "hours": hours,
        }
        if not isinstance(saved, dict):
            saved = {}
        differs = {
            name: saved.get(name) for name, want in expected.items() if saved.get(name) != want
        }
        if differs:
            raise StateError(
                f"the guarantees checkpoint of {topic} was taken with {differs}, not "
                f"{ {name: expected[name] for name in differs} }: restore it with the same "
                "settings, or discard it and measure from an empty state",
                product=topic,
                key=None,
                window=None,
            )
        try:
            measures._window.load(saved)
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(
                f"the guarantees checkpoint of {topic} is malformed ({type(exc).__name__}: "
                f"{exc}): discard it and measure from an empty state",
                product=topic,
                key=None,
                window=None,
            ) from exc
        return measures
