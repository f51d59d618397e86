"""Judging summaries against promises: each guarantee's thresholds and edges, since_ms, alerts."""

from __future__ import annotations

from typing import Any

import pytest

from streams.catalog import Product
from streams.guarantees.evaluate import alerts, duplicate_field, evaluate
from streams.guarantees.records import Observation
from streams.guarantees.summary import Failure, GroupLag, Missing, Summary, Windows
from tests.catalog._entries import descriptor

NOW = 1_800_000_000_000
WINDOW = 300_000


def product(**changes: Any) -> Product:
    """play_events: freshness 1m, latency 30s, completeness 0.999, duplicates 0.001, with a
    unique rule on event_id and a range rule (validity 1.0 by default)."""
    quality = [
        {"rule": "unique", "field": "event_id"},
        {"rule": "range", "field": "ms_played", "min": 0},
    ]
    return descriptor("player", **({"quality": quality} | changes))


def summary(**changes: Any) -> Summary:
    """A healthy window: 10,000 events, all on time, newest 1 s ago."""
    values: dict[str, Any] = {
        "start_ms": NOW - WINDOW,
        "end_ms": NOW,
        "events": 10_000,
        "newest_event_ms": NOW - 1_000,
        "newest_by_partition": {0: NOW - 1_000, 1: NOW - 2_000},
        "latency_p50_ms": 20.0,
        "latency_p99_ms": 200.0,
        "on_time": 10_000,
        "schema_ids": frozenset({7}),
    }
    return Summary(**(values | changes))


def judge(
    prod: Product | None = None, summ: Summary | None = None, **kwargs: Any
) -> dict[str, Observation]:
    found = evaluate(prod or product(), summ or summary(), now_ms=NOW, window_ms=WINDOW, **kwargs)
    return {observation.guarantee: observation for observation in found}


def test_a_healthy_product_meets_every_guarantee() -> None:
    found = evaluate(product(), summary(), now_ms=NOW, window_ms=WINDOW)
    assert [o.guarantee for o in found] == [
        "freshness",
        "latency",
        "completeness",
        "duplicates",
        "validity",
        "dead_letters",
        "usage",
        "volume",
    ]
    assert {o.state for o in found} == {"met"}
    fresh = found[0]
    assert fresh.key == f"{fresh.topic}/freshness"
    assert (fresh.product, fresh.version, fresh.topic) == ("player.play_events", 1, fresh.topic)
    assert (fresh.promised, fresh.observed, fresh.unit) == (60_000, 1_000, "ms")
    assert (fresh.since_ms, fresh.measured_at_ms, fresh.window_ms) == (NOW, NOW, WINDOW)
    assert fresh.details["age_by_partition_ms"] == {"0": 1_000, "1": 2_000}
    volume = found[-1]
    assert (volume.promised, volume.observed, volume.unit) == (None, 10_000, "count")
    assert volume.details["schema_ids"] == [7]
    # Only availability is not measured, and the volume observation says so (README).
    not_measured = volume.details["not_measured"]
    assert isinstance(not_measured, dict)
    assert list(not_measured) == ["availability"]
    assert "not measured yet" in str(not_measured["availability"])


def test_a_product_without_guarantees_gets_only_volume() -> None:
    found = evaluate(product(guarantees=None), summary(), now_ms=NOW, window_ms=WINDOW)
    assert [o.guarantee for o in found] == ["volume"]
    assert found[0].state == "met"
    assert "guarantees" in found[0].details["not_measured"]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("age_ms", "state"),
    [(0, "met"), (48_000, "met"), (48_001, "at_risk"), (60_000, "at_risk"), (60_001, "breached")],
)
def test_freshness_edges(age_ms: int, state: str) -> None:
    found = judge(summ=summary(newest_event_ms=NOW - age_ms))["freshness"]
    assert (found.observed, found.state) == (age_ms, state)


def test_freshness_without_any_event_is_at_risk() -> None:
    found = judge(summ=summary(events=0, newest_event_ms=None, newest_by_partition={}))
    assert (found["freshness"].observed, found["freshness"].state) == (None, "at_risk")


@pytest.mark.parametrize(
    ("p99", "state"),
    [(24_000.0, "met"), (24_000.5, "at_risk"), (30_000.0, "at_risk"), (30_000.5, "breached")],
)
def test_latency_edges(p99: float, state: str) -> None:
    found = judge(summ=summary(latency_p99_ms=p99, latency_p50_ms=10.0))["latency"]
    assert (found.promised, found.observed, found.state) == (30_000, p99, state)
    assert found.details["p50_ms"] == 10.0


def test_latency_without_events_is_met() -> None:
    found = judge(summ=summary(events=0, on_time=0, latency_p50_ms=None, latency_p99_ms=None))
    assert (found["latency"].observed, found["latency"].state) == (None, "met")


