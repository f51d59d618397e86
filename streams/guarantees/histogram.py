"""Latency histogram: fixed log-spaced buckets, bounded memory, mergeable, ~1 % quantiles.

A value ``x >= 1`` (milliseconds) is counted in bucket ``i = ceil(log(x) / log(GAMMA))``, which
holds ``(GAMMA**(i-1), GAMMA**i]``; a quantile reports its bucket's value ``2 * GAMMA**i /
(GAMMA + 1)``, whose relative error to any value of the bucket is at most
``(GAMMA - 1) / (GAMMA + 1) = RELATIVE_ERROR`` (1 %). This is DDSketch's mapping (Masson et al.,
VLDB 2019) with fixed buckets and no collapsing: a latency is a finite number of milliseconds,
so the buckets used are bounded (values up to 2**63 ms use indices 0..2197).

Values below 1 ms, and negative ones (the producer's clock ahead of the broker's), count as 0 in
their own bucket :data:`ZERO`.

The bound is on the value, not the rank: ``quantile(q)`` is within :data:`RELATIVE_ERROR` of the
exact value of rank ``floor(q * (count - 1))`` in the sorted values (``tests/guarantees/
test_histogram.py`` checks it against sorting).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["GAMMA", "INVERSE_LOG_GAMMA", "RELATIVE_ERROR", "ZERO", "Histogram", "bucket_of"]

RELATIVE_ERROR = 0.01
"""The most a quantile can be off, relative to the exact value of its rank."""

GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR)
INVERSE_LOG_GAMMA = 1 / math.log(GAMMA)
ZERO = -1
"""The bucket of values below 1 (negative latencies included); reported as 0."""


def bucket_of(value: float) -> int:
    """The bucket counting ``value`` (milliseconds)."""
    if value < 1:
        return ZERO
    return math.ceil(math.log(value) * INVERSE_LOG_GAMMA)


def value_of(bucket: int) -> float:
    """The value a quantile reports for ``bucket``: within 1 % of every value it holds."""
    if bucket == ZERO:
        return 0.0
    return 2 * GAMMA**bucket / (GAMMA + 1)


class Histogram:
    """Counts of values per bucket; :meth:`quantile` within :data:`RELATIVE_ERROR`.

    ``counts`` is public so that a hot loop can count ``counts[bucket_of(x)] += 1`` without a
    method call per value (see :mod:`streams.guarantees.measures`).
    """

    __slots__ = ("counts",)

    def __init__(self, counts: Mapping[int, int] | None = None) -> None:
        self.counts: dict[int, int] = dict(counts) if counts else {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Histogram) and self.counts == other.counts

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Histogram(count={self.count})"

    @property
    def count(self) -> int:
        """How many values were added."""
        return sum(self.counts.values())

    def add(self, value: float) -> None:
        """Count one value (milliseconds)."""
        bucket = bucket_of(value)
        self.counts[bucket] = self.counts.get(bucket, 0) + 1

    def merge(self, other: Histogram) -> None:
        """Add ``other``'s counts to this histogram (the result is as if both saw every value)."""
        counts = self.counts
        for bucket, count in other.counts.items():
            counts[bucket] = counts.get(bucket, 0) + count

    def quantile(self, q: float) -> float | None:
        """The value of rank ``floor(q * (count - 1))``, within 1 %; None when empty.

        Raises:
            ValueError: ``q`` is outside 0..1.
        """
        if not 0 <= q <= 1:
            raise ValueError(f"quantile {q!r} is outside 0..1; write e.g. 0.5 or 0.99")
        total = self.count
        if total == 0:
            return None
        rank = math.floor(q * (total - 1))
        seen = 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            if seen > rank:
                return value_of(bucket)
        raise AssertionError("unreachable: the ranks are below the count")  # pragma: no cover

    def pairs(self) -> list[list[int]]:
        """``[[bucket, count], ...]`` sorted by bucket, for a checkpoint."""
        return [[bucket, self.counts[bucket]] for bucket in sorted(self.counts)]

    @classmethod
    def from_pairs(cls, pairs: Iterable[Sequence[int]]) -> Histogram:
        """The histogram :meth:`pairs` described."""
        return cls({pair[0]: pair[1] for pair in pairs})
