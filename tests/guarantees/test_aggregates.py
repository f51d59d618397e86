"""Which products get their windows checked, from the live agent's run record, and why not."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from streams.catalog import Product
from streams.catalog.agents import AgentRunRecord
from streams.guarantees.aggregates import IDLE_MS, has_inputs, window_options
from tests.catalog._entries import descriptor

OUT = "player.hourly_play_sessions.v1"
IN = "player.play_events.v1"
FIELDS = ["window_start", "window_end", "user_id", "plays", "final"]
RUN = AgentRunRecord(
    job=OUT,
    inputs=(IN,),
    outputs=(OUT,),
    agent_version="sha256:0123456789abcdef",
    processing="STREAMING",
    run_id="r1",
    started_at=datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC),
    key="user_id",
    event_time="event_time",
    window_kind="tumbling",
    window_size_ms=3_600_000,
    allowed_lateness_ms=3_600_000,
)


def aggregate() -> Product:
    return descriptor("player", name="hourly_play_sessions", kind="aggregate")


def options(run: AgentRunRecord | None = RUN, **changes: Any) -> dict[str, Any] | str:
    args: dict[str, Any] = {"fields": FIELDS, "watched": [IN, OUT]} | changes
    return window_options(
        aggregate(), args["fields"], run, args["watched"], window_ms=300_000, grace_ms=30_000
    )


def test_a_tumbling_live_run_gives_the_check_its_window() -> None:
    assert options() == {
        "inputs": (IN,),
        "key": "user_id",
        "event_time": "event_time",
        "size_ms": 3_600_000,
        "lateness_ms": 3_600_000,
        "grace_ms": 30_000,
        "window_ms": 300_000,
        "idle_ms": IDLE_MS,
    }
    assert has_inputs(aggregate())
    assert not has_inputs(descriptor("player"))


@pytest.mark.parametrize(
    ("run", "changes", "reason"),
    [
        (None, {}, "no live agent"),
        (dataclasses.replace(RUN, processing="BATCH"), {}, "no live agent"),
        (dataclasses.replace(RUN, window_kind=None, key=None), {}, "restart the agent"),
        (dataclasses.replace(RUN, window_kind="session"), {}, "session windows are not checked"),
        (dataclasses.replace(RUN, window_kind="hopping"), {}, "hopping windows are not checked"),
        (RUN, {"watched": [OUT]}, f"input {IN} is not watched"),
        (RUN, {"fields": ["window_start", "user_id"]}, "records lack final"),
    ],
)
def test_otherwise_the_reason_is_given(
    run: AgentRunRecord | None, changes: dict[str, Any], reason: str
) -> None:
    found = options(run, **changes)
    assert isinstance(found, str)
    assert reason in found
