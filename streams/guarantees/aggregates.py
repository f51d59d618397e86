"""Which products get their windows checked, from the live agents' records on ``_mesh.agent_runs``.

The monitor may not import the agents (layers, STYLE.md), and need not: each live agent records,
when it starts, its inputs, key field, event-time field, window and allowed lateness
(:class:`~streams.catalog.agents.AgentRunRecord`, keyed by the output topic). A watched product
whose latest live (STREAMING) run has a tumbling window, whose inputs are watched, and whose
records carry the key field, ``window_start`` and ``final`` gets a
:class:`~streams.guarantees.windows.WindowCompleteness`; any other product with inputs gets the
reason it has none, which the completeness observation states.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from confluent_kafka import KafkaError, Message

from streams.catalog import Product
from streams.catalog.agents import AgentRunRecord
from streams.errors import DeserializationError, StateError
from streams.guarantees.measures import Record
from streams.guarantees.summary import Summary, Windows
from streams.guarantees.watched import Watched
from streams.guarantees.windows import WindowCompleteness
from streams.kafka.headers import LATE_PRODUCT
from streams.kafka.topics import read_to_end
from streams.naming import late_topic

__all__ = [
    "IDLE_MS",
    "WindowChecks",
    "expect_past",
    "has_inputs",
    "hours_with_windows",
    "window_options",
    "with_windows",
]

logger = logging.getLogger(__name__)

IDLE_MS = 30_000
"""The agents' default idle timeout (not in their record): a quieter input partition waits."""


def has_inputs(product: Product) -> bool:
    """Whether ``product`` is derived from others (its completeness could be its windows')."""
    return product.kind != "source-aligned" or bool(product.input_ports)


def window_options(
    product: Product,
    fields: Collection[str] | None,
    run: AgentRunRecord | None,
    watched: Collection[str],
    *,
    window_ms: int,
    grace_ms: int,
) -> dict[str, Any] | str:
    """The :class:`WindowCompleteness` arguments for ``product``, or why it gets none.

    Args:
        product: A watched product with inputs.
        fields: Its value schema's top-level fields (None: unknown, assumed fine).
        run: The latest record of the job named after its topic, if any.
        watched: The product topics the monitor reads.
        window_ms: The monitor's sliding window.
        grace_ms: How long the agent has to emit a due window.
    """
    topic = product.topic
    if run is None or run.processing != "STREAMING" or topic not in run.outputs:
        return (
            "no live agent of this product has recorded its window in _mesh.agent_runs yet "
            "(start it: mesh agent run)"
        )
    if run.window_kind is None or run.key is None or run.window_size_ms is None:
        return (
            f"the live agent's run {run.run_id} was recorded without its window (an older "
            "version): restart the agent to record it"
        )
    if run.window_kind != "tumbling":
        return f"{run.window_kind} windows are not checked yet (tumbling windows are)"
    unwatched = sorted(set(run.inputs) - set(watched))
    if unwatched:
        return (
            f"input {', '.join(unwatched)} is not watched (not in the catalog, retired, or left "
            "out by --only)"
        )
    if fields is not None:
        lacking = [f for f in (run.key, "window_start", "final") if f not in fields]
        if lacking:
            return (
                f"the product's records lack {', '.join(lacking)}: the window check reads each "
                "final record's key and window_start"
            )
    return {
        "inputs": run.inputs,
        "key": run.key,
        "event_time": run.event_time or "event_time",
        "size_ms": run.window_size_ms,
        "lateness_ms": run.allowed_lateness_ms or 0,
        "grace_ms": grace_ms,
        "window_ms": window_ms,
        "idle_ms": IDLE_MS,
    }


