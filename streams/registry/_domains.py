"""The domain book: which identities exist, with their public keys, and where that is kept.

The admin publishes each domain's public key on ``_mesh.domains`` (compacted, one partition,
key = the domain's name). Every value is ``seal(record, admin)`` JSON::

    {"name": "player", "public_key": "<base64url>", "created_at": "<ISO 8601>",
     "revoked_at": null | "<ISO 8601>", "signed_by": "admin", "signature": "..."}

The registry rebuilds its book from the topic at start and follows it (records written by
another instance appear within a fetch wait); a record whose admin signature does not verify
is ignored and logged. Writes change the book in memory first, so a revocation refuses the
domain's next request at once, and then append the record.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from streams.config import KafkaSettings
from streams.identity import ADMIN, Credential, seal, unseal
from streams.kafka.topics import COMPACTED, create_topic, read_to_end, topic_names
from streams.naming import internal_topic
from streams.registry._admin import open_admin

__all__ = [
    "Domain",
    "DomainBook",
    "DomainLog",
    "KafkaDomainLog",
    "MemoryDomainLog",
    "domains_topic",
]

logger = logging.getLogger(__name__)


def domains_topic() -> str:
    """``_mesh.domains``: the admin's signed records of the domains and their public keys."""
    return internal_topic("domains")


