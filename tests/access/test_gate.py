"""The key gate: a record goes out only after its new key's record was acknowledged, in order.

The acknowledgements' timing is the point here, so a small producer stands in for librdkafka
(tests/access/test_keys_on_kafka.py runs the gate against both real brokers).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streams.access import KEYS_TOPIC, DataKey, KeyGate, LocalKeyProvider
from streams.errors import DeliveryError


class _Error:
    def str(self) -> str:
        return "Broker: topic authorization failed"


class _Message:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def key(self) -> bytes:
        return self._key


class _Producer:
    """Records what was produced; acknowledges key records only when told to."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.unacked: list[Callable[[Any, Any], None]] = []
        self.acks = False
        self.refuse = False

    def produce(self, topic: str, value: bytes | None, key: bytes, on_delivery: Any) -> None:
        assert topic == KEYS_TOPIC
        self.sent.append(f"key {key.decode()}")
        self.unacked.append(lambda error, _: on_delivery(error, _Message(key)))

    def poll(self, timeout: float = 0) -> int:
        if not self.acks:
            return 0
        done, self.unacked = self.unacked, []
        for callback in done:
            callback(_Error() if self.refuse else None, None)
        return len(done)


def _setup(tmp_path: Path) -> tuple[_Producer, KeyGate, Callable[[str], Callable[[], None]]]:
    producer = _Producer()
    gate = KeyGate(producer, provider=LocalKeyProvider(tmp_path / "kek.json"))  # type: ignore[arg-type]

    def record(name: str) -> Callable[[], None]:
        return lambda: producer.sent.append(name)

    return producer, gate, record


def test_records_wait_for_their_new_key_and_keep_their_order(tmp_path: Path) -> None:
    producer, gate, record = _setup(tmp_path)
    ada, bob = DataKey.create("p.q", "ada"), DataKey.create("p.q", "bob")
    gate.send(None, False, record("plain-1"))
    gate.send(ada, True, record("ada-1"))
    gate.send(ada, False, record("ada-2"))
    gate.send(None, False, record("plain-2"))  # behind ada's records: order is kept
    assert producer.sent == ["plain-1", f"key {ada.id}"]
    assert gate.waiting == 3
    producer.acks = True
    gate.send(bob, True, record("bob-1"))
    gate.flush(5)
    assert producer.sent == [
        "plain-1",
        f"key {ada.id}",
        f"key {bob.id}",
        "ada-1",
        "ada-2",
        "plain-2",
        "bob-1",
    ]
    gate.send(ada, False, record("ada-3"))  # an acknowledged key: straight through
    assert producer.sent[-1] == "ada-3"


def test_a_refused_key_drops_its_records_and_is_published_again(tmp_path: Path) -> None:
    producer, gate, record = _setup(tmp_path)
    ada = DataKey.create("p.q", "ada")
    gate.send(ada, True, record("ada-1"))
    producer.acks = producer.refuse = True
    with pytest.raises(DeliveryError, match=r"1 data keys were refused by _mesh\.keys") as caught:
        gate.flush(5)
    assert caught.value.undelivered == 1
    assert "ada-1" not in producer.sent
    producer.refuse = False
    gate.send(ada, False, record("ada-2"))  # still the protection's key: published again
    gate.flush(5)
    assert producer.sent == [f"key {ada.id}", f"key {ada.id}", "ada-2"]


def test_flush_reports_keys_never_acknowledged(tmp_path: Path) -> None:
    producer, gate, record = _setup(tmp_path)
    gate.send(DataKey.create("p.q", "ada"), True, record("ada-1"))
    with pytest.raises(DeliveryError, match="1 records wait for data keys"):
        gate.flush(0.2)
    assert "ada-1" not in producer.sent
