"""The transactional writer's error paths, with a stand-in producer (no broker needed)."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from streams.config import KafkaSettings
from streams.registry._writer import TransactionalWriter, _FencedError


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
    writer._producer = producer  # type: ignore[assignment]
    try:
        with pytest.raises(_FencedError, match="fenced"):
            writer._commit([[(b"key", b"value")]])
        assert producer.aborted == 1
    finally:
        writer._producer = None
        writer.close()
