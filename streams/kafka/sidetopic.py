"""A product's side topics, read back: late records (``<topic>.late``) and dead letters
(``<topic>.dlq``).

Both are written next to the product's topic by other parts of the platform (dead letters by
every consumer, late records by derived products' agents); ``mesh tail --late`` and
``mesh tail --dead-letters`` read them with these. Late records are the input's events verbatim
(Avro, Confluent framed), so a :class:`~streams.kafka.Consumer` decodes them through
:class:`SideDirectory`; dead letters are bytes that could not be decoded, so
:class:`DeadLetterConsumer` hands them out undecoded, as :class:`DeadLetter` values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Message

from streams.kafka import headers as std
from streams.kafka.consumer import Consumer
from streams.kafka.directory import ProductDirectory, ProductStatus
from streams.kafka.event import Event
from streams.naming import ProductRef

__all__ = ["DeadLetter", "DeadLetterConsumer", "SideDirectory"]

_DLQ_HEADERS = frozenset(
    {
        std.DLQ_ERROR,
        std.DLQ_REASON,
        std.DLQ_TOPIC,
        std.DLQ_PARTITION,
        std.DLQ_OFFSET,
        std.DLQ_TIMESTAMP,
    }
)


class SideDirectory:
    """Resolves a product to one of its side topics (e.g. ``late_topic``) instead of its own.

    The product must be known to ``directory`` (when given); its lifecycle does not matter, so
    the late records and dead letters of a deprecated or retired product stay readable.

    Args:
        directory: The catalog, or None to go by the naming convention alone.
        side: Builds the side topic from the product topic (:func:`streams.naming.dlq_topic`,
            :func:`streams.naming.late_topic`).
    """

    def __init__(self, directory: ProductDirectory | None, side: Callable[[str], str]) -> None:
        self._directory = directory
        self._side = side

    def resolve(self, ref: ProductRef) -> ProductStatus | None:
        """The side topic of ``ref``, or None when the directory does not know ``ref``."""
        status = ProductStatus(ref.topic, "active")
        if self._directory is not None:
            found = self._directory.resolve(ref)
            if found is None:
                return None
            status = dataclasses.replace(found, status="active")
        return dataclasses.replace(status, topic=self._side(status.topic))


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """What a dead letter's headers say, and the original bytes.

    Attributes:
        reason: Why it could not be decoded (``not-framed``, ``corrupt``, ``tombstone``, ...).
        error: The full error message.
        original_topic: Where the message was first written.
        original_partition: Its partition there.
        original_offset: Its offset there.
        original_timestamp_ms: Its record timestamp.
        key: The original key.
        value: The original value.
        headers: The original message's own headers (without the ``dlq.*`` ones).
    """

    reason: str | None
    error: str | None
    original_topic: str | None
    original_partition: int | None
    original_offset: int | None
    original_timestamp_ms: int | None
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes | None]

    @classmethod
    def of(cls, message: Message) -> DeadLetter:
        """Read a message of a ``.dlq`` topic (missing headers are None)."""
        found = std.as_dict(message.headers())
        key, value = message.key(), message.value()
        return cls(
            reason=_text(found.get(std.DLQ_REASON)),
            error=_text(found.get(std.DLQ_ERROR)),
            original_topic=_text(found.get(std.DLQ_TOPIC)),
            original_partition=_number(found.get(std.DLQ_PARTITION)),
            original_offset=_number(found.get(std.DLQ_OFFSET)),
            original_timestamp_ms=_number(found.get(std.DLQ_TIMESTAMP)),
            key=key.encode() if isinstance(key, str) else key,
            value=value.encode() if isinstance(value, str) else value,
            headers={k: v for k, v in found.items() if k not in _DLQ_HEADERS},
        )


class DeadLetterConsumer(Consumer):
    """A :class:`Consumer` of products' dead-letter topics: every event's value is a
    :class:`DeadLetter` (nothing is decoded, so nothing is dead-lettered again).

    Takes the arguments of :class:`Consumer`; pass ``directory=SideDirectory(..., dlq_topic)``.
    """

    def _decode(self, message: Message) -> Event[Any] | None:
        return Event(message, DeadLetter.of(message))


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", errors="replace")


def _number(raw: bytes | None) -> int | None:
    try:
        return None if raw is None else int(raw)
    except ValueError:
        return None
