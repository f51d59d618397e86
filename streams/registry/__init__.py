"""A Confluent-compatible schema registry (Avro), stored in a compacted Kafka topic.

``serve()`` runs it as a process (``mesh registry serve``); :class:`RegistryServer` embeds it in
an event loop. Clients use confluent-kafka's ``SchemaRegistryClient`` unchanged.

The Avro schema model it serves (parser, canonical form, compatibility) lives in
:mod:`streams.avro`; the server's names are imported lazily, so importing ``streams.registry``
does not load the server or the Kafka client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streams.registry._access import AccessBook, Grant, access_topic
    from streams.registry._broker import broker_access
    from streams.registry._domains import (
        Domain,
        DomainBook,
        DomainLog,
        KafkaDomainLog,
        MemoryDomainLog,
        domains_topic,
    )
    from streams.registry._keys_api import MayRead, may_read_default
    from streams.registry._limits import HttpLimits
    from streams.registry.server import KeyService, RegistryAuth, RegistryServer, serve
    from streams.registry.storage import KafkaStorage, MemoryStorage, Storage

__all__ = [
    "AccessBook",
    "Domain",
    "DomainBook",
    "DomainLog",
    "Grant",
    "HttpLimits",
    "KafkaDomainLog",
    "KafkaStorage",
    "KeyService",
    "MayRead",
    "MemoryDomainLog",
    "MemoryStorage",
    "RegistryAuth",
    "RegistryServer",
    "Storage",
    "access_topic",
    "broker_access",
    "domains_topic",
    "may_read_default",
    "serve",
]

_LAZY = {
    "AccessBook": "streams.registry._access",
    "Grant": "streams.registry._access",
    "access_topic": "streams.registry._access",
    "broker_access": "streams.registry._broker",
    "Domain": "streams.registry._domains",
    "DomainBook": "streams.registry._domains",
    "DomainLog": "streams.registry._domains",
    "KafkaDomainLog": "streams.registry._domains",
    "MemoryDomainLog": "streams.registry._domains",
    "domains_topic": "streams.registry._domains",
    "RegistryAuth": "streams.registry.server",
    "KeyService": "streams.registry.server",
    "MayRead": "streams.registry._keys_api",
    "may_read_default": "streams.registry._keys_api",
    "HttpLimits": "streams.registry._limits",
    "RegistryServer": "streams.registry.server",
    "serve": "streams.registry.server",
    "KafkaStorage": "streams.registry.storage",
    "MemoryStorage": "streams.registry.storage",
    "Storage": "streams.registry.storage",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'streams.registry' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
