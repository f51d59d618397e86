"""The catalog topic ``_mesh.products``: one compacted record per product version.

Keys are ``<domain>.<name>.v<major>`` so that major versions of one product coexist; values are
JSON (the descriptor, the value schema as registered, its id and subject, when it was published);
removing a version is a signed ``{"removed": true}`` record (a null value cannot be signed, so
readers that check signatures ignore one). Every value is sealed by the identity that published
it, and readers accept only entries signed by the product's domain or the admin
(:mod:`streams.catalog._signatures`). Readers read the whole topic with ``assign()`` up to
the end-of-partition event and keep the last value per key themselves: the embedded broker
answers ListOffsets wrongly and does not really compact (see BROKER.md).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import orjson
from confluent_kafka import KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient
from pydantic import ValidationError

from streams.catalog._model import Product
from streams.catalog._signatures import Rejected, Signatures
from streams.config import Settings
from streams.errors import BrokerUnavailableError, DeliveryError, DeserializationError
from streams.identity import seal
from streams.kafka.acked import send_acked
from streams.kafka.client import build_client
from streams.kafka.topics import COMPACTED, create_topic, read_to_end, topic_names
from streams.naming import internal_topic, topic_for

__all__ = ["PRODUCTS_TOPIC", "CatalogEntry", "CatalogStore", "Rejected", "entry_key"]

logger = logging.getLogger(__name__)

PRODUCTS_TOPIC = internal_topic("products")
"""The compacted catalog topic, ``_mesh.products``."""


def entry_key(product: Product) -> str:
    """The catalog key of a descriptor: ``<domain>.<name>.v<major>``.

    Raises:
        ConfigError: The domain or name breaks the naming convention.
    """
    return topic_for(product.id, product.version)


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One published product version.

    Attributes:
        key: ``<domain>.<name>.v<major>`` (see :func:`entry_key`).
        product: The descriptor.
        schema: The value schema text, as registered.
        schema_id: The registry's id of that schema.
        subject: The registry subject it is registered under.
        published_at: When it was published (UTC).
    """

    key: str
    product: Product
    schema: str
    schema_id: int
    subject: str
    published_at: datetime.datetime

    def to_data(self) -> dict[str, Any]:
        """The record's JSON object (before it is sealed), the descriptor in its camelCase form."""
        return {
            "product": self.product.model_dump(mode="json"),
            "schema": self.schema,
            "schema_id": self.schema_id,
            "subject": self.subject,
            "published_at": _utc(self.published_at).isoformat(),
        }

    def to_value(self) -> bytes:
        """The record value, unsigned: JSON of :meth:`to_data`."""
        return orjson.dumps(self.to_data())

    @classmethod
    def from_value(cls, key: str, value: bytes) -> CatalogEntry:
        """Decode a record value written by :meth:`to_value` (or a sealed one).

        Raises:
            DeserializationError: The value is not such a record (``reason="catalog"``).
        """
        return cls.from_data(key, _json_object(key, value))

    @classmethod
    def from_data(cls, key: str, data: dict[str, Any]) -> CatalogEntry:
        """Build an entry from a decoded record value.

        Raises:
            DeserializationError: The value is not such a record (``reason="catalog"``).
        """
        try:
            published = datetime.datetime.fromisoformat(str(data["published_at"]))
            schema_id = data["schema_id"]
            if not isinstance(schema_id, int) or isinstance(schema_id, bool):
                raise TypeError(f"schema_id must be an integer, got {schema_id!r}")
            return cls(
                key=key,
                product=Product.model_validate(data["product"]),
                schema=str(data["schema"]),
                schema_id=schema_id,
                subject=str(data["subject"]),
                published_at=_utc(published),
            )
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            raise _undecodable(key, exc) from exc


def _undecodable(key: str, exc: Exception) -> DeserializationError:
    problem = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
    return DeserializationError(
        f"catalog record {key!r} in {PRODUCTS_TOPIC} cannot be decoded: {problem}. "
        "Republish the product with 'mesh product apply'.",
        reason="catalog",
        topic=PRODUCTS_TOPIC,
    )


