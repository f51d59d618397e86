"""Judging one watched product now: its observations, each with the last closed hours.

Pure (no I/O): the runner gathers what was read (the measures, the consumer groups' committed
offsets) and publishes what this returns.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import JsonValue

from streams.guarantees.aggregates import hours_with_windows, with_windows
from streams.guarantees.evaluate import evaluate
from streams.guarantees.records import Observation
from streams.guarantees.usage import lags_by_topic
from streams.guarantees.watched import Watched

__all__ = ["judge"]


def judge(
    watched: Watched,
    committed: Mapping[str, Mapping[tuple[str, int], int]],
    *,
    now_ms: int,
    window_ms: int,
) -> list[Observation]:
    """Every guarantee of ``watched`` judged over the sliding window ending at ``now_ms``.

    Args:
        watched: The product and its measures.
        committed: Per consumer group, its committed offsets by (topic, partition), of any
            topic (only this product's count).
        now_ms: Now.
        window_ms: The sliding window.

    Returns:
        The observations, each with ``details["hours"]``: the guarantee judged alone over each
        of the last closed hours, ``[hour start ms, observed, state]``, oldest first.
    """
    topic = watched.topic
    ends = {(topic, p): o for p, o in watched.ends.items()}
    times = {(topic, p): s for p, s in watched.times.items()}
    mine = {g: {k: v for k, v in o.items() if k[0] == topic} for g, o in committed.items()}
    usage = lags_by_topic({g: o for g, o in mine.items() if o}, ends, times, now_ms=now_ms).get(
        topic, []
    )
    summary = with_windows(watched, watched.measures.window(now_ms), now_ms)
    current = evaluate(
        watched.product,
        summary,
        now_ms=now_ms,
        window_ms=window_ms,
        usage=usage,
        previous=watched.previous,
        duplicates_by=watched.measures.id_field,
    )
    hours = _hours(watched, now_ms)
    return [
        o.model_copy(update={"details": {**o.details, "hours": hours.get(o.guarantee, [])}})
        for o in current
    ]


def _hours(watched: Watched, now_ms: int) -> dict[str, list[JsonValue]]:
    """Per guarantee, each of the last closed hours judged alone (computed again only when an
    hour closes)."""
    closed = watched.measures.closed_hours(now_ms)
    newest = closed[-1].end_ms if closed else 0
    if watched.hours_at == newest:
        return watched.hours
    closed = hours_with_windows(watched, closed, now_ms)
    found: dict[str, list[JsonValue]] = {}
    for summary in closed:
        judged = evaluate(
            watched.product,
            summary,
            now_ms=summary.end_ms,
            window_ms=summary.end_ms - summary.start_ms,
            duplicates_by=watched.measures.id_field,
        )
        for observation in judged:
            found.setdefault(observation.guarantee, []).append(
                [summary.start_ms, observation.observed, observation.state]
            )
    watched.hours, watched.hours_at = found, newest
    return found
