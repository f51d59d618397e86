"""Usage: the consumer groups reading each product, and how far behind they are.

Lag in records is the end offset minus the group's committed offset, per partition. The end
offsets come from the monitor's own reading (the last offset it saw + 1, or the offset of the
end-of-partition event), never from ListOffsets, which the embedded broker answers wrongly
after multi-record batches (BROKER.md). Lag in time is now minus the append time of the oldest
record the group has not consumed: the monitor keeps a sparse index of append times per
partition (:class:`OffsetTimes`, one sample per ``every_ms`` of append time), so it is exact
to within ``every_ms`` and never overstated.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException
from confluent_kafka.admin import AdminClient

from streams.guarantees.summary import GroupLag

__all__ = ["OffsetTimes", "group_lags", "lags_by_topic"]

Partition = tuple[str, int]


@dataclass(slots=True)
class OffsetTimes:
    """Sparse ``offset -> append time`` samples of one partition, bounded by ``keep``.

    A sample is taken when a record is at least ``every_ms`` of append time after the last
    sample; :meth:`append_ms_at` answers for the oldest sample at or after an offset, which is
    never older than the record itself (a lag in time is never overstated).
    """

    every_ms: int = 1000
    keep: int = 100_000
    _offsets: list[int] = field(default_factory=list)
    _times: list[int] = field(default_factory=list)

    def add(self, offset: int, append_ms: int) -> None:
        """Note that the record at ``offset`` was appended at ``append_ms`` (offsets ascending)."""
        times = self._times
        if times and (append_ms - times[-1] < self.every_ms or offset <= self._offsets[-1]):
            return
        self._offsets.append(offset)
        times.append(append_ms)
        if len(times) > self.keep:
            drop = len(times) - self.keep
            del self._offsets[:drop], times[:drop]

    def append_ms_at(self, offset: int) -> int | None:
        """The append time of the first sample at or after ``offset`` (None: none that late)."""
        at = bisect.bisect_left(self._offsets, offset)
        return self._times[at] if at < len(self._times) else None

    def state(self) -> list[list[int]]:
        """The samples, for a checkpoint."""
        return [self._offsets[:], self._times[:]]

    @classmethod
    def restore(cls, state: list[list[int]], *, every_ms: int = 1000) -> OffsetTimes:
        offsets, times = state
        return cls(every_ms=every_ms, _offsets=list(offsets), _times=list(times))


def lags_by_topic(
    committed: Mapping[str, Mapping[Partition, int]],
    ends: Mapping[Partition, int],
    times: Mapping[Partition, OffsetTimes],
    *,
    now_ms: int,
) -> dict[str, list[GroupLag]]:
    """Per product topic, the lag of every group with committed offsets on it (pure).

    Args:
        committed: Per group, its committed offset per partition (only product partitions).
        ends: The end offset per partition as the monitor read it.
        times: The append-time samples per partition.
        now_ms: The current time.
    """
    found: dict[str, list[GroupLag]] = {}
    for group, offsets in sorted(committed.items()):
        per_topic: dict[str, tuple[int, int | None]] = {}
        for part, offset in offsets.items():
            end = ends.get(part)
            if end is None:
                continue  # not read yet: no honest answer
            behind = max(0, end - offset)
            oldest: int | None = None
            if behind:
                sample = times[part].append_ms_at(offset) if part in times else None
                oldest = None if sample is None else max(0, now_ms - sample)
            records, age = per_topic.get(part[0], (0, None))
            if oldest is not None:
                age = oldest if age is None else max(age, oldest)
            per_topic[part[0]] = (records + behind, age)
        for topic, (records, age) in per_topic.items():
            found.setdefault(topic, []).append(GroupLag(group=group, lag=records, lag_ms=age))
    return found


def group_lags(
    admin: AdminClient,
    topics: Collection[str],
    *,
    exclude: Collection[str] = (),
    timeout_s: float = 10.0,
) -> dict[str, dict[Partition, int]]:
    """Per consumer group, its committed offsets on partitions of ``topics``.

    Groups in ``exclude`` (the monitor's own) and groups with nothing committed on these
    topics are left out. A group that cannot be described now is skipped, not fatal.
    """
    wanted = set(topics)
    listing = admin.list_consumer_groups(request_timeout=timeout_s).result(timeout_s)
    names = sorted({g.group_id for g in listing.valid} - set(exclude))
    found: dict[str, dict[Partition, int]] = {}
    for name in names:
        request = [ConsumerGroupTopicPartitions(name)]
        try:
            futures = admin.list_consumer_group_offsets(request, request_timeout=timeout_s)
            answer = futures[name].result(timeout_s)
        except KafkaException:
            continue
        offsets = {
            (tp.topic, tp.partition): tp.offset
            for tp in answer.topic_partitions or ()
            if tp.topic in wanted and tp.offset >= 0
        }
        if offsets:
            found[name] = offsets
    return found