class WindowChecks:
    """The watched aggregates whose windows are checked, and the topics that feed them.

    Attributes:
        fed: Input topic -> the aggregates its records are expected by.
        late: ``<input>.late`` -> the aggregates whose copies it may hold.
        assigned: The ``.late`` topics the monitor's consumer reads already.
    """

    def __init__(self) -> None:
        self.fed: dict[str, list[Watched]] = {}
        self.late: dict[str, list[Watched]] = {}
        self.assigned: set[str] = set()
        self.unseen: list[Watched] = []  # checks started afresh: their inputs' past is unread

    def configure(
        self,
        watched: Mapping[str, Watched],
        runs: Mapping[str, AgentRunRecord],
        *,
        window_ms: int,
        grace_ms: int,
    ) -> None:
        """Give each watched product with inputs its check, or the reason it has none.

        A check whose settings did not change keeps its state; a new one starts from the
        product's checkpoint when it was taken with the same settings.
        """
        fed: dict[str, list[Watched]] = {}
        late: dict[str, list[Watched]] = {}
        for topic, product in watched.items():
            if not has_inputs(product.product):
                continue
            found = window_options(
                product.product,
                product.fields,
                runs.get(topic),  # a live agent's job is named after its output topic
                watched,
                window_ms=window_ms,
                grace_ms=grace_ms,
            )
            if isinstance(found, str):
                product.windows, product.windows_reason = None, found
                continue
            product.windows_reason = None
            fresh = WindowCompleteness(**found)
            if product.windows is None or product.windows.settings != fresh.settings:
                product.windows = _restored(product, fresh, found)
                if product.windows is fresh:
                    self.unseen.append(product)
            product.windows.grace_ms = grace_ms
            for name in found["inputs"]:
                fed.setdefault(name, []).append(product)
                late.setdefault(late_topic(name), []).append(product)
        self.fed, self.late = fed, late

    def unassigned(self, existing: Collection[str]) -> Iterator[tuple[str, list[Watched]]]:
        """The ``.late`` topics that exist and are not read yet, with their aggregates."""
        for topic, aggregates in sorted(self.late.items()):
            if topic in existing and topic not in self.assigned:
                yield topic, aggregates

    @staticmethod
    def late_copy(
        message: Message,
        aggregates: list[Watched],
        decode: Callable[[bytes | None], Mapping[str, Any]],
    ) -> None:
        """A copy an agent routed to ``<input>.late``: off the pairs of the product it names."""
        topic, partition = message.topic() or "", message.partition() or 0
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                logger.warning("reading %s[%d]: %s", topic, partition, error.str())
            return
        offset = message.offset() or 0
        product = dict(message.headers() or []).get(LATE_PRODUCT)
        for watched in aggregates:
            offsets = watched.offsets.setdefault(topic, {})
            if offset < offsets.get(partition, 0):
                continue  # counted before the monitor restarted
            offsets[partition] = offset + 1
            if watched.windows is None or product != watched.topic.encode():
                continue
            try:
                watched.windows.late([decode(message.value())])
            except DeserializationError as exc:
                logger.warning("%s[%d]@%d is undecodable: %s", topic, partition, offset, exc)


def expect_past(
    aggregate: Watched,
    watched: Mapping[str, Watched],
    conf: Mapping[str, Any],
    decode: Callable[[bytes | None], Mapping[str, Any]],
    *,
    now_ms: int,
) -> None:
    """A check started afresh (typically: the agent first ran after the monitor had read its
    inputs and outputs) takes in the records the monitor already read, appended within the
    horizon the check can still judge (two windows, the allowed lateness and the sliding
    window): it reads the inputs and the aggregate's own topic again, from their beginning up
    to where the monitor is. Records the monitor has not read yet come the usual way."""
    windows = aggregate.windows
    if windows is None:
        return
    since_ms = now_ms - (2 * windows.size_ms + windows.lateness_ms + windows.window_ms)
    for topic in [*sorted(windows.inputs), aggregate.topic]:
        source = watched.get(topic)
        until = source.offsets.get(topic, {}) if source is not None else {}
        records = _read_again(conf, topic, until, decode, since_ms)
        if topic == aggregate.topic:
            windows.emit(record[3] for record in records)
        else:
            windows.expect(topic, records)
        if records:
            logger.info(
                "%s: checking its windows with %d records of %s read before its agent ran",
                aggregate.topic,
                len(records),
                topic,
            )


def _read_again(
    conf: Mapping[str, Any],
    topic: str,
    until: Mapping[int, int],
    decode: Callable[[bytes | None], Mapping[str, Any]],
    since_ms: int,
) -> list[Record]:
    records: list[Record] = []
    for message in read_to_end(conf, topic, until=until):
        appended, value = message.timestamp()[1], message.value()
        if appended < since_ms or not value:
            continue
        try:
            decoded = decode(value)
        except DeserializationError:
            continue  # the monitor counted it when it first read it
        schema_id = int.from_bytes(value[1:5], "big")
        partition, offset = message.partition() or 0, message.offset() or 0
        records.append((partition, offset, appended, decoded, schema_id))
    return records


def _restored(
    watched: Watched, fresh: WindowCompleteness, options: dict[str, Any]
) -> WindowCompleteness:
    saved, watched.saved_windows = watched.saved_windows, None
    if saved is not None:
        try:
            return WindowCompleteness.restore(saved, **options)
        except StateError as exc:
            logger.warning("%s: checking windows afresh: %s", watched.topic, exc)
    logger.info("%s: checking its windows against %s", watched.topic, ", ".join(options["inputs"]))
    return fresh


def with_windows(watched: Watched, summary: Summary, now_ms: int) -> Summary:
    """``summary`` with the product's windows, or the reason they are not checked."""
    if watched.windows is not None:
        return dataclasses.replace(summary, windows=watched.windows.summary(now_ms))
    if watched.windows_reason is not None:
        return dataclasses.replace(summary, windows_unmeasured=watched.windows_reason)
    return summary


def hours_with_windows(watched: Watched, closed: list[Summary], now_ms: int) -> list[Summary]:
    """The closed hours with the windows that became due in each (as :func:`with_windows`)."""
    if watched.windows is not None:
        by_hour = watched.windows.closed_hours(now_ms)
        empty = Windows(expected=0, emitted=0, windows=0)
        return [dataclasses.replace(s, windows=by_hour.get(s.start_ms, empty)) for s in closed]
    if watched.windows_reason is not None:
        reason = watched.windows_reason
        return [dataclasses.replace(s, windows_unmeasured=reason) for s in closed]
    return closed