@pytest.mark.parametrize(
    ("on_time", "state"),
    # promise 0.999 of 10,000 events: a budget of 10 late events, at risk beyond 8
    [(10_000, "met"), (9_992, "met"), (9_991, "at_risk"), (9_990, "at_risk"), (9_989, "breached")],
)
def test_completeness_edges(on_time: int, state: str) -> None:
    found = judge(summ=summary(on_time=on_time))["completeness"]
    assert (found.promised, found.observed, found.unit) == (0.999, on_time / 10_000, "share")
    assert found.state == state
    assert found.details["late"] == 10_000 - on_time
    assert found.details["allowed_lateness_ms"] == 30_000


def test_an_aggregate_without_its_windows_measured_gets_the_on_time_share_and_the_reason() -> None:
    reason = "no live agent has recorded its window in _mesh.agent_runs yet"
    found = judge(prod=product(kind="aggregate"), summ=summary(windows_unmeasured=reason))
    completeness = found["completeness"]
    assert (completeness.observed, completeness.state) == (1.0, "met")
    assert completeness.details["windows"] == f"not measured: {reason}"
    assert "completeness" not in found["volume"].details["not_measured"]  # type: ignore[operator]
    # A source-aligned product has no inputs: nothing to say about windows.
    assert "windows" not in judge()["completeness"].details


@pytest.mark.parametrize(
    ("emitted", "state"),
    # promise 0.999 of 10,000 pairs: a budget of 10 missing, at risk beyond 8
    [(10_000, "met"), (9_992, "met"), (9_991, "at_risk"), (9_989, "breached")],
)
def test_an_aggregate_is_complete_when_its_due_windows_were_emitted(
    emitted: int, state: str
) -> None:
    missing = (Missing(key="u1", key_hash=5, window_start_ms=NOW - 7_200_000),)
    windows = Windows(
        expected=10_000,
        emitted=emitted,
        windows=2,
        late=3,
        window_starts=(NOW - 3_600_000, NOW - 7_200_000),
        missing=missing if emitted < 10_000 else (),
    )
    found = judge(prod=product(kind="aggregate"), summ=summary(windows=windows, on_time=0))
    completeness = found["completeness"]
    assert (completeness.observed, completeness.state) == (emitted / 10_000, state)
    details = completeness.details
    assert (details["measure"], details["expected"], details["emitted"]) == (
        "windows",
        10_000,
        emitted,
    )
    assert (details["windows"], details["late"]) == (2, 3)
    assert details["window_starts"] == [NOW - 3_600_000, NOW - 7_200_000]
    if emitted < 10_000:
        assert details["missing"] == [
            {"key": "u1", "key_hash": "0000000000000005", "window_start_ms": NOW - 7_200_000}
        ]


def test_an_aggregate_without_due_windows_is_at_risk() -> None:
    windows = Windows(expected=0, emitted=0, windows=0)
    found = judge(prod=product(kind="aggregate"), summ=summary(windows=windows))
    completeness = found["completeness"]
    assert (completeness.observed, completeness.state) == (None, "at_risk")
    assert "no due windows" in completeness.details["reason"]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("duplicates", "state"),
    [(0, "met"), (8, "met"), (9, "at_risk"), (10, "at_risk"), (11, "breached")],
)
def test_duplicates_edges(duplicates: int, state: str) -> None:
    found = judge(summ=summary(duplicates=duplicates))["duplicates"]
    assert (found.promised, found.observed, found.state) == (0.001, duplicates / 10_000, state)
    assert found.details["field"] == "event_id"


def test_duplicates_need_a_field() -> None:
    rules = [{"rule": "range", "field": "ms_played", "min": 0}]
    found = judge(prod=product(quality=rules))
    assert "duplicates" not in found
    assert "unique" in found["volume"].details["not_measured"]["duplicates"]  # type: ignore[index,call-overload]
    by_event_id = judge(prod=product(quality=rules), duplicates_by="event_id")
    assert by_event_id["duplicates"].details["field"] == "event_id"


def test_duplicate_field() -> None:
    assert duplicate_field(product(), ["x"]) == "event_id"
    unique_play = product(quality=[{"rule": "unique", "field": "play_id"}])
    assert duplicate_field(unique_play, ["event_id", "play_id"]) == "play_id"
    assert duplicate_field(product(quality=[]), ["event_id", "x"]) == "event_id"
    assert duplicate_field(product(quality=[]), ["x"]) is None


@pytest.mark.parametrize(("invalid", "state"), [(0, "met"), (1, "breached"), (10_000, "breached")])
def test_validity_by_default_allows_no_invalid_event(invalid: int, state: str) -> None:
    found = judge(summ=summary(invalid=invalid))["validity"]
    assert (found.promised, found.observed, found.state) == (1.0, 1 - invalid / 10_000, state)


@pytest.mark.parametrize(
    ("invalid", "state"),
    # promise 0.99 of 10,000: a budget of 100 invalid events, at risk beyond 80
    [(80, "met"), (81, "at_risk"), (100, "at_risk"), (101, "breached")],
)
def test_validity_edges(invalid: int, state: str) -> None:
    prod = product(guarantees=descriptor("player").guarantees.model_dump() | {"validity": 0.99})  # type: ignore[union-attr]
    assert judge(prod, summary(invalid=invalid))["validity"].state == state


