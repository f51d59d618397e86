"""The dead letters line never claims a window that was not measured ("0 in the last 0 min")."""

from __future__ import annotations

import re

import pytest

from streams.web import build_snapshot
from streams.web._pages import product_page
from tests.catalog._entries import descriptor, entry
from tests.web._mesh import NOW_MS, observation

ITEM = entry(descriptor("dom0", name="events"))


def line(**letters: object) -> str:
    found = [observation(ITEM.key, "dead_letters", "met", **letters)] if letters else []
    snapshot = build_snapshot(entries={ITEM.key: ITEM}, observations=found, now_ms=NOW_MS)
    page = product_page(snapshot, snapshot.details[ITEM.key]).decode()
    match = re.search(r'<p id="dead-letters">(.*?)</p>', page, re.S)
    assert match is not None
    return re.sub(r"<[^>]+>|\s+", " ", match.group(1))


@pytest.mark.parametrize("window_ms", [0, 59_999])
def test_a_window_just_started_is_not_a_zero_window(window_ms: int) -> None:
    text = line(observed=0.0, window_ms=window_ms)
    assert "0 min" not in text
    assert "in the last" not in text
    assert "since the monitor started" in text
    assert "no full window measured yet" in text


def test_a_measured_window_is_said_as_a_duration() -> None:
    assert " 3 in the last 5m " in line(window_ms=300_000)
    assert " 3 in the last 1m 30s " in line(window_ms=90_000)


def test_nothing_observed_is_not_measured_yet() -> None:
    text = line()
    assert "not measured yet" in text
    assert "in the last" not in text
