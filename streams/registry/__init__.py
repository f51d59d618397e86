"""A Confluent-compatible schema registry (Avro), stored in a compacted Kafka topic.

``serve()`` runs it as a process (``mesh registry serve``); :class:`RegistryServer` embeds it in
an event loop. Clients use confluent-kafka's ``SchemaRegistryClient`` unchanged.
"""

from __future__ import annotations

from streams.registry.server import RegistryServer, serve
from streams.registry.storage import KafkaStorage, MemoryStorage, Storage

__all__ = ["KafkaStorage", "MemoryStorage", "RegistryServer", "Storage", "serve"]