def test_validity_lists_the_first_failures() -> None:
    failures = tuple(
        Failure(partition=1, offset=n, field="ms_played", rule="range", value="-1")
        for n in range(7)
    )
    found = judge(summ=summary(invalid=7, failures=failures))["validity"]
    assert found.details["failures"] == [
        {"partition": 1, "offset": n, "field": "ms_played", "rule": "range", "value": "-1"}
        for n in range(5)
    ]


def test_validity_is_not_measured_without_rules_to_break() -> None:
    found = judge(prod=product(quality=[{"rule": "unique", "field": "event_id"}]))
    assert "validity" not in found
    assert "validity" in found["volume"].details["not_measured"]  # type: ignore[operator]


@pytest.mark.parametrize("guarantee", ["completeness", "duplicates", "validity"])
def test_shares_without_events_are_at_risk(guarantee: str) -> None:
    found = judge(summ=summary(events=0, on_time=0))[guarantee]
    assert (found.observed, found.state) == (None, "at_risk")
    assert found.details["reason"] == "no events in the window to tell"


@pytest.mark.parametrize(
    ("promised", "dead", "state"),
    [
        (None, 0, "met"),
        (None, 1, "breached"),
        (10, 8, "met"),
        (10, 9, "at_risk"),
        (10, 10, "at_risk"),
        (10, 11, "breached"),
    ],
)
def test_dead_letters_edges(promised: int | None, dead: int, state: str) -> None:
    guarantees = descriptor("player").guarantees.model_dump() | {"maxDeadLetters": promised}  # type: ignore[union-attr]
    found = judge(product(guarantees=guarantees), summary(dead_letters=dead))["dead_letters"]
    assert (found.promised, found.observed, found.unit) == (promised or 0, dead, "count")
    assert found.state == state
    assert found.details["topic"] == "player.play_events.v1.dlq"


@pytest.mark.parametrize(
    ("lag_ms", "state"),
    [(None, "met"), (48_000, "met"), (48_001, "at_risk"), (60_001, "breached")],
)
def test_usage_edges(lag_ms: int | None, state: str) -> None:
    groups = [
        GroupLag(group="charts", lag=0, lag_ms=None),
        GroupLag(group="billing", lag=42, lag_ms=lag_ms),
    ]
    found = judge(usage=groups)["usage"]
    assert (found.promised, found.observed, found.state) == (60_000, lag_ms or 0, state)
    assert found.details["groups"] == [
        {"group": "billing", "lag": 42, "lag_ms": lag_ms},
        {"group": "charts", "lag": 0, "lag_ms": None},
    ]


def test_usage_without_groups() -> None:
    found = judge()["usage"]
    assert (found.observed, found.state, found.details) == (None, "met", {"groups": []})


def test_since_is_kept_while_the_state_holds() -> None:
    first = {o.key: o for o in evaluate(product(), summary(), now_ms=NOW, window_ms=WINDOW)}
    later = NOW + 10_000
    stalled = summary(newest_event_ms=NOW - 70_000)
    second = evaluate(product(), stalled, now_ms=later, window_ms=WINDOW, previous=first)
    by_guarantee = {o.guarantee: o for o in second}
    assert by_guarantee["freshness"].state == "breached"
    assert by_guarantee["freshness"].since_ms == later
    assert by_guarantee["latency"].since_ms == NOW
    assert by_guarantee["latency"].measured_at_ms == later


def test_alerts_on_changes_of_state_only() -> None:
    healthy = evaluate(product(), summary(), now_ms=NOW, window_ms=WINDOW)
    assert alerts(None, healthy) == []
    before = {o.key: o for o in healthy}
    stalled = evaluate(
        product(),
        summary(newest_event_ms=NOW - 120_000),
        now_ms=NOW + 1,
        window_ms=WINDOW,
        previous=before,
    )
    (alert,) = alerts(before, stalled)
    assert (alert.guarantee, alert.previous, alert.state) == ("freshness", "met", "breached")
    assert (alert.promised, alert.observed, alert.unit) == (60_000, 120_001, "ms")
    assert (alert.since_ms, alert.measured_at_ms) == (NOW + 1, NOW + 1)
    assert alert.key == f"{alert.topic}/freshness"
    still = {o.key: o for o in stalled}
    assert alerts(still, stalled) == []
    recovered = evaluate(product(), summary(), now_ms=NOW + 2, window_ms=WINDOW, previous=still)
    (back,) = alerts(still, recovered)
    assert (back.previous, back.state, back.since_ms) == ("breached", "met", NOW + 2)


def test_a_first_observation_alerts_unless_met() -> None:
    found = evaluate(product(), summary(duplicates=50), now_ms=NOW, window_ms=WINDOW)
    (alert,) = alerts({}, found)
    assert (alert.guarantee, alert.previous, alert.state) == ("duplicates", None, "breached")
