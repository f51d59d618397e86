"""One decoded event and the Kafka message it came from."""

from __future__ import annotations

from typing import Generic, TypeVar

from confluent_kafka import Message

from streams.kafka import headers as std
from streams.serialization import schema_id_of

__all__ = ["Event"]

T = TypeVar("T")


class Event(Generic[T]):
    """One decoded event and the Kafka message it came from."""

    __slots__ = ("message", "value")

    def __init__(self, message: Message, value: T) -> None:
        self.message = message
        self.value = value

    @property
    def topic(self) -> str:
        """The product topic."""
        return str(self.message.topic())

    @property
    def partition(self) -> int:
        """The partition."""
        return int(self.message.partition() or 0)

    @property
    def offset(self) -> int:
        """The offset."""
        return int(self.message.offset() or 0)

    @property
    def key(self) -> bytes | None:
        """The raw key."""
        key = self.message.key()
        return key if key is None or isinstance(key, bytes) else str(key).encode()

    @property
    def headers(self) -> dict[str, bytes | None]:
        """The headers (event_id, domain, content-type, trace_id, …)."""
        return std.as_dict(self.message.headers())

    @property
    def timestamp_ms(self) -> int:
        """The record timestamp in milliseconds."""
        return int(self.message.timestamp()[1])

    @property
    def schema_id(self) -> int:
        """The id of the schema the event was written with."""
        return schema_id_of(self.message.value())

    def __repr__(self) -> str:
        return f"Event({self.topic}[{self.partition}]@{self.offset}: {self.value!r})"
