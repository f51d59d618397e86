"""Emit events to data products: validated, Avro-encoded, Confluent-framed, with standard headers.

Keys: an event emitted without ``key=`` is keyed by the value of its product's key field (the
descriptor's ``outputPort.key``, looked up once per product in the ``directory``, e.g. a
:class:`streams.catalog.Catalog`), so each key's events share a partition, as consumers that
aggregate by the key (derived products) need. Partitions are chosen by ``murmur2_random``, the
Java producer's hash, so Python and Java producers put a key on the same partition.

Personal data: fields a product's schema marks ``"pii": "pseudonymize"`` are replaced by the
mesh's pseudonyms and ``"pii": "encrypt"`` ones by ciphertexts under a data key per data subject
(:mod:`streams.pii`); the Kafka key becomes the pseudonym when the key field is pseudonymized.
New data keys are stored by the registry's key service in batches before the records that use
them are sent (:mod:`streams.kafka._keygate`); ``flush`` waits for both.

Delivery is never silent: librdkafka reports only failed deliveries back to Python (so success
costs nothing per message), they are counted, and :meth:`Producer.flush` raises
:class:`~streams.errors.DeliveryError` if any message was not acknowledged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from confluent_kafka import KafkaError, Message
from confluent_kafka import Producer as _KafkaProducer
from pydantic import BaseModel

from streams.config import Settings, load_settings
from streams.errors import ConfigError, DeliveryError, OwnershipError, SerializationError
from streams.kafka import headers as std
from streams.kafka._keygate import BatchKeyGate
from streams.kafka._protecting import Protecting, pseudonymous_key
from streams.kafka.client import build_client
from streams.kafka.directory import ProductDirectory, product_ref
from streams.kafka.encryption import FieldEncryption
from streams.kafka.schemas import SchemaSource
from streams.naming import ProductRef, dlq_topic
from streams.pii import FieldProtection
from streams.serialization import AvroEncoder
from streams.serialization.quality import Broken, Check, QualitySpec, compile_checks, specs_from

__all__ = ["Producer"]

logger = logging.getLogger(__name__)

_MAX_SAMPLES = 20


class _Failures:
    """Counts failed deliveries since the last flush. A separate object, so librdkafka's callback
    does not hold the Producer in a reference cycle (which would keep the client alive until the
    GC runs)."""

    __slots__ = ("count", "samples", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0
        self.samples: list[tuple[str, str]] = []

    def __call__(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            return
        self.count += 1
        self.total += 1
        if len(self.samples) < _MAX_SAMPLES:
            self.samples.append((str(msg.topic()), err.str()))

    def take(self) -> tuple[int, list[tuple[str, str]]]:
        """The failures since the last call, forgotten: each flush reports its own."""
        taken = self.count, self.samples
        self.count, self.samples = 0, []
        return taken


def _refused(target: _Target, broken: list[Broken]) -> SerializationError:
    rules: dict[tuple[str, str], QualitySpec] = {(s.field, s.rule): s for s in target.specs}
    parts = [
        f"{field} = {value!r} breaks {rules[(field, rule)].describe()}"
        for field, rule, value in broken
    ]
    field, rule, value = broken[0]
    return SerializationError(
        f"the event breaks the quality rules of {target.topic}: {'; '.join(parts)} (the rules "
        "registered with its schema, from the product descriptor's 'quality'); fix the "
        "value. Nothing was sent.",
        product=target.topic,
        path=field,
        expected=rules[(field, rule)].describe(),
        value=value,
    )


def _wrong_argument(name: str, value: Any, expected: str) -> TypeError:
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return TypeError(
        f"emit: {name} must be {expected}, got {shown} ({type(value).__name__}); convert it "
        "(e.g. str(...)) before emitting. Nothing was sent."
    )


@dataclass(frozen=True, slots=True)
class _Target:
    """Everything emit needs for one product, resolved once."""

    topic: str
    encode: Callable[[Any], bytes]
    headers: list[tuple[str, str | bytes | None]]  # the fixed ones; copied per message
    has_event_id: bool
    key_field: str | None  # the descriptor's key field: the default key
    described: bool  # whether the directory knows the product (else a null key is a guess)
    check: Check | None = None  # the quality rules registered with the schema
    specs: tuple[QualitySpec, ...] = ()
    protection: FieldProtection | None = None  # the schema's "pii" marks
    pseudonymized: tuple[str, ...] = ()


class Producer:
    """A synchronous producer of domain events.

    Args:
        settings: Where Kafka and the registry are (default: :func:`~streams.config.load_settings`:
            the environment, else the platform ``mesh up`` started, found from any subdirectory).
        domain: The producing domain. When set, emitting to another domain's product raises
            :class:`~streams.errors.OwnershipError`: only a product's domain may write it.
        schemas: Override the registry access (tests, custom clients).
        config: Extra librdkafka properties (e.g. ``{"compression.type": "lz4"}``).
        directory: Where descriptors are looked up (e.g. a :class:`streams.catalog.Catalog`):
            ``emit`` without ``key=`` keys each event by its product's key field. Without one
            (or for a product it does not know), such events get a null key, and the first
            one per product logs a warning: consumers aggregating by a key cannot use them.
        rule_failures: What ``emit`` does with an event that breaks its product's quality rules:
            ``raise`` (default: :class:`~streams.errors.SerializationError`, nothing sent), or
            ``dead-letter``: the rules' DLQ action, as Confluent's serializer does it; the
            event goes to the product's dead-letter topic with the broken rule in its headers,
            ``emit`` returns and :attr:`rule_failures` counts it (a derived product's agent
            cannot stop at one bad aggregate).

    Example:
        >>> catalog = Catalog.from_store(CatalogStore(settings=settings))
        >>> with Producer(domain="player", directory=catalog) as producer:
        ...     producer.emit("player.play_events", event)  # keyed by event["user_id"]
    """

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        domain: str | None = None,
        schemas: SchemaSource | None = None,
        config: Mapping[str, str | int | float | bool] | None = None,
        directory: ProductDirectory | None = None,
        rule_failures: Literal["raise", "dead-letter"] = "raise",
    ) -> None:
        settings = settings or load_settings()
        self._domain = domain
        self._dead_letter_failures = rule_failures == "dead-letter"
        self.rule_failures = 0
        """How many events broke their quality rules and were dead-lettered."""
        self._directory = directory
        self._unkeyed: set[str | ProductRef] = set()
        self._schemas = schemas or SchemaSource.from_settings(settings.registry)
        self._registry = settings.registry
        self._encryption: FieldEncryption | None = None  # made for the first ENCRYPT rule
        # Made for the first product whose schema has "pii" marks.
        self._protecting: Protecting | None = None
        self._gate: BatchKeyGate | None = None
        self._failures = _Failures()
        conf: dict[str, Any] = settings.kafka.librdkafka(linger_ms=5)
        conf.update(
            {
                "enable.idempotence": True,
                # The Java producer's hash (librdkafka's default is CRC32): a key lands on the
                # same partition whichever client wrote it, so co-partitioned inputs stay so.
                "partitioner": "murmur2_random",
                "delivery.report.only.error": True,
                "on_delivery": self._failures,
                **(config or {}),
            }
        )
        self._producer = build_client(_KafkaProducer, conf, settings=settings.kafka)
        self._targets: dict[str | ProductRef, _Target] = {}
        self._id_prefix = uuid.uuid4().hex[:16]
        self._sent = 0

    # --- emitting --------------------------------------------------------------------------

    def emit(
        self,
        product: str | ProductRef,
        event: Mapping[str, Any] | BaseModel,
        *,
        key: str | bytes | None = None,
        headers: Mapping[str, str | bytes] | None = None,
        trace_id: str | None = None,
    ) -> None:
        """Validate, encode and send one event to ``product`` (``domain.name`` or ``…vN``).

        Without ``key``, the event is keyed by (the text of) its value of the product's key
        field, per the descriptor in the ``directory``; an explicit ``key`` wins.

        Raises:
            SerializationError: The event does not match the product's registered schema
                (names the field path, the expected type and the value), or has no value for
                the product's key field; nothing was sent.
            SchemaError: The product has no registered schema.
            ConfigError: The ``directory`` says the product is retired; nothing was sent.
            OwnershipError: The producer's domain does not own the product.
            TypeError: ``key``, ``trace_id`` or a header value has a wrong type (names the
                argument); nothing was sent.
        """
        if key is not None and key.__class__ is not str and not isinstance(key, bytes):
            raise _wrong_argument("key", key, "a str, bytes or None")
        if trace_id is not None and trace_id.__class__ is not str:
            raise _wrong_argument("trace_id", trace_id, "a str or None")
        if headers:
            for name, item in headers.items():
                if not isinstance(name, str):
                    raise _wrong_argument("a header name", name, "a str")
                if not isinstance(item, str | bytes):
                    raise _wrong_argument(f"headers[{name!r}]", item, "a str or bytes")
        target = self._targets.get(product)
        if target is None:
            target = self._resolve(product)
        if event.__class__ is not dict:
            event = event.model_dump(mode="python") if isinstance(event, BaseModel) else dict(event)
        if target.check is not None:
            broken = target.check(event)
            if broken:
                refused = _refused(target, broken)
                if not self._dead_letter_failures:
                    raise refused
                self._dead_letter(target, event, key, refused)
                return
        protection = target.protection
        new_key = None
        raw_event = event
        if protection is not None:
            protected = protection.protect(event)
            event, data_key, new = protected.value, protected.key, protected.new
            if new:
                new_key = data_key
            if key is not None and target.pseudonymized:
                key = pseudonymous_key(target.pseudonymized, raw_event, event, key)
        else:
            data_key = None
        value = target.encode(event)
        if key is None:
            field = target.key_field
            if field is not None:
                key = event.get(field)
                if key is None:
                    raise self._no_key(target, field)
                if key.__class__ is not str:
                    key = str(key)  # the text the agents compare the Kafka key with
            elif not target.described and product not in self._unkeyed:
                self._warn_unkeyed(product, target)
        event_id = raw_event.get("event_id") if target.has_event_id else None
        if event_id is None:
            event_id = f"{self._id_prefix}-{self._sent}"
        elif event_id.__class__ is not str:
            event_id = str(event_id)  # e.g. a uuid.UUID from a generated model
        message_headers = [*target.headers, (std.EVENT_ID, event_id.encode())]
        if trace_id is not None:
            message_headers.append((std.TRACE_ID, trace_id.encode()))
        if headers:
            message_headers.extend(
                (name, item.encode() if isinstance(item, str) else item)
                for name, item in headers.items()
            )
        encoded_key = key.encode() if isinstance(key, str) else key
        gate = self._gate
        if gate is not None and (data_key is not None or gate.waiting):
            gate.send(
                data_key,
                new_key is not None,
                self._produce,
                target.topic,
                value,
                encoded_key,
                message_headers,
            )
        else:
            self._produce(target.topic, value, encoded_key, message_headers)
        if not self._sent & 0x3FF:
            self._producer.poll(0)
            if gate is not None:
                gate.poll()

    def poll(self) -> None:
        """Serve delivery reports and send the records whose data keys were stored meanwhile
        (``emit`` does it every 1024 events; ``flush`` waits for all)."""
        self._producer.poll(0)
        if self._gate is not None:
            self._gate.poll()

    def _dead_letter(
        self, target: _Target, event: dict[str, Any], key: str | bytes | None, error: Exception
    ) -> None:
        """The quality rules' DLQ action: ``event`` to the product's dead-letter topic."""
        if key is None and target.key_field is not None and event.get(target.key_field):
            key = str(event[target.key_field])
        headers: list[tuple[str, str | bytes | None]] = [
            *target.headers,
            (std.DLQ_ERROR, str(error).encode()),
            (std.DLQ_REASON, b"quality"),
            (std.DLQ_TOPIC, target.topic.encode()),
        ]
        data_key, new = None, False
        if target.protection is not None:  # a dead letter carries no more personal data
            protected = target.protection.protect(event)
            if key is not None and target.pseudonymized:
                key = pseudonymous_key(target.pseudonymized, event, protected.value, key)
            event, data_key, new = protected.value, protected.key, protected.new
        encoded_key = key.encode() if isinstance(key, str) else key
        value = target.encode(event)
        gate = self._gate
        if gate is not None and (data_key is not None or gate.waiting):
            gate.send(
                data_key, new, self._produce, dlq_topic(target.topic), value, encoded_key, headers
            )
        else:
            self._produce(dlq_topic(target.topic), value, encoded_key, headers)
        self.rule_failures += 1
        if self.rule_failures == 1 or not self.rule_failures & 0x3FF:
            logger.warning(
                "%s (dead-lettered to %s; %d so far)",
                error,
                dlq_topic(target.topic),
                self.rule_failures,
            )

    def tombstone(self, product: str | ProductRef, key: str | bytes) -> None:
        """Delete ``key`` from ``product``'s compacted topic: a record with a null value.

        Raises:
            OwnershipError: The producer's domain does not own the product.
            TypeError: ``key`` is not a str or bytes; nothing was sent.
        """
        if key.__class__ is not str and not isinstance(key, bytes):
            raise _wrong_argument("key", key, "a str or bytes")
        target = self._targets.get(product)
        if target is None:
            target = self._resolve(product)
        encoded_key = key.encode() if isinstance(key, str) else key
        headers = [header for header in target.headers if header[0] == std.DOMAIN]
        self._produce(target.topic, None, encoded_key, headers)

    def _produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: list[tuple[str, str | bytes | None]],
    ) -> None:
        while True:
            try:
                self._producer.produce(topic, value, key, headers=headers)
                break
            except BufferError:
                # librdkafka's queue is full: wait for deliveries instead of dropping events.
                self._producer.poll(0.05)
        self._sent += 1

    def _resolve(self, product: str | ProductRef) -> _Target:
        ref = product_ref(self._directory, product)  # bare: the latest active version
        if self._domain is not None and ref.domain != self._domain:
            raise OwnershipError(
                f"domain {self._domain!r} may not emit to {ref.id!r}, which domain "
                f"{ref.domain!r} owns; emit to your own products, or consume {ref.id!r} instead",
                domain=self._domain,
                product=ref.id,
            )
        status = None if self._directory is None else self._directory.resolve(ref)
        if status is not None and status.status == "retired":
            # Checked here, once per product, where the directory is already asked for the key:
            # the Python API is refused like `mesh produce`, at no cost per event.
            raise ConfigError(
                f"product {ref.topic} is retired: it accepts no more events"
                f"{': ' + status.note if status.note else ''}; emit to "
                f"{status.replaced_by or 'its newer major version'} instead. Nothing was sent.",
            )
        schema_id, schema = self._schemas.latest(ref.subject)
        encoder = AvroEncoder(schema, schema_id=schema_id, product=ref.id)
        encode: Callable[[Any], bytes] = encoder.__call__
        rule_set, metadata = self._schemas.contract(schema_id)
        protect = self._protection(ref.subject, schema, rule_set, metadata)
        if protect is not None:
            encode = lambda event: encoder(protect(event))  # noqa: E731
        protection = None
        if '"pii"' in schema:
            if self._protecting is None:
                self._protecting = Protecting(self._registry)
            protection = self._protecting.protection(ref, schema)
            self._gate = self._protecting.gate
        specs = tuple(specs_from(rule_set))
        fixed: list[tuple[str, str | bytes | None]] = [
            (std.DOMAIN, (self._domain or ref.domain).encode()),
            (std.CONTENT_TYPE, std.AVRO_CONTENT_TYPE),
        ]
        has_event_id = '"event_id"' in schema
        key_field = None if status is None else status.key
        target = _Target(
            ref.topic,
            encode,
            fixed,
            has_event_id,
            key_field,
            status is not None,
            compile_checks(specs),
            specs,
            protection,
            () if protection is None else protection.pseudonymized_fields,
        )
        self._targets[product] = target
        logger.debug("emitting %s to %s with schema id %d", ref.id, ref.topic, schema_id)
        return target

    def _protection(
        self,
        subject: str,
        schema: str,
        rule_set: dict[str, Any] | None,
        metadata: dict[str, Any] | None,
    ) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
        """What encrypts the fields the schema's ENCRYPT rules name (Confluent's format)."""
        if rule_set is None:
            return None
        if self._encryption is None:
            self._encryption = FieldEncryption(registry=self._registry)
        return self._encryption.writer(subject, schema, rule_set, metadata)

    def _no_key(self, target: _Target, field: str) -> SerializationError:
        return SerializationError(
            f"the event has no value for {field!r}, the key of {target.topic} (its descriptor's "
            f"outputPort.key), so it cannot go to that key's partition; set {field}, or pass "
            "key= explicitly. Nothing was sent.",
            product=target.topic,
            path=field,
            expected="a value for the key",
            value=None,
        )

    def _warn_unkeyed(self, product: str | ProductRef, target: _Target) -> None:
        self._unkeyed.add(product)
        where = "no directory was given" if self._directory is None else "it is not in the catalog"
        logger.warning(
            "emitting to %s without a key: its key field is unknown (%s), so events get null "
            "keys and spread over the partitions, and derived products that aggregate by a key "
            "dead-letter them; pass a key (key=..., mesh produce --key-field), or publish the "
            "product (mesh product apply) and give the Producer directory=<a Catalog>",
            target.topic,
            where,
        )

    # --- delivery ---------------------------------------------------------------------------

    @property
    def sent(self) -> int:
        """Events handed to Kafka so far."""
        return self._sent

    @property
    def failed(self) -> int:
        """Events Kafka reported as not delivered so far (over all flushes)."""
        return self._failures.total

    def flush(self, timeout: float = 30.0) -> int:
        """Wait until every event is acknowledged; return how many were sent in total.

        Raises:
            DeliveryError: Some events emitted since the previous flush were not delivered (or
                not within ``timeout``). Each flush reports only its own failures, so one failure
                does not fail every later flush.
        """
        if self._gate is not None:
            self._gate.flush(timeout)
        remaining = self._producer.flush(timeout)
        failed, failures = self._failures.take()
        if remaining or failed:
            undelivered = remaining + failed
            samples = "; ".join(f"{topic}: {error}" for topic, error in failures[:3])
            raise DeliveryError(
                f"{undelivered} of {self._sent} events were not delivered "
                f"({remaining} still queued after {timeout:.0f}s, {failed} failed"
                + (f": {samples}" if samples else "")
                + "); check that the broker is up and the topics exist, then emit them again",
                undelivered=undelivered,
                failures=failures,
            )
        return self._sent

    def close(self, timeout: float = 30.0) -> None:
        """Flush, then release the Kafka and registry clients (raises DeliveryError like flush)."""
        try:
            self.flush(timeout)
        finally:
            self._release()

    def _release(self) -> None:
        if self._protecting is not None:
            self._protecting.close()
        self._schemas.close()
        if self._encryption is not None:
            self._encryption.close()
        self._producer.close()

    def __enter__(self) -> Producer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            # Already failing: still try to deliver what was emitted, without masking the error.
            try:
                self._producer.flush(5)
            finally:
                self._release()
