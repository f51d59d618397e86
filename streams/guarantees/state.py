"""The monitor's checkpoints: one compacted record per product on ``_mesh.monitor_state``.

A record holds everything the monitor knows of one product: its measures (the sliding window
and the closed hours), the next offsets of the product and dead-letter partitions they reflect,
the append-time samples for lag, the last observation of each guarantee, and for an aggregate
whose windows are checked, that check's state (optional: older records have none). A restarted
monitor restores them and resumes from those offsets, so nothing is counted twice. Values are
orjson compressed with zlib; readers keep the last value per key themselves (the embedded
broker does not compact, BROKER.md).
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from confluent_kafka import Message, Producer
from confluent_kafka.admin import AdminClient

from streams.config import Settings
from streams.errors import DeliveryError, StateError
from streams.kafka.acked import Outgoing, send_acked
from streams.kafka.client import build_client
from streams.kafka.topics import COMPACTED, create_topic, read_to_end
from streams.naming import internal_topic

__all__ = ["STATE_TOPIC", "ProductState", "StateStore"]

STATE_TOPIC = internal_topic("monitor_state")
_FORMAT = 1
_MAX_BYTES = 16 * 1024 * 1024


@dataclass(slots=True, kw_only=True)
class ProductState:
    """What the monitor keeps of one product (see the module docstring)."""

    topic: str
    measures: bytes
    offsets: dict[str, dict[int, int]] = field(default_factory=dict)  # topic -> partition -> next
    ends: dict[int, int] = field(default_factory=dict)
    times: dict[int, list[list[int]]] = field(default_factory=dict)
    previous: dict[str, Any] = field(default_factory=dict)  # guarantee -> observation (JSON)
    windows: bytes | None = None  # an aggregate's window check (see .windows), if it has one

    def encode(self) -> bytes:
        body: dict[str, Any] = {
            "format": _FORMAT,
            "topic": self.topic,
            "measures": base64.b64encode(self.measures).decode(),
            "offsets": {
                t: {str(p): o for p, o in parts.items()} for t, parts in self.offsets.items()
            },
            "ends": {str(p): o for p, o in self.ends.items()},
            "times": {str(p): s for p, s in self.times.items()},
            "previous": self.previous,
        }
        if self.windows is not None:
            body["windows"] = base64.b64encode(self.windows).decode()
        return zlib.compress(orjson.dumps(body))

    @classmethod
    def decode(cls, data: bytes, *, source: str) -> ProductState:
        """Raises StateError (naming ``source``) for a corrupt record or an unknown format."""
        try:
            body = orjson.loads(zlib.decompress(data))
            if body.get("format") != _FORMAT:
                raise StateError(
                    f"{source}: monitor state format {body.get('format')!r} is not {_FORMAT}; "
                    "delete the record (or the topic) to start measuring afresh",
                    product=source,
                    key=None,
                    window=None,
                )
            return cls(
                topic=body["topic"],
                measures=base64.b64decode(body["measures"]),
                offsets={
                    t: {int(p): int(o) for p, o in parts.items()}
                    for t, parts in body["offsets"].items()
                },
                ends={int(p): int(o) for p, o in body["ends"].items()},
                times={int(p): s for p, s in body["times"].items()},
                previous=dict(body["previous"]),
                windows=None if body.get("windows") is None else base64.b64decode(body["windows"]),
            )
        except StateError:
            raise
        except (zlib.error, KeyError, TypeError, ValueError) as exc:  # base64, orjson: ValueError
            raise StateError(
                f"{source}: a corrupt monitor state record ({exc}); delete it to start afresh",
                product=source,
                key=None,
                window=None,
            ) from exc


class StateStore:
    """Reads and writes the monitor's per-product records.

    Args:
        settings: Where Kafka is.
        topic: The state topic (default ``_mesh.monitor_state``; tests pass their own).
    """

    def __init__(self, *, settings: Settings, topic: str | None = None) -> None:
        self.topic = topic or STATE_TOPIC
        self._settings = settings
        self._producer: Producer | None = None

    def ensure_topic(self) -> None:
        kafka = self._settings.kafka
        admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
        config = {**COMPACTED, "max.message.bytes": str(_MAX_BYTES)}
        create_topic(admin, self.topic, config=config)

    def read(self) -> dict[str, ProductState]:
        """The latest record per product topic (tombstones remove it)."""
        conf = self._settings.kafka.librdkafka(group_id=f"{self.topic}.reader")
        latest: dict[str, Message] = {}
        for message in read_to_end(conf, self.topic):
            raw = message.key()
            if raw is not None:
                latest[raw.decode()] = message
        found: dict[str, ProductState] = {}
        for key, message in latest.items():
            value = message.value()
            if value is not None:
                source = f"{self.topic}[{message.partition()}]@{message.offset()}"
                found[key] = ProductState.decode(value, source=source)
        return found

    def write(self, states: Iterable[ProductState], *, timeout_s: float = 30.0) -> None:
        """Store ``states`` and wait until Kafka acknowledged them.

        Raises:
            DeliveryError: Some were not stored (the monitor must not commit past them).
        """
        records = [(self.topic, s.topic.encode(), s.encode()) for s in states]
        self._send(records, "monitor states were not stored", timeout_s)

    def remove(self, topics: Iterable[str], *, timeout_s: float = 30.0) -> None:
        """Forget the products of ``topics`` (retired): a tombstone each.

        Raises:
            DeliveryError: Some tombstones were not stored.
        """
        records = [(self.topic, topic.encode(), None) for topic in topics]
        self._send(records, "monitor state tombstones were not stored", timeout_s)

    def _send(self, records: Sequence[Outgoing], what: str, timeout_s: float) -> None:
        if self._producer is None:
            conf: dict[str, Any] = self._settings.kafka.librdkafka(linger_ms=5)
            conf.update({"enable.idempotence": True, "message.max.bytes": _MAX_BYTES})
            self._producer = build_client(Producer, conf, settings=self._settings.kafka)
        unacked = send_acked(self._producer, records, timeout_s=timeout_s)
        if unacked:
            raise DeliveryError(
                f"{unacked.count} {what} in {self.topic} ({unacked.reason})",
                undelivered=unacked.count,
                failures=unacked.failures[:20],
            )

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(5)
            self._producer = None
