"""The transactional writer's error paths, with a stand-in producer (no broker needed)."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from streams.config import KafkaSettings
from streams.registry._writer import LANES, TransactionalWriter, _FencedError


class _FencedDuringCommit:
    """Apache Kafka 4 may answer an EndTxn that races a newer instance's fence with an error
    librdkafka cannot name ("Unknown broker error"); only the abort then says "fenced"."""

    def __init__(self) -> None:
        self.aborted = 0

    def begin_transaction(self) -> None:
        pass

    def produce(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    def commit_transaction(self, _timeout: float) -> None:
        raise KafkaException(KafkaError(KafkaError.UNKNOWN, "EndTxn commit failed"))

    def abort_transaction(self, _timeout: float) -> None:
        self.aborted += 1
        raise KafkaException(
            KafkaError(KafkaError._FENCED, "fenced by a newer instance", fatal=True)
        )


def test_a_fence_seen_only_by_the_abort_makes_the_writer_read_only() -> None:
    writer = TransactionalWriter(
        kafka=KafkaSettings(bootstrap_servers="127.0.0.1:9"), topic="_schemas", timeout_s=1.0
    )
    producer = _FencedDuringCommit()
    writer._producers = [producer] * LANES  # type: ignore[list-item]
    try:
        with pytest.raises(_FencedError, match="fenced"):
            writer._commit([[(b"key", b"value")]])
        assert producer.aborted == 1
    finally:
        writer._producers = [None] * LANES
        writer.close()


class _Recording:
    """Commits every transaction and remembers what it wrote."""

    def __init__(self) -> None:
        self.committed: list[bytes] = []
        self._open: list[bytes] = []

    def begin_transaction(self) -> None:
        assert not self._open, "a transaction began while this lane's last one was open"

    def produce(self, _topic: str, *, key: bytes, **_kwargs: Any) -> None:
        self._open.append(key)

    def commit_transaction(self, _timeout: float) -> None:
        self.committed += self._open
        self._open = []

    def flush(self, _timeout: float) -> int:
        return 0


def test_transactions_rotate_over_the_lanes_in_order() -> None:
    """Kafka refuses a transactional id's next transaction until its markers are written:
    consecutive transactions use consecutive lanes, each lane's in commit order."""
    writer = TransactionalWriter(
        kafka=KafkaSettings(bootstrap_servers="127.0.0.1:9"), topic="_schemas", timeout_s=1.0
    )
    lanes = [_Recording() for _ in range(LANES)]
    writer._producers = list(lanes)  # type: ignore[arg-type]
    try:
        for n in range(2 * LANES + 1):
            writer._commit([[(b"k%d" % n, b"v")]])
    finally:
        writer._producers = [None] * LANES
        writer.close()
    assert [lane.committed for lane in lanes] == [
        [b"k%d" % n for n in range(lane, 2 * LANES + 1, LANES)] for lane in range(LANES)
    ]
    assert len(set(writer.transactional_ids)) == LANES
    assert writer.transactional_ids[0] == "streams-registry-_schemas"  # what older versions used
