"""Read-only reading for tools that show a topic (``mesh tail``, ``mesh dlq``).

A viewer must not change what it looks at: :class:`ViewConsumer` joins no group (so it commits
nothing) and writes no dead letters; a message it cannot decode is handed out as an event
whose value is :class:`Undecodable`, with the error, in its place in the topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from confluent_kafka import Message

from streams.errors import ConfigError, DeserializationError
from streams.kafka.consumer import Consumer
from streams.kafka.deadletter import error_text
from streams.kafka.event import Event

__all__ = ["Undecodable", "ViewConsumer"]


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


class ViewConsumer(Consumer):
    """A :class:`Consumer` that only looks: ``group_id`` must be None, nothing is written.

    Takes the arguments of :class:`Consumer`. Messages that cannot be decoded are handed out as
    events whose value is an :class:`Undecodable` instead of going to the dead-letter topic.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("group_id") is not None:
            raise ConfigError(
                "a ViewConsumer joins no group and commits nothing: pass group_id=None"
            )
        super().__init__(*args, **kwargs)

    def _undecodable(self, message: Message, error: DeserializationError) -> Event[Any] | None:
        value = message.value()
        raw = value.encode() if isinstance(value, str) else value
        return Event(message, Undecodable(error.reason, error_text(message, error), raw))
