"""Usage: consumer groups and their lag, in records and in time."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka import Producer as RawProducer
from confluent_kafka.admin import AdminClient
from hypothesis import given
from hypothesis import strategies as st

from streams.config import Settings
from streams.guarantees.summary import GroupLag
from streams.guarantees.usage import OffsetTimes, group_lags, lags_by_topic
from tests.helpers.kafka import create_topic


def test_samples_are_sparse_and_never_overstate_the_age() -> None:
    times = OffsetTimes(every_ms=1000)
    for offset in range(100):
        times.add(offset, 10_000 + offset * 100)  # one record per 100 ms
    assert times.state()[0] == list(range(0, 100, 10))
    assert times.append_ms_at(0) == 10_000
    assert times.append_ms_at(5) == 11_000  # the next sample: younger than the record itself
    assert times.append_ms_at(90) == 19_000
    assert times.append_ms_at(91) is None
    assert OffsetTimes.restore(times.state()).state() == times.state()


@given(st.lists(st.integers(0, 5_000), min_size=1, max_size=200), st.integers(0, 250))
def test_the_answer_is_the_first_sample_at_or_after(gaps: list[int], probe: int) -> None:
    times, stamps, at = OffsetTimes(every_ms=1000), [], 0
    for gap in gaps:
        at += gap
        stamps.append(at)
    for offset, stamp in enumerate(stamps):
        times.add(offset, stamp)
    answer = times.append_ms_at(probe)
    if answer is not None:
        assert answer >= stamps[min(probe, len(stamps) - 1)]
    else:
        assert probe > times.state()[0][-1]


def test_the_sample_index_is_bounded() -> None:
    times = OffsetTimes(every_ms=1, keep=10)
    for offset in range(1000):
        times.add(offset, offset * 2)
    assert times.state()[0] == list(range(990, 1000))


def test_lag_per_topic_sums_partitions_and_takes_the_oldest_age() -> None:
    a, b = OffsetTimes(every_ms=1), OffsetTimes(every_ms=1)
    for offset in range(10):
        a.add(offset, 1000 + offset)
        b.add(offset, 2000 + offset)
    found = lags_by_topic(
        {"readers": {("t", 0): 4, ("t", 1): 10}, "idle": {("t", 0): 10, ("u", 0): 0}},
        {("t", 0): 10, ("t", 1): 10},
        {("t", 0): a, ("t", 1): b},
        now_ms=5000,
    )
    # ("u", 0) was not read yet: no answer for it rather than a wrong one.
    assert found == {
        "t": [
            GroupLag(group="idle", lag=0, lag_ms=None),
            GroupLag(group="readers", lag=6, lag_ms=5000 - 1004),
        ]
    }


def test_committed_offsets_of_real_groups(settings: Settings) -> None:
    bootstrap = settings.kafka.bootstrap_servers
    topic, other = f"usage-{uuid.uuid4().hex[:8]}", f"usage-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic)
    create_topic(bootstrap, other)
    producer = RawProducer({"bootstrap.servers": bootstrap})
    for n in range(10):
        producer.produce(topic, str(n).encode())
    producer.produce(other, b"x")
    assert producer.flush(10) == 0
    reader, mine = f"reader-{uuid.uuid4().hex[:8]}", f"monitor-{uuid.uuid4().hex[:8]}"
    for group, offset in ((reader, 4), (mine, 10)):
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
        try:
            consumer.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
            if group == reader:
                consumer.commit(offsets=[TopicPartition(other, 0, 1)], asynchronous=False)
        finally:
            consumer.close()
    admin = AdminClient({"bootstrap.servers": bootstrap})
    found = group_lags(admin, [topic], exclude=[mine])
    assert found.get(reader) == {(topic, 0): 4}  # only the asked topics
    assert mine not in found
