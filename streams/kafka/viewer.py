"""Read-only reading for tools that show a topic (``mesh tail``, ``mesh dlq``).

A viewer must not change what it looks at: :class:`ViewConsumer` joins no group (so it commits
nothing) and writes no dead letters; a message it cannot decode is handed out as an event
whose value is :class:`Undecodable`, with the error, in its place in the topic.

A retired product accepts no more events and its consumers are refused (they must move to its
successor), but what its topic retains can still be looked at: a viewer reads it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

import orjson
from confluent_kafka import OFFSET_END, KafkaException, Message, TopicPartition

from streams.errors import BrokerUnavailableError, ConfigError, DeserializationError
from streams.kafka.consumer import Consumer
from streams.kafka.deadletter import error_text
from streams.kafka.directory import ProductDirectory, ProductStatus, VersionPicker
from streams.kafka.event import Event
from streams.naming import ProductRef, parse_product
from streams.serialization.plain import without_logical_types

__all__ = ["RetainedDirectory", "Undecodable", "ViewConsumer"]

_UUID = frozenset({"uuid"})


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A message that could not be decoded, as a viewer shows it.

    Attributes:
        reason: Why (``not-framed``, ``corrupt``, ``unknown-schema``, ...), as a dead letter's.
        error: The full error, led by ``topic[partition]@offset``.
        value: The raw value.
    """

    reason: str
    error: str
    value: bytes | None


class RetainedDirectory:
    """A directory through which a retired product's retained history can be read: it reports
    a retired product as served (other statuses, deprecated included, stay as they are).

    Args:
        directory: The directory to ask (e.g. the catalog).
    """

    def __init__(self, directory: ProductDirectory) -> None:
        self._directory = directory

    def resolve(self, ref: ProductRef) -> ProductStatus | None:
        """``directory``'s answer, with ``retired`` read as ``active``."""
        status = self._directory.resolve(ref)
        if status is None or status.status != "retired":
            return status
        return dataclasses.replace(status, status="active")

    def pick(self, name: str, *, version: int | None = None) -> ProductRef:
        """The version a bare ``name`` means, as ``directory`` picks it (else version 1)."""
        if isinstance(self._directory, VersionPicker):
            return self._directory.pick(name, version=version)
        return parse_product(name, major=version)


class ViewConsumer(Consumer):
    """A :class:`Consumer` that only looks: ``group_id`` must be None, nothing is written.

    Takes the arguments of :class:`Consumer`, and two more:

    - ``start_ms``: start each partition at its first record written at or after that time
      (epoch milliseconds) instead of its beginning or end. On the embedded broker that start
      is coarse (the base offset of a batch, BROKER.md quirk 3): earlier records may come too,
      so a reader filters on ``event.timestamp_ms``.
    - ``uuid_text``: decode ``uuid`` values as their text, not :class:`uuid.UUID`; give a
      reader schema without that logical type too, so values written with the reader's own
      schema need no resolution.

    Messages that cannot be decoded are handed out as events whose value is an
    :class:`Undecodable` instead of going to the dead-letter topic. A retired product is read
    (what its topic retains), where a :class:`Consumer` refuses it.
    """

    def __init__(
        self, *args: Any, start_ms: int | None = None, uuid_text: bool = False, **kwargs: Any
    ) -> None:
        if kwargs.get("group_id") is not None:
            raise ConfigError(
                "a ViewConsumer joins no group and commits nothing: pass group_id=None"
            )
        if kwargs.get("directory") is not None:
            kwargs["directory"] = RetainedDirectory(kwargs["directory"])
        self._uuid_text = uuid_text
        super().__init__(*args, **kwargs)
        if start_ms is not None:
            self._start_at(start_ms)

    def _start_at(self, start_ms: int) -> None:
        """Assign every partition again, from its first offset at or after ``start_ms``."""
        try:
            assigned = self._consumer.assignment()
            asked = [TopicPartition(tp.topic, tp.partition, start_ms) for tp in assigned]
            found = self._consumer.offsets_for_times(asked, timeout=10)
            # -1: no record at or after the time: only what comes next (none in a snapshot).
            self._consumer.assign(
                [
                    TopicPartition(
                        tp.topic, tp.partition, OFFSET_END if tp.offset < 0 else tp.offset
                    )
                    for tp in found
                ]
            )
        except KafkaException as exc:
            self.close()
            raise BrokerUnavailableError(
                f"finding the records of {', '.join(self.topics)} written since {start_ms} "
                f"failed: {exc.args[0].str()}; check that the broker runs (mesh status)",
                bootstrap_servers="",
            ) from exc

    def _decoding(self, writer: str) -> str | Mapping[str, Any]:
        # uuid_text: fastavro would build a uuid.UUID per value, which a table writes back as
        # text: a quarter of scripts/bench query's read time on PlayEvents (three uuids each).
        if not self._uuid_text:
            return writer
        stripped: Mapping[str, Any] = without_logical_types(orjson.loads(writer), only=_UUID)
        return stripped

    def __enter__(self) -> ViewConsumer:
        return self

    def at_end_or(self, passed: Set[tuple[str, int]]) -> bool:
        """Like :attr:`at_end`, counting the partitions in ``passed`` (topic, partition) as
        ended: those a reader has read far enough in, e.g. past the time it reads until.

        On a topic written live, :attr:`at_end` may never hold: each fetch brings new records
        behind the end it reached.
        """
        try:
            assigned = {(str(tp.topic), int(tp.partition)) for tp in self._consumer.assignment()}
        except (KafkaException, RuntimeError):
            return False
        return bool(assigned) and assigned <= (self._ends | passed)

    def _undecodable(self, message: Message, error: DeserializationError) -> Event[Any] | None:
        value = message.value()
        raw = value.encode() if isinstance(value, str) else value
        return Event(message, Undecodable(error.reason, error_text(message, error), raw))