def now() -> str:
    """The current time as ISO 8601 UTC, to the microsecond: the order of a domain's changes
    (a create and a rotation in one second must not tie, see :meth:`DomainBook.apply`)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class Domain:
    """One domain identity as published by the admin."""

    name: str
    public_key: str
    created_at: str
    revoked_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The record's body (before sealing) and the API's answer."""
        return {
            "name": self.name,
            "public_key": self.public_key,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


class DomainBook:
    """The identities the registry accepts, by name; the admin's key is fixed at start.

    Args:
        admin: The admin credential the registry runs as (signs new records); None when
            authentication is off.
    """

    def __init__(self, *, admin: Credential | None) -> None:
        self.admin = admin
        self.admin_public_key = admin.public_key() if admin is not None else None
        self.domains: dict[str, Domain] = {}
        # Called after every change (the gate forgets the credentials it had checked).
        self.listeners: list[Callable[[], None]] = []

    def key_of(self, name: str) -> str | None:
        """The public key an identity's secret must match (None: unknown or revoked)."""
        if name == ADMIN:
            return self.admin_public_key
        domain = self.domains.get(name)
        if domain is None or domain.revoked_at is not None:
            return None
        return domain.public_key

    def put(self, domain: Domain) -> None:
        """Record ``domain`` (created, rotated or revoked) in memory."""
        self.domains[domain.name] = domain
        for listener in self.listeners:
            listener()

    def sealed(self, domain: Domain) -> bytes:
        """The log value of ``domain``: its record signed by the admin."""
        if self.admin is None:
            raise RuntimeError("the domain book has no admin credential to sign with")
        return orjson.dumps(seal(domain.to_json(), self.admin))

    def apply(self, key: bytes, value: bytes | None) -> None:
        """Apply one record read from the log; a record failing the admin's signature is
        ignored and logged (a forgery, or a record of another admin)."""
        if value is None:
            return  # a tombstone cannot be signed: revocation is a signed record instead
        try:
            record = orjson.loads(value)
        except orjson.JSONDecodeError:
            logger.warning("ignoring %s record %r: not JSON", domains_topic(), key)
            return
        if not isinstance(record, dict):
            logger.warning("ignoring %s record %r: not a JSON object", domains_topic(), key)
            return
        admin_key = self.admin_public_key
        verdict = unseal(record, lambda signer: admin_key if signer == ADMIN else None)
        if not verdict.valid:
            logger.warning("ignoring %s record %r: %s", domains_topic(), key, verdict.describe())
            return
        body = verdict.body
        try:
            domain = Domain(
                name=str(body["name"]),
                public_key=str(body["public_key"]),
                created_at=str(body["created_at"]),
                revoked_at=None if body.get("revoked_at") is None else str(body["revoked_at"]),
            )
        except KeyError as exc:
            logger.warning("ignoring %s record %r: no %s", domains_topic(), key, exc)
            return
        if domain.name != key.decode("utf-8", "replace"):
            logger.warning(
                "ignoring %s record %r: it names domain %r", domains_topic(), key, domain.name
            )
            return
        current = self.domains.get(domain.name)
        if current is not None and _changed(current) > _changed(domain):
            # The log's echo of an older change (the book follows the log it writes to): a
            # revoked or rotated key must not come back, even for a moment.
            logger.debug("skipping %s record %r: older than the book's", domains_topic(), key)
            return
        if current != domain:
            self.put(domain)


def _changed(domain: Domain) -> datetime:
    """When ``domain`` last changed (created, rotated or revoked)."""
    return datetime.fromisoformat(domain.revoked_at or domain.created_at)


Deliver = Callable[[list[tuple[bytes, bytes | None]]], None]


class DomainLog(Protocol):
    """Where the domain book is kept."""

    def replay(self) -> Iterator[tuple[bytes, bytes | None]]:
        """Every record from the beginning to the current end."""
        ...

    def follow(self, deliver: Deliver) -> None:
        """Keep reading after the replay; ``deliver`` may be called on any thread."""
        ...

    async def write(self, key: bytes, value: bytes) -> None:
        """Append one record, returning once it is stored."""
        ...

    def close(self) -> None:
        """Stop following."""
        ...


class MemoryDomainLog:
    """The domain log in a list (tests); share one between servers to model a restart."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes | None]] = []

    def replay(self) -> Iterator[tuple[bytes, bytes | None]]:
        """Every record so far."""
        return iter(list(self.records))

    def follow(self, deliver: Deliver) -> None:
        """Nobody else writes a memory log."""

    async def write(self, key: bytes, value: bytes) -> None:
        """Append at once."""
        self.records.append((key, value))

    def close(self) -> None:
        """Nothing to release."""


class KafkaDomainLog:
    """The domain log on Kafka: ``_mesh.domains``, compacted, one partition.

    Args:
        kafka: The cluster (the registry's own settings, SASL and TLS included).
        topic: The topic (default :func:`domains_topic`).
        timeout_s: How long a read or write may wait for Kafka.
    """

    def __init__(
        self, *, kafka: KafkaSettings, topic: str | None = None, timeout_s: float = 30.0
    ) -> None:
        self._kafka = kafka
        self.topic = topic or domains_topic()
        self._timeout = timeout_s
        self._next = 0
        self._producer: Producer | None = None
        self._stop = threading.Event()
        self._tail: threading.Thread | None = None

    def _ensure_topic(self) -> None:
        admin = open_admin(self._kafka, probe_s=min(5.0, self._timeout))
        names = topic_names(admin, bootstrap=self._kafka.bootstrap_servers, timeout_s=self._timeout)
        if self.topic not in names:
            create_topic(admin, self.topic, config=COMPACTED, timeout_s=self._timeout)

    def replay(self) -> Iterator[tuple[bytes, bytes | None]]:
        """Read the topic to its end (creating it first when missing)."""
        self._ensure_topic()
        conf = self._kafka.librdkafka(group_id="streams-registry-domains")
        for message in read_to_end(conf, self.topic, timeout_s=self._timeout):
            self._next = (message.offset() or 0) + 1
            key = message.key()
            if key is not None:
                yield key, message.value()

    def follow(self, deliver: Deliver) -> None:
        """Read on from the end of the replay on a background thread."""
        consumer = Consumer(
            self._kafka.librdkafka(
                group_id="streams-registry-domains",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_wait_max_ms=100,
            )
        )
        consumer.assign([TopicPartition(self.topic, 0, self._next)])
        self._tail = threading.Thread(
            target=self._follow, args=(consumer, deliver), name="registry-domains", daemon=True
        )
        self._tail.start()

    def _follow(self, consumer: Consumer, deliver: Deliver) -> None:
        try:
            while not self._stop.is_set():
                records = [
                    (message.key(), message.value())
                    for message in consumer.consume(100, 0.2)
                    if message.error() is None and message.key() is not None
                ]
                if records:
                    deliver(records)  # type: ignore[arg-type]
        except Exception:
            logger.exception("the registry stopped following %s", self.topic)
        finally:
            consumer.close()

    async def write(self, key: bytes, value: bytes) -> None:
        """Produce one record and wait for Kafka's acknowledgement."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._write, key, value)

    def _write(self, key: bytes, value: bytes) -> None:
        if self._producer is None:
            self._producer = Producer(self._kafka.librdkafka(enable_idempotence=True))
        errors: list[Any] = []
        self._producer.produce(
            self.topic, key=key, value=value, on_delivery=lambda err, _msg: errors.append(err)
        )
        if self._producer.flush(self._timeout) != 0 or errors != [None]:
            raise KafkaException(errors[0] if errors else "delivery timed out")

    def close(self) -> None:
        """Stop following and release the producer."""
        self._stop.set()
        if self._tail is not None:
            self._tail.join(timeout=5)
        if self._producer is not None:
            self._producer.flush(5)
