"""The checkpoint store on a real broker: one compacted topic, the last record per task wins."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import AdminClient

from streams.agents.checkpoints import CheckpointStore
from streams.agents.state import Checkpoint, WindowState
from streams.config import Settings
from streams.errors import ConfigError
from streams.naming import ProductRef, checkpoint_topic


def _checkpoint(ref: ProductRef, task: int, offset: int) -> Checkpoint:
    topic = f"{ref.domain}.play_events.v1"
    return Checkpoint(
        product=ref.topic,
        task=task,
        offsets={(topic, task): offset},
        watermarks={(topic, task): 1_000 * offset},
        watermark=1_000 * offset,
        windows=(WindowState("user-1", 0, 3_600_000, [offset, {"$set": ["a"]}]),),
        counters={"events": offset},
    )


def test_the_latest_checkpoint_of_each_task_is_read(settings: Settings) -> None:
    ref = ProductRef(f"t{uuid.uuid4().hex[:10]}", "hourly_play_sessions")
    with CheckpointStore(ref, partitions=3, settings=settings) as store:
        store.ensure_topic()
        store.ensure_topic()  # again: the topic exists, nothing changes
        assert store.read(range(3)) == {}
        store.write([_checkpoint(ref, 0, 10), _checkpoint(ref, 2, 5)])
        store.write([_checkpoint(ref, 0, 20)])
        assert store.read([0, 1, 2]) == {0: _checkpoint(ref, 0, 20), 2: _checkpoint(ref, 2, 5)}
        assert store.read([2]) == {2: _checkpoint(ref, 2, 5)}
    metadata = AdminClient(settings.kafka.librdkafka()).list_topics(
        checkpoint_topic(ref), timeout=10
    )
    assert len(metadata.topics[checkpoint_topic(ref)].partitions) == 3


def test_a_checkpoint_topic_with_too_few_partitions_is_refused(settings: Settings) -> None:
    ref = ProductRef(f"t{uuid.uuid4().hex[:10]}", "hourly_play_sessions")
    CheckpointStore(ref, partitions=1, settings=settings).ensure_topic()
    with pytest.raises(ConfigError, match=r"has 1 partitions but .* has 4 tasks"):
        CheckpointStore(ref, partitions=4, settings=settings).ensure_topic()
