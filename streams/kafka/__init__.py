"""Kafka clients for data products: emit, consume, dead letters."""

from __future__ import annotations

from streams.kafka.consumer import Consumer
from streams.kafka.deadletter import DeadLetters
from streams.kafka.event import Event
from streams.kafka.producer import Producer
from streams.kafka.schemas import SchemaSource

__all__ = ["Consumer", "DeadLetters", "Event", "Producer", "SchemaSource"]
