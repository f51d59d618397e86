"""The producer's key gate: new data keys published in batches, records held (in order) until
their batch is stored, a refused batch reported and its records dropped."""

from __future__ import annotations

import threading

import pytest

from streams.errors import DeliveryError, RegistryUnavailableError
from streams.kafka._keygate import BatchKeyGate
from streams.pii import DataKey


class Registry:
    """A key service the test controls: each publish waits until released."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.go = threading.Event()
        self.fail = False

    def publish(self, keys: list[DataKey]) -> None:
        assert self.go.wait(5)
        self.batches.append([key.id for key in keys])
        if self.fail:
            raise RegistryUnavailableError("the registry is down", url="http://r")


def key(n: int) -> DataKey:
    return DataKey.create("a.b", f"{n:022d}")


def test_records_wait_for_their_batch_in_order_and_old_keys_pass() -> None:
    registry = Registry()
    gate = BatchKeyGate(registry.publish, interval_s=0.0)
    sent: list[str] = []
    known = key(0)
    registry.go.set()
    gate.send(known, True, sent.append, "r0")
    gate.flush(5)
    assert sent == ["r0"]
    registry.go.clear()
    first, second = key(1), key(2)
    gate.send(first, True, sent.append, "r1")
    gate.send(known, False, sent.append, "r2")  # an old key, but behind a waiting record
    gate.send(second, True, sent.append, "r3")
    gate.send(None, False, sent.append, "r4")
    gate.poll()
    assert sent == ["r0"]  # nothing overtakes the records waiting for their keys
    registry.go.set()
    gate.flush(5)
    assert sent == ["r0", "r1", "r2", "r3", "r4"]
    # One request for all keys created meanwhile, in creation order.
    assert [k for batch in registry.batches[1:] for k in batch] == [first.id, second.id]
    assert len(registry.batches) <= 3
    gate.close()


def test_a_refused_batch_drops_its_records_and_is_reported() -> None:
    registry = Registry()
    registry.fail = True
    registry.go.set()
    gate = BatchKeyGate(registry.publish, interval_s=0.0)
    sent: list[str] = []
    gate.send(key(1), True, sent.append, "lost")
    with pytest.raises(DeliveryError, match="did not store 1 batch"):
        gate.flush(5)
    assert sent == []
    registry.fail = False
    gate.send(key(2), True, sent.append, "kept")
    gate.flush(5)
    assert sent == ["kept"]
    gate.close()


def test_flush_times_out_with_the_records_still_waiting() -> None:
    registry = Registry()
    gate = BatchKeyGate(registry.publish, interval_s=0.0)
    sent: list[str] = []
    gate.send(key(1), True, sent.append, "r")
    with pytest.raises(DeliveryError, match="1 records wait for data keys"):
        gate.flush(0.05)
    registry.go.set()
    gate.flush(5)
    assert sent == ["r"]
    gate.close()