def _json_object(key: str, value: bytes) -> dict[str, Any]:
    try:
        data: Any = orjson.loads(value)
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise _undecodable(key, exc) from exc
    return data


def _warn(rejected: list[Rejected]) -> None:
    """One warning for the records a read ignored (each one's reason is logged at INFO)."""
    if not rejected:
        return
    shown = ", ".join(f"{r.key} ({r.reason.split(';')[0]})" for r in rejected[:2])
    more = f" and {len(rejected) - 2} more" if len(rejected) > 2 else ""
    logger.warning(
        "ignoring %d catalog record(s) in %s: %s%s; run with -v for every reason",
        len(rejected),
        PRODUCTS_TOPIC,
        shown,
        more,
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _utc(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


class CatalogStore:
    """Reads and writes the catalog topic. Clients are created lazily; usable as a context manager.

    Args:
        settings: Where Kafka and the registry are, and who publishes (``settings.identity``).
        timeout_s: How long to wait for the broker, for the end of the topic, for acknowledgements.
        signatures: The keys entries are checked against (default: asked of the registry on the
            first read).

    Attributes:
        rejected: The records the last :meth:`read` ignored, with why (forged, unsigned,
            undecodable).
    """

    def __init__(
        self,
        *,
        settings: Settings,
        timeout_s: float = 30.0,
        signatures: Signatures | None = None,
    ) -> None:
        self._settings = settings
        self._timeout = timeout_s
        self._producer: Producer | None = None
        self._topic_ready = False
        self._signatures = signatures
        self.rejected: list[Rejected] = []

    @property
    def topic(self) -> str:
        """The catalog topic."""
        return PRODUCTS_TOPIC

    def _unavailable(self, message: str) -> BrokerUnavailableError:
        servers = self._settings.kafka.bootstrap_servers
        return BrokerUnavailableError(message, bootstrap_servers=servers)

    def _topics(self, admin: AdminClient) -> set[str]:
        bootstrap = self._settings.kafka.bootstrap_servers
        return topic_names(admin, bootstrap=bootstrap, timeout_s=self._timeout)

    def _admin(self) -> AdminClient:
        kafka = self._settings.kafka
        return build_client(AdminClient, kafka.librdkafka(), settings=kafka)

    def ensure_topic(self) -> None:
        """Create the topic unless it exists: compacted, one partition, kept forever.

        Raises:
            BrokerUnavailableError: Kafka cannot be reached or refused to create the topic.
        """
        if self._topic_ready:
            return
        admin = self._admin()
        if PRODUCTS_TOPIC not in self._topics(admin):
            try:
                create_topic(admin, PRODUCTS_TOPIC, config=COMPACTED, timeout_s=self._timeout)
                logger.info("created catalog topic %s", PRODUCTS_TOPIC)
            except KafkaException as exc:
                raise self._unavailable(
                    f"could not create the catalog topic {PRODUCTS_TOPIC!r}: {exc}"
                ) from exc
        self._topic_ready = True

    def read(self) -> dict[str, CatalogEntry]:
        """The whole catalog: the last value per key; tombstones remove, bad records are skipped.

        An absent topic is an empty catalog (nothing was published yet).

        Raises:
            BrokerUnavailableError: Kafka cannot be reached, or the end of the topic was not
                reached in time.
        """
        self.rejected = []
        if not self._topic_ready and PRODUCTS_TOPIC not in self._topics(self._admin()):
            return {}
        signatures = self.signatures()
        entries: dict[str, CatalogEntry] = {}
        for message in self._messages():
            raw_key = message.key()
            offset = message.offset() or 0
            if raw_key is None:
                logger.warning("skipping a catalog record without key at offset %s", offset)
                continue
            key = raw_key.decode("utf-8", "replace") if isinstance(raw_key, bytes) else str(raw_key)
            value = message.value()
            try:
                problem = self._apply(entries, key, value, signatures)
            except DeserializationError as exc:
                problem = str(exc)
            if problem is not None:
                rejected = Rejected(key=key, offset=offset, reason=problem)
                logger.info("ignoring catalog record %r at offset %s: %s", key, offset, problem)
                self.rejected = [r for r in self.rejected if r.key != key] + [rejected]
            else:
                self.rejected = [r for r in self.rejected if r.key != key]
        _warn(self.rejected)
        return entries

    @staticmethod
    def _apply(
        entries: dict[str, CatalogEntry], key: str, value: bytes | None, signatures: Signatures
    ) -> str | None:
        """Apply one record to ``entries``; why it was ignored (None: applied)."""
        if value is None:
            if signatures.enforced:
                return "an unsigned tombstone cannot remove a product; the owner retires it"
            entries.pop(key, None)
            return None
        data = _json_object(key, value)
        problem = signatures.check(key, data)
        if problem is not None:
            return problem
        if data.get("removed") is True:
            if data.get("key") != key:
                return "a removal record signed for another key"
            entries.pop(key, None)
            return None
        entry = CatalogEntry.from_data(key, data)
        if entry_key(entry.product) != key:
            return f"the descriptor inside is {entry_key(entry.product)!r}, not {key!r}"
        entries[key] = entry
        return None

    def signatures(self) -> Signatures:
        """The keys entries are checked against, asked of the registry once.

        Raises:
            RegistryUnavailableError: The registry cannot be reached.
        """
        if self._signatures is None:
            self._signatures = Signatures.load(self._settings)
        return self._signatures

    def _messages(self) -> Iterator[Message]:
        conf = self._settings.kafka.librdkafka(group_id="streams-catalog-read")
        return read_to_end(conf, PRODUCTS_TOPIC, timeout_s=self._timeout)

    def publish(self, entry: CatalogEntry) -> None:
        """Write one entry (keyed by ``entry.key``) and wait for Kafka to acknowledge it.

        Raises:
            BrokerUnavailableError: Kafka cannot be reached.
            DeliveryError: Kafka did not acknowledge the record.
        """
        self._send(entry.key, self._sealed(entry.to_data()))

    def _sealed(self, data: dict[str, Any]) -> bytes:
        credential = self._settings.identity.credential()
        return orjson.dumps(data if credential is None else seal(data, credential))

    def _send(self, key: str, value: bytes | None) -> None:
        self.ensure_topic()
        if self._producer is None:
            kafka = self._settings.kafka
            conf = kafka.librdkafka(
                acks="all",
                enable_idempotence=True,
                linger_ms=0,
                message_timeout_ms=int(self._timeout * 1000),
            )
            self._producer = build_client(Producer, conf, settings=kafka)
        record = (PRODUCTS_TOPIC, key.encode(), value)
        unacked = send_acked(self._producer, [record], timeout_s=self._timeout, partition=0)
        if unacked:
            raise DeliveryError(
                f"Kafka did not acknowledge catalog record {key!r} in {PRODUCTS_TOPIC}: "
                f"{unacked.reason}. Check the broker and retry.",
                undelivered=unacked.count,
                failures=unacked.failures,
            )

    def remove(self, key: str) -> None:
        """Remove ``key`` (e.g. ``player.play_events.v1``): readers drop it.

        With an identity, a signed removal record (readers that check signatures honour only
        those); without one, a tombstone.

        Raises:
            BrokerUnavailableError: Kafka cannot be reached.
            DeliveryError: Kafka did not acknowledge the tombstone.
        """
        if self._settings.identity.credential() is None:
            self._send(key, None)
            return
        removed = {"removed": True, "key": key, "removed_at": _utc(_now()).isoformat()}
        self._send(key, self._sealed(removed))

    def close(self) -> None:
        """Flush and drop the producer."""
        if self._producer is not None:
            self._producer.flush(self._timeout)
            self._producer = None

    def __enter__(self) -> CatalogStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
