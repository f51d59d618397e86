"""``_mesh.keys``: the wrapped data keys of the mesh, and forgetting a data subject.

Each record is keyed by the data key's id (``<product>/<subject tag>/<serial>``) and holds the
key wrapped by the producer's :class:`KeyProvider`::

    {"v": 1, "product": "...", "subject": "<tag>", "kek": "<kek id>",
     "wrapped": "<base64>", "created_ms": <epoch milliseconds>}

The topic is compacted, one partition, kept forever; a tombstone (null value) deletes a key.
Readers keep the last value per key themselves (the embedded broker does not compact), so a
tombstone removes the key for every reader that reads to the end afterwards: after
``forget(subject)`` the subject's encrypted fields are unreadable in every retained record of
every product, replays included (crypto-shredding: no log is rewritten).
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable

import orjson
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

from streams.access._keys import DataKey, KeyProvider, parse_key_id
from streams.access._lru import Lru
from streams.access._pseudonym import Pseudonymizer
from streams.config import KafkaSettings
from streams.errors import BrokerUnavailableError, DeliveryError
from streams.kafka.client import build_client
from streams.kafka.topics import COMPACTED, create_topic, read_to_end, topic_names
from streams.naming import internal_topic

__all__ = ["KEYS_TOPIC", "KeyStore", "key_record"]

logger = logging.getLogger(__name__)

KEYS_TOPIC = internal_topic("keys")


def key_record(key: DataKey, provider: KeyProvider) -> bytes:
    """The ``_mesh.keys`` value of ``key``: wrapped by ``provider``, bound to its id."""
    parsed = parse_key_id(key.id)
    assert parsed is not None, key.id
    wrapped = provider.wrap(key.secret, context=key.id.encode())
    return orjson.dumps(
        {
            "v": 1,
            "product": parsed[0],
            "subject": parsed[1],
            "kek": provider.kek_id,
            "wrapped": base64.b64encode(wrapped).decode(),
            "created_ms": time.time_ns() // 1_000_000,
        }
    )


class KeyStore:
    """The data keys on ``_mesh.keys`` as one reader sees them, unwrapped on demand and cached.

    Args:
        settings: How to reach Kafka.
        provider: Unwraps the keys (it must hold the KEK they were wrapped with).
        timeout_s: How long reads and writes wait without progress.
        cache_size: How many unwrapped keys to keep.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        provider: KeyProvider,
        timeout_s: float = 30.0,
        cache_size: int = 65_536,
    ) -> None:
        self._settings = settings
        self._provider = provider
        self._timeout = timeout_s
        self._wrapped: dict[str, dict[str, object]] = {}
        self._clear: Lru[str, DataKey] = Lru(cache_size)

    def ensure_topic(self) -> None:
        """Create ``_mesh.keys`` unless it exists (compacted, one partition, kept forever).

        Raises:
            BrokerUnavailableError: Kafka cannot be reached or refused to create it.
        """
        admin = build_client(AdminClient, self._settings.librdkafka(), settings=self._settings)
        bootstrap = self._settings.bootstrap_servers
        if KEYS_TOPIC in topic_names(admin, bootstrap=bootstrap, timeout_s=self._timeout):
            return
        try:
            create_topic(admin, KEYS_TOPIC, config=COMPACTED, timeout_s=self._timeout)
        except KafkaException as exc:
            raise BrokerUnavailableError(
                f"could not create the key topic {KEYS_TOPIC!r}: {exc}",
                bootstrap_servers=bootstrap,
            ) from exc

    def refresh(self) -> None:
        """Read ``_mesh.keys`` to its end: the last value per key id, tombstones remove.

        Raises:
            BrokerUnavailableError: Kafka cannot be reached, or the end was not reached in time.
        """
        conf = self._settings.librdkafka(group_id="streams-keys-read")
        wrapped: dict[str, dict[str, object]] = {}
        for message in read_to_end(conf, KEYS_TOPIC, timeout_s=self._timeout):
            raw = message.key()
            kid = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else None
            if kid is None or parse_key_id(kid) is None:
                logger.warning("skipping a %s record without a key id", KEYS_TOPIC)
                continue
            value = message.value()
            if value is None:
                wrapped.pop(kid, None)
                continue
            try:
                body = orjson.loads(value)
            except orjson.JSONDecodeError:
                logger.warning("skipping %s record %s: not JSON", KEYS_TOPIC, kid)
                continue
            if isinstance(body, dict):
                wrapped[kid] = body
        self._wrapped = wrapped
        for kid in self._clear.names():
            if kid not in wrapped:
                self._clear.pop(kid)

    def ids(self) -> set[str]:
        """The key ids known at the last :meth:`refresh`."""
        return set(self._wrapped)

    def get(self, kid: str) -> DataKey | None:
        """The clear data key ``kid``, or ``None`` when it is unknown, forgotten or does not
        unwrap with this provider (never raises)."""
        found = self._clear.get(kid)
        if found is not None:
            return found
        body = self._wrapped.get(kid)
        if body is None:
            return None
        try:
            wrapped = base64.b64decode(str(body["wrapped"]), validate=True)
            secret = self._provider.unwrap(wrapped, kek_id=str(body["kek"]), context=kid.encode())
        except (KeyError, ValueError) as exc:
            logger.warning("data key %s cannot be unwrapped: %s", kid, exc)
            return None
        key = DataKey.of(kid, secret)
        self._clear.put(kid, key)
        return key

    def lookup(self) -> Callable[[str], DataKey | None]:
        """:meth:`get`, to pass as ``keys`` to :meth:`FieldProtection.reveal`."""
        return self.get

    def forget(self, subject: str, *, pseudonymizer: Pseudonymizer) -> list[str]:
        """Tombstone every data key of ``subject`` (a raw id, as the owner knows it) in every
        product; returns the key ids removed. Reads the topic to its end first.

        Raises:
            BrokerUnavailableError: Kafka cannot be reached.
            DeliveryError: Kafka did not acknowledge every tombstone (run it again).
        """
        self.refresh()
        tags = pseudonymizer.subject_tags(subject)
        doomed = sorted(
            kid for kid in self._wrapped if (parse_key_id(kid) or ("", "", ""))[1] in tags
        )
        if not doomed:
            return []
        failures: list[tuple[str, str]] = []

        def delivered(error: object, message: object) -> None:
            if error is not None:
                failures.append((KEYS_TOPIC, str(error)))

        producer = build_client(
            Producer, self._settings.librdkafka(enable_idempotence=True), settings=self._settings
        )
        for kid in doomed:
            producer.produce(KEYS_TOPIC, None, kid.encode(), on_delivery=delivered)
        left = producer.flush(self._timeout)
        if left or failures:
            raise DeliveryError(
                f"{left + len(failures)} of {len(doomed)} key tombstones for {subject!r} were "
                f"not acknowledged on {KEYS_TOPIC}; run forget again",
                undelivered=left + len(failures),
                failures=failures[:5],
            )
        for kid in doomed:
            self._wrapped.pop(kid, None)
            self._clear.pop(kid)
        logger.info("forgot %d data keys of one data subject", len(doomed))
        return doomed
