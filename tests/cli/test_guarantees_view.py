"""How observations are drawn: numbers made readable, a table per product that stays whole at
80 columns (a pipe, a small terminal), and the last 24 hours as sparklines."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from rich.console import Console, RenderableType

from streams.cli._guarantees_view import (
    NO_OBSERVATIONS,
    history_table,
    humanise,
    mesh_view,
    product_table,
    staleness,
)
from streams.cli._sparkline import HOUR_MS, MISSING
from streams.guarantees import Observation, State, Unit

NOW = 1_700_000_000_000 // HOUR_MS * HOUR_MS + 600_000  # ten minutes into an hour
LAST_CLOSED = NOW // HOUR_MS * HOUR_MS - HOUR_MS
# A long topic, as real domains have: the title must wrap rather than squeeze the columns.
TOPIC = "subscriptions_and_billing.subscription_lifecycle_events.v12"


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (None, "ms", "-"),
        (250, "ms", "250 ms"),
        (1_500, "ms", "1.5s"),
        (30_000, "ms", "30s"),
        (59_999, "ms", "1m"),
        (90_000, "ms", "1m 30s"),
        (3_600_000, "ms", "1h"),
        (3_605_000, "ms", "1h"),
        (3_720_000, "ms", "1h 2m"),
        (2 * 86_400_000 + 3 * 3_600_000 + 5_000, "ms", "2d 3h"),
        (0.999, "share", "99.9 %"),
        (1.0, "share", "100 %"),
        (0.0012, "share", "0.12 %"),
        (0.8823529, "share", "88.24 %"),
        (0.999999, "share", "99.9999 %"),
        (12_345, "count", "12,345"),
    ],
)
def test_humanise(value: float | None, unit: Unit, text: str) -> None:
    assert humanise(value, unit) == text


def observation(
    guarantee: Any,
    promised: float | None,
    observed: float | None,
    unit: Unit,
    state: State,
    *,
    topic: str = TOPIC,
    since_ms: int = NOW - 90_000,
    **details: Any,
) -> Observation:
    return Observation(
        product=topic.rsplit(".", 1)[0],
        version=int(topic.rsplit(".v", 1)[1]),
        topic=topic,
        guarantee=guarantee,
        promised=promised,
        observed=observed,
        unit=unit,
        state=state,
        since_ms=since_ms,
        window_ms=300_000,
        measured_at_ms=NOW,
        details=details,
    )


def every_guarantee(topic: str = TOPIC) -> list[Observation]:
    """One observation per guarantee, with the widest values and details they take."""
    failure = {
        "partition": 11,
        "offset": 123_456_789,
        "field": "subscription.plan_code",
        "rule": "allowed_values",
        "value": "'ENTERPRISE_ANNUAL_LEGACY'",
    }
    return [
        observation("freshness", 60_000, 2 * 86_400_000 + 3 * 3_600_000, "ms", "breached"),
        observation("latency", 30_000, 25_000, "ms", "at_risk", p50_ms=12_000),
        observation(
            "completeness", 0.999, 0.99876, "share", "breached", late=1_240, events=1_003_400
        ),
        observation("duplicates", 0.001, 0.000_125, "share", "met", field="event_id"),
        observation(
            "validity",
            1.0,
            0.98765,
            "share",
            "breached",
            since_ms=NOW - 23 * HOUR_MS - 59 * 60_000,
            invalid=12_390,
            events=1_003_400,
            failures=[failure],
        ),
        observation("dead_letters", 0, 12_345, "count", "breached").model_copy(
            update={"details": {"topic": f"{topic}.dlq"}}
        ),
        observation("usage", 60_000, 1_200, "ms", "met", groups=[{"group": "g"}]),
        observation(
            "volume",
            None,
            1_003_400,
            "count",
            "met",
            schema_ids=[101, 102],
            not_measured={"availability": "no probe"},
        ),
    ]


def render(renderable: RenderableType, *, width: int = 80) -> list[str]:
    console = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    console.print(renderable)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(output, str)
    return output.splitlines()


def cells(line: str) -> list[str]:
    """A table row split on the runs of two or more spaces between its columns."""
    return re.split(r" {2,}", line.strip())


def test_at_80_columns_no_key_cell_is_cut() -> None:
    lines = render(mesh_view(every_guarantee(), {TOPIC: "subscriptions-platform-team"}, now_ms=NOW))
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    assert not any("…" in line for line in lines), "\n".join(lines)
    text = "\n".join(lines)
    words = " ".join(text.split())  # the title wraps: it is longer than 80 columns
    assert f"{TOPIC} owner subscriptions-platform-team 4 breached" in words
    rows = {cells(line)[0]: cells(line) for line in lines if line and not line[0].isspace()}
    expected = {
        "freshness": ["<= 1m", "2d 3h", "breached", "1m 30s ago"],
        "latency": ["<= 30s", "25s", "at risk", "1m 30s ago", "p50 12s"],
        "completeness": [">= 99.9 %", "99.88 %", "breached", "1m 30s ago"],
        "duplicates": ["<= 0.1 %", "0.0125 %", "met", "1m 30s ago", "by event_id"],
        "validity": [">= 100 %", "98.77 %", "breached", "23h 59m ago"],
        "dead_letters": ["<= 0", "12,345", "breached", "1m 30s ago"],
        "usage": ["<= 1m", "1.2s", "met", "1m 30s ago", "1 group(s)"],
        "volume": ["-", "1,003,400", "met", "1m 30s ago"],
    }
    for guarantee, values in expected.items():
        assert rows[guarantee][: len(values) + 1] == [guarantee, *values], rows[guarantee]
    # The details wrap under their column instead of pushing the key columns out.
    assert "1,240 late of 1,003,400" in words
    assert "(partition 11 offset 123456789)" in words
    assert f"{TOPIC}.dlq" in text.replace(" ", "").replace("\n", "")
    assert lines[-1] == "8 observation(s): 4 breached, 1 at risk"


def test_wide_it_is_one_line_per_guarantee() -> None:
    lines = render(mesh_view(every_guarantee(), {TOPIC: "billing"}, now_ms=NOW), width=250)
    (validity,) = [line for line in lines if line.startswith("validity ")]
    assert "12,390 invalid of 1,003,400; first: subscription.plan_code allowed_values" in validity
    assert "(partition 11 offset 123456789)" in validity
    assert len([line for line in lines if line.strip()]) == 1 + 2 + 8 + 1  # title, head, rows


def test_one_table_per_product_titled_with_its_owner() -> None:
    found = [
        observation("freshness", 60_000, 1_000, "ms", "met", topic="a.one.v1"),
        observation("freshness", 60_000, 90_000, "ms", "breached", topic="b.two.v1"),
        observation("volume", None, 10, "count", "met", topic="b.two.v1"),
    ]
    lines = render(mesh_view(found, {"a.one.v1": "team-a"}, now_ms=NOW))
    titles = [index for index, line in enumerate(lines) if line.startswith(("a.one", "b.two"))]
    assert [lines[i].rstrip() for i in titles] == [
        "a.one.v1  owner team-a",
        "b.two.v1  owner -  1 breached",
    ]
    first = [line for line in lines[titles[0] : titles[1]] if line.startswith("freshness")]
    second = [line for line in lines[titles[1] :] if line.startswith(("freshness", "volume"))]
    assert ["met" in cells(line) for line in first] == [True]
    assert [cells(line)[3] for line in second] == ["breached", "met"]


def test_nothing_observed_says_how_to_fix_it() -> None:
    assert render(mesh_view([], {}, now_ms=NOW), width=200) == [NO_OBSERVATIONS]
    assert "`mesh status`" in NO_OBSERVATIONS
    assert "`mesh up` starts it" in NO_OBSERVATIONS


def test_product_table_without_a_title() -> None:
    lines = render(product_table(every_guarantee()[:1], now_ms=NOW, title=False))
    assert cells(lines[0]) == ["guarantee", "promised", "observed", "state", "since", "details"]


def hours(values: list[tuple[int, float | None, str]]) -> list[list[Any]]:
    """``details["hours"]`` entries, ``values`` as (hours before the last closed one, ...)."""
    return [[LAST_CLOSED - back * HOUR_MS, value, state] for back, value, state in values]


def test_history_a_sparkline_per_guarantee() -> None:
    freshness = observation(
        "freshness",
        60_000,
        90_000,
        "ms",
        "breached",
        hours=hours([(3, 1_000, "met"), (2, 90_000, "breached"), (0, 30_000, "met")]),
    )
    validity = observation(
        "validity",
        1.0,
        1.0,
        "share",
        "met",
        hours=hours([(30, 0.5, "breached"), (1, 0.9, "breached"), (0, 1.0, "met")]),
    )
    volume = observation("volume", None, 0, "count", "met")
    lines = render(history_table([freshness, validity, volume]))
    assert all(len(line) <= 80 and "…" not in line for line in lines), "\n".join(lines)
    rows = {cells(line)[0]: cells(line) for line in lines[2:]}
    assert rows["freshness"] == [
        "freshness",
        MISSING * 20 + "▁█" + MISSING + "▃",
        "1s to 1m 30s",
        "1 breached",
    ]
    # The hour 30 hours ago is older than the 24 drawn: neither drawn nor counted.
    assert rows["validity"] == ["validity", MISSING * 22 + "▁█", "90 % to 100 %", "1 breached"]
    assert rows["volume"] == ["volume", MISSING * 24, "-", "no closed hour yet"]


def test_history_ends_at_the_last_hour_closed_when_measured() -> None:
    # The monitor was down: its newest closed hour is three hours before the measuring time.
    stale = observation(
        "latency", 30_000, 200, "ms", "met", hours=hours([(4, 100, "at_risk"), (3, 200, "met")])
    )
    (row,) = [cells(line) for line in render(history_table([stale])) if line.startswith("lat")]
    assert row == ["latency", MISSING * 19 + "▁█" + MISSING * 3, "100 ms to 200 ms", "1 at risk"]


def test_observations_the_monitor_stopped_publishing_are_called_stale() -> None:
    """A dead monitor leaves its last observations behind: say they are old, and what to do."""
    found = [observation("freshness", 60_000, 1_000, "ms", "met")]  # measured at NOW
    assert staleness(found, now_ms=NOW + 30_000, publish_every_s=10) is None
    assert staleness([], now_ms=NOW + 10**9, publish_every_s=10) is None
    warning = staleness(found, now_ms=NOW + 300_000, publish_every_s=10)
    assert warning is not None
    assert warning.startswith("these observations are 5m old")
    assert "`mesh up` starts it" in warning
    # Slow publishing is not staleness: three publications may pass first.
    assert staleness(found, now_ms=NOW + 300_000, publish_every_s=120) is None


def test_volume_without_events_names_no_empty_schema_list() -> None:
    empty = observation("volume", None, 0, "count", "met", schema_ids=[])
    text = "\n".join(render(product_table([empty], now_ms=NOW, title=False), width=120))
    assert "schema ids" not in text
    some = observation("volume", None, 5, "count", "met", schema_ids=[7, 9])
    text = "\n".join(render(product_table([some], now_ms=NOW, title=False), width=120))
    assert "schema ids 7, 9" in text
