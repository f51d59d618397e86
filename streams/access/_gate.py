"""Send records only after the data keys they use are acknowledged on ``_mesh.keys``.

A record encrypted under a key nobody can find is lost data, so the key record must be on the
broker before the data record is. Kafka orders records within one partition only, and the key
and data records are on different topics, so ordering alone proves nothing: the gate waits for
the key record's acknowledgement. It does so without blocking the producer: records whose key
is still in flight queue in order (and every later record behind them, so the producer's order
is kept), and are sent as soon as the acknowledgements arrive through ``poll()``. Most records
use a key that was acknowledged long ago and go straight through; a burst of new subjects costs
one round trip, overlapped with the rest of the batch (scripts/bench events, ListenerRegistered:
a new key per record).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from streams.access._keys import DataKey, KeyProvider
from streams.access._keystore import KEYS_TOPIC, key_record
from streams.errors import DeliveryError

__all__ = ["KeyGate"]

_POLL_INTERVAL_S = 0.001
_MAX_WAITING = 10_000


class KeyGate:
    """Publishes new data keys and holds back the records that use them until they are acked.

    Args:
        producer: The confluent-kafka producer the data records are also sent with (the key
            records share its connection and batching).
        provider: Wraps the new keys.
    """

    def __init__(self, producer: Producer, *, provider: KeyProvider) -> None:
        self._producer = producer
        self._provider = provider
        self._in_flight: set[str] = set()
        self._waiting: deque[tuple[str | None, Callable[..., object], tuple[Any, ...]]] = deque()
        self._failures: list[tuple[str, str]] = []
        self._refused: set[str] = set()
        self._polled = 0.0

    @property
    def waiting(self) -> int:
        """How many records wait for a key's acknowledgement."""
        return len(self._waiting)

    def send(
        self, key: DataKey | None, new: bool, produce: Callable[..., object], *args: Any
    ) -> None:
        """Call ``produce(*args)`` (which sends one data record) once ``key`` is acknowledged.

        Args:
            key: The data key the record uses, or ``None``.
            new: ``key`` was just created: publish it first.
            produce: Sends the record (it may itself poll on a full queue), e.g. a bound
                ``emit``; called at once when nothing waits (no closure needed per record).
            args: Its arguments.

        Raises:
            DeliveryError: An earlier key record was refused; the records using it were dropped.
        """
        self._raise_failures()
        kid = key.id if key is not None else None
        if key is not None and (new or kid in self._refused):
            # A key refused earlier is still the protection's current key: publish it again.
            self._refused.discard(key.id)
            self._publish(key)
        if self._waiting or (kid is not None and kid in self._in_flight):
            self._waiting.append((kid, produce, args))
            # poll(0) costs ~20 us (it serves librdkafka's queues): once a millisecond is
            # enough to release records as their keys are acknowledged, and made a new key
            # per record 3x faster (scripts/bench events, ListenerRegistered).
            now = time.monotonic()
            if now - self._polled > _POLL_INTERVAL_S or len(self._waiting) >= _MAX_WAITING:
                self.poll(0)
        else:
            produce(*args)

    def poll(self, timeout_s: float = 0) -> None:
        """Serve the key records' acknowledgements and send the records they release (the
        producer's own poll loop calls it; :meth:`send` does too, at most once a millisecond).
        """
        self._polled = time.monotonic()
        self._producer.poll(timeout_s)
        self._release()

    def _publish(self, key: DataKey) -> None:
        kid = key.id
        self._in_flight.add(kid)
        value = key_record(key, self._provider)
        while True:
            try:
                self._producer.produce(KEYS_TOPIC, value, kid.encode(), on_delivery=self._delivered)
                return
            except BufferError:
                self.poll(0.05)

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        # Only bookkeeping here: the records are released outside the callback, so a
        # produce() that polls on a full queue never runs inside poll(). One bound method for
        # every key (not a closure per key: scripts/bench events, ListenerRegistered).
        raw = message.key()
        kid = raw.decode() if isinstance(raw, bytes) else str(raw)
        self._in_flight.discard(kid)
        if error is not None:
            self._failures.append((kid, error.str()))

    def _release(self) -> None:
        failed = {kid for kid, _ in self._failures}
        waiting = self._waiting
        while waiting:
            kid, produce, args = waiting[0]
            if kid is not None and kid in self._in_flight:
                return
            waiting.popleft()
            if kid is None or kid not in failed:
                produce(*args)

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait until every held record was handed to the producer (then flush it yourself).

        Raises:
            DeliveryError: A key record was refused, or not acknowledged within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        while self._waiting and time.monotonic() < deadline:
            self.poll(0.05)
        self._raise_failures()
        if self._waiting:
            left = len(self._waiting)
            raise DeliveryError(
                f"{left} records wait for data keys not acknowledged on {KEYS_TOPIC} after "
                f"{timeout_s:g} s; check the broker, then send them again",
                undelivered=left,
                failures=[],
            )

    def _raise_failures(self) -> None:
        if not self._failures:
            return
        self._release()  # drops the records of the failed keys
        failures, self._failures = self._failures, []
        self._refused.update(kid for kid, _ in failures)
        raise DeliveryError(
            f"{len(failures)} data keys were refused by {KEYS_TOPIC} (first: {failures[0][1]}); "
            "the records encrypted with them were not sent",
            undelivered=len(failures),
            failures=[(KEYS_TOPIC, f"{kid}: {why}") for kid, why in failures[:5]],
        )
