"""``mesh guarantees``: the mesh's promises beside what was observed, against the test platform.

Observations go to the session's shared ``_mesh.observations`` (the command reads that topic), so
every test uses products in its own uuid domain and names it on the command line.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from click.testing import CliRunner, Result

import streams.cli.guarantees as guarantees_cli
from streams.catalog import CatalogStore, Product
from streams.cli import main
from streams.cli.guarantees import NO_OBSERVATIONS, humanise
from streams.config import Settings
from streams.guarantees import ObservationPublisher, Summary, Unit, evaluate
from tests.catalog._entries import descriptor, domain, entry


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
        (12_345, "count", "12,345"),
    ],
)
def test_humanise(value: float | None, unit: Unit, text: str) -> None:
    assert humanise(value, unit) == text


def _publish(settings: Settings, product: Product, **changes: Any) -> None:
    now = int(time.time() * 1000)
    values: dict[str, Any] = {
        "start_ms": now - 300_000,
        "end_ms": now,
        "events": 10_000,
        "newest_event_ms": now - 1_000,
        "latency_p50_ms": 20.0,
        "latency_p99_ms": 200.0,
        "on_time": 10_000,
        "schema_ids": frozenset({7}),
    }
    summary = Summary(**(values | changes))
    with CatalogStore(settings=settings) as store:
        store.publish(entry(product))
    with ObservationPublisher(settings=settings) as publisher:
        publisher.publish(evaluate(product, summary, now_ms=now, window_ms=300_000))


@pytest.fixture
def dom(settings: Settings) -> str:
    """A domain with a stalled, partly late play_events and a healthy sessions product."""
    name = domain()
    now = int(time.time() * 1000)
    _publish(settings, descriptor(name), newest_event_ms=now - 90_000, on_time=9_990)
    _publish(settings, descriptor(name, name="sessions"))
    return name


def mesh(runner: CliRunner, settings: Settings, *args: str) -> Result:
    return runner.invoke(
        main,
        ["guarantees", *args, "--bootstrap-servers", settings.kafka.bootstrap_servers],
        env={"COLUMNS": "250"},
    )


def test_a_breached_product_exits_1_with_the_table(
    runner: CliRunner, settings: Settings, dom: str
) -> None:
    result = mesh(runner, settings, f"{dom}.play_events")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    (fresh,) = [line for line in lines if " freshness " in line]
    assert f"{dom}.play_events.v1" in fresh
    assert "player-platform" in fresh
    assert "<= 1m" in fresh
    assert "1m 30s" in fresh
    assert "breached" in fresh
    (complete,) = [line for line in lines if " completeness " in line]
    assert ">= 99.9 %" in complete
    assert "at risk" in complete
    assert "10 late of 10,000" in complete
    assert "1 breached, 1 at risk" in result.stdout


def test_a_healthy_product_exits_0(runner: CliRunner, settings: Settings, dom: str) -> None:
    result = mesh(runner, settings, f"{dom}.sessions.v1")
    assert result.exit_code == 0, result.output
    assert f"{dom}.sessions.v1" in result.stdout
    assert "breached" not in result.stdout.replace("0 breached", "")


def test_json_is_a_list_of_observations(runner: CliRunner, settings: Settings, dom: str) -> None:
    result = mesh(runner, settings, f"{dom}.play_events", "--output", "json")
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout)
    by_guarantee = {item["guarantee"]: item for item in found}
    assert list(by_guarantee) == [
        "freshness",
        "latency",
        "completeness",
        "dead_letters",
        "usage",
        "volume",
    ]
    assert by_guarantee["freshness"]["state"] == "breached"
    assert by_guarantee["freshness"]["promised"] == 60_000
    assert by_guarantee["freshness"]["observed"] >= 90_000
    assert {item["topic"] for item in found} == {f"{dom}.play_events.v1"}
    healthy = mesh(runner, settings, f"{dom}.sessions", "--output", "json")
    assert healthy.exit_code == 0, healthy.output
    assert {item["state"] for item in json.loads(healthy.stdout)} == {"met"}


def test_the_whole_mesh(runner: CliRunner, settings: Settings, dom: str) -> None:
    result = mesh(runner, settings)
    # Other tests publish breaches to the same topic: this one is breached anyway.
    assert result.exit_code == 1, result.output
    assert f"{dom}.play_events.v1" in result.stdout
    assert f"{dom}.sessions.v1" in result.stdout


def test_an_unknown_product_suggests_close_ones(
    runner: CliRunner, settings: Settings, dom: str
) -> None:
    result = mesh(runner, settings, f"{dom}.play_event")
    assert result.exit_code == 1
    assert f"did you mean {dom}.play_events," in result.stderr
    assert result.stdout == ""


def test_a_product_not_observed_yet(runner: CliRunner, settings: Settings) -> None:
    name = domain()
    with CatalogStore(settings=settings) as store:
        store.publish(entry(descriptor(name)))
    result = mesh(runner, settings, f"{name}.play_events")
    assert result.exit_code == 0, result.output
    assert NO_OBSERVATIONS in result.stdout
    as_json = mesh(runner, settings, f"{name}.play_events", "--output", "json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == []
    assert NO_OBSERVATIONS in as_json.stderr


def test_watch_refreshes_until_ctrl_c(
    runner: CliRunner, settings: Settings, dom: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(guarantees_cli.time, "sleep", sleep)
    result = mesh(runner, settings, f"{dom}.play_events", "--watch")
    assert naps == [2.0, 2.0]
    assert result.exit_code == 1, result.output
    assert f"{dom}.play_events.v1" in result.stdout


def test_watch_is_a_table(runner: CliRunner, settings: Settings) -> None:
    result = mesh(runner, settings, "--watch", "--output", "json")
    assert result.exit_code == 2
    assert "alerts(follow=True)" in result.stderr
