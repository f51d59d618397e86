"""``mesh guarantees`` and the guarantees in ``mesh product show``: the mesh's promises beside
what was observed, against the test platform (how tables are drawn: test_guarantees_view.py).

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
from streams.cli._guarantees_view import NO_OBSERVATIONS
from streams.cli._sparkline import HOUR_MS, MISSING
from streams.config import Settings
from streams.guarantees import ObservationPublisher, Summary, evaluate
from tests.catalog._entries import descriptor, domain, entry


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
    judged = evaluate(product, summary, now_ms=now, window_ms=300_000)
    # As the monitor does, each observation carries its last closed hours judged alone.
    last = now // HOUR_MS * HOUR_MS - HOUR_MS
    hours = [[last - HOUR_MS, 1_000, "met"], [last, 90_000, "breached"]]
    with ObservationPublisher(settings=settings) as publisher:
        publisher.publish(
            [o.model_copy(update={"details": o.details | {"hours": hours}}) for o in judged]
        )


@pytest.fixture
def dom(settings: Settings) -> str:
    """A domain with a stalled, partly late play_events and a healthy sessions product."""
    name = domain()
    now = int(time.time() * 1000)
    _publish(settings, descriptor(name), newest_event_ms=now - 90_000, on_time=9_990)
    _publish(settings, descriptor(name, name="sessions"))
    return name


def mesh(runner: CliRunner, settings: Settings, *args: str, command: str = "guarantees") -> Result:
    return runner.invoke(
        main,
        [*command.split(), *args, "--bootstrap-servers", settings.kafka.bootstrap_servers],
        env={"COLUMNS": "250", "STREAMS_REGISTRY__URL": settings.registry.url},
    )


def test_a_breached_product_exits_1_with_the_table(
    runner: CliRunner, settings: Settings, dom: str
) -> None:
    result = mesh(runner, settings, f"{dom}.play_events")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    # One table per product version, titled with the product and its owner.
    (title,) = [
        index for index, line in enumerate(lines) if line.startswith(f"{dom}.play_events.v1 ")
    ]
    assert "owner player-platform" in lines[title]
    assert "1 breached" in lines[title]
    (fresh,) = [line for line in lines[title:] if line.startswith("freshness ")]
    assert "<= 1m" in fresh
    assert "1m 30s" in fresh
    assert "breached" in fresh
    (complete,) = [line for line in lines[title:] if line.startswith("completeness ")]
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
    shown = mesh(runner, settings, f"{name}.play_events", command="product show")
    assert shown.exit_code == 0, shown.output
    assert f"observed: {NO_OBSERVATIONS}" in shown.stdout
    assert "last 24 hours" not in shown.stdout


def test_product_show_has_the_guarantees_and_their_last_hours(
    runner: CliRunner, settings: Settings, dom: str
) -> None:
    as_json = mesh(
        runner, settings, f"{dom}.play_events", "--output", "json", command="product show"
    )
    assert as_json.exit_code == 0, as_json.output
    found = {o["guarantee"]: o for o in json.loads(as_json.stdout)["observations"]}
    assert found["freshness"]["state"] == "breached"
    assert found["freshness"]["observed"] >= 90_000
    assert [state for _, _, state in found["freshness"]["details"]["hours"]] == ["met", "breached"]
    assert {o["topic"] for o in found.values()} == {f"{dom}.play_events.v1"}
    text = mesh(runner, settings, f"{dom}.play_events", command="product show")
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    (heading,) = [index for index, line in enumerate(lines) if line.startswith("observed ")]
    (fresh,) = [line for line in lines[heading:] if line.startswith("freshness ")][:1]
    assert "<= 1m" in fresh
    assert "breached" in fresh
    (spark,) = [line for line in lines[heading:] if line.startswith("freshness ")][1:]
    assert MISSING * 22 + "▁█" in spark
    assert "1s to 1m 30s" in spark
    assert "1 breached" in spark


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


def test_watch_into_a_pipe_prints_each_new_publication_at_once(
    runner: CliRunner, settings: Settings, dom: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redrawing in place needs a terminal: into a pipe, a new table per publication (a new
    user saw nothing at all from `mesh guarantees --watch | cat`)."""
    first = guarantees_cli.observations(f"{dom}.play_events", settings=settings)
    later = [o.model_copy(update={"measured_at_ms": o.measured_at_ms + 5_000}) for o in first]
    reads = iter([first, later, later])
    monkeypatch.setattr(guarantees_cli, "observations", lambda *_a, **_k: next(reads))
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(guarantees_cli.time, "sleep", sleep)
    result = mesh(runner, settings, f"{dom}.play_events", "--watch")
    assert result.exit_code == 1, result.output
    # Three reads, two publications: two tables, each under a rule with the time.
    assert result.stdout.count(f"{dom}.play_events.v1  owner") == 2
    assert len(naps) == 3
