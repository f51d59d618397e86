"""The latency histogram against exact sorting."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.guarantees.histogram import RELATIVE_ERROR, ZERO, Histogram, bucket_of

latencies = st.lists(st.integers(min_value=-10_000, max_value=2**53), min_size=1, max_size=300)
quantiles = st.sampled_from([0.0, 0.5, 0.99, 1.0]) | st.floats(min_value=0, max_value=1)

LOADED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a busy CI box


def exact(values: list[int], q: float) -> int:
    """The value of rank floor(q * (n - 1)), negative values counted as 0."""
    ordered = sorted(max(value, 0) for value in values)
    return ordered[math.floor(q * (len(ordered) - 1))]


def close(estimate: float | None, value: int) -> bool:
    assert estimate is not None
    return abs(estimate - value) <= RELATIVE_ERROR * value * (1 + 1e-9)


@LOADED
@given(latencies, quantiles)
def test_a_quantile_is_within_one_percent_of_the_exact_value_of_its_rank(
    values: list[int], q: float
) -> None:
    histogram = Histogram()
    for value in values:
        histogram.add(value)
    assert close(histogram.quantile(q), exact(values, q))
    assert histogram.count == len(values)


@LOADED
@given(latencies, latencies, quantiles)
def test_merging_two_histograms_equals_one_that_saw_every_value(
    first: list[int], second: list[int], q: float
) -> None:
    left, right, both = Histogram(), Histogram(), Histogram()
    for value in first:
        left.add(value)
        both.add(value)
    for value in second:
        right.add(value)
        both.add(value)
    left.merge(right)
    assert left == both
    assert close(left.quantile(q), exact(first + second, q))


@LOADED
@given(latencies)
def test_pairs_round_trip(values: list[int]) -> None:
    histogram = Histogram()
    for value in values:
        histogram.add(value)
    assert Histogram.from_pairs(histogram.pairs()) == histogram


def test_negative_latencies_count_as_zero_in_their_own_bucket() -> None:
    histogram = Histogram()
    for value in (-5_000, -1, 0):
        histogram.add(value)
    histogram.add(1)
    assert histogram.counts[ZERO] == 3
    assert histogram.quantile(0.5) == 0.0
    assert histogram.quantile(1.0) == pytest.approx(1, rel=RELATIVE_ERROR)


def test_the_buckets_are_bounded_for_any_latency_in_milliseconds() -> None:
    assert bucket_of(1) == 0
    assert bucket_of(2**63) < 2200


def test_an_empty_histogram_has_no_quantile_and_a_bad_q_is_refused() -> None:
    assert Histogram().quantile(0.5) is None
    with pytest.raises(ValueError, match=r"outside 0\.\.1"):
        Histogram().quantile(99)
