"""The lineage graph (descriptors + agent runs) and ``mesh lineage`` / ``mesh product show``."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from click.testing import CliRunner

from streams.catalog import Catalog
from streams.catalog.agents import AgentRunRecord
from streams.catalog.lineage import LineageGraph
from streams.catalog.runs import RunState, fold_runs
from streams.cli import main
from streams.config import Settings
from streams.errors import ConfigError
from tests.catalog._entries import descriptor, entry

NOW = datetime.datetime(2026, 11, 30, tzinfo=datetime.UTC)


def run(job: str, inputs: tuple[str, ...], outputs: tuple[str, ...]) -> AgentRunRecord:
    return AgentRunRecord(job, inputs, outputs, "sha256:00", "STREAMING", "r", NOW)


def catalog() -> Catalog:
    """d.events.v1 <- d.hourly.v1 (descriptor inputPorts) and d.hourly.v2 (an agent only)."""
    events = entry(descriptor("d", "events"))
    hourly = entry(descriptor("d", "hourly", inputPorts=[{"product": "d.events", "version": 1}]))
    return Catalog({e.key: e for e in (events, hourly)})


def graph() -> LineageGraph:
    runs = [
        run("d.hourly.v2.replay", ("d.events.v1",), ("d.hourly.v2",)),
        run("d.daily.v1", ("d.hourly.v1",), ("d.daily.v1",)),
        run("d.hourly.v1", ("d.events.v1",), ("d.hourly.v1",)),
    ]
    return LineageGraph.build(catalog(), runs)


def test_edges_merge_descriptors_and_agent_runs() -> None:
    found = graph()
    assert found.edges == {
        ("d.events.v1", "d.hourly.v1"): {"descriptor", "agent"},
        ("d.events.v1", "d.hourly.v2"): {"agent"},
        ("d.hourly.v1", "d.daily.v1"): {"agent"},
    }
    assert found.inputs("d.daily.v1") == ["d.hourly.v1"]
    assert found.outputs("d.events.v1") == ["d.hourly.v1", "d.hourly.v2"]


def test_trees_are_recursive_and_cut_cycles() -> None:
    found = graph()
    assert found.upstream("d.daily.v1").to_dict() == {
        "product": "d.daily.v1",
        "children": [
            {
                "product": "d.hourly.v1",
                "children": [{"product": "d.events.v1", "children": []}],
            }
        ],
    }
    down = found.downstream("d.events.v1").to_dict()
    assert [c["product"] for c in down["children"]] == ["d.hourly.v1", "d.hourly.v2"]
    assert down["children"][0]["children"] == [{"product": "d.daily.v1", "children": []}]
    found.add("d.daily.v1", "d.events.v1", "agent")  # a cycle ends where it started
    cut = found.upstream("d.events.v1").to_dict()["children"][0]["children"][0]["children"]
    assert cut == [{"product": "d.events.v1", "children": [], "repeated": True}]


def test_resolve_takes_the_highest_version_or_the_one_named() -> None:
    found = graph()
    assert found.resolve("d.hourly") == "d.hourly.v2"
    assert found.resolve("d.hourly.v1") == "d.hourly.v1"
    assert found.resolve("d.lonely", known=["d.lonely.v3"]) == "d.lonely.v3"
    with pytest.raises(ConfigError, match=r"no product 'd\.nothing'"):
        found.resolve("d.nothing")
    with pytest.raises(ConfigError, match=r"no product 'd\.hourly\.v9'"):
        found.resolve("d.hourly.v9")


def _runs() -> list[RunState]:
    """Three runs of d.hourly.v1's agent: one killed -9 long ago, one running, one stopped."""
    now = datetime.datetime.now(datetime.UTC)
    minute = datetime.timedelta(minutes=1)

    def event(kind: str, run_id: str, ago: datetime.timedelta) -> dict[str, Any]:
        worker = {"host": "h", "pid": 7, "heartbeatSeconds": 60}
        return {
            "eventType": kind,
            "eventTime": (now - ago).isoformat(),
            "run": {"runId": run_id, "facets": {"streams_worker": worker}},
            "job": {"namespace": "streams", "name": "d.hourly.v1"},
            "outputs": [{"namespace": "kafka://h:1", "name": "d.hourly.v1"}],
        }

    killed, alive, stopped = (f"{n}" * 8 + "-0000-4000-8000-000000000000" for n in (1, 2, 3))
    events = [
        event("START", killed, 60 * minute),
        event("RUNNING", killed, 50 * minute),  # then kill -9: nothing more
        event("START", alive, 30 * minute),
        event("RUNNING", alive, minute / 2),
        event("START", stopped, 90 * minute),
        event("COMPLETE", stopped, 80 * minute),
    ]
    found = fold_runs(events)
    return [found[alive], found[killed], found[stopped]]


RUNS: list[RunState] = []  # made by the `fake` fixture: their ages count from the test's start


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's reads of the catalog, agent-run and observations topics, answered without a
    broker."""

    def load_graph(_settings: Settings) -> tuple[LineageGraph, Catalog]:
        return graph(), catalog()

    RUNS[:] = _runs()

    def load_runs(_settings: Settings, key: str) -> list[RunState]:
        return RUNS if key == "d.hourly.v1" else []

    monkeypatch.setattr("streams.cli.lineage.load_graph", load_graph)
    monkeypatch.setattr("streams.cli.lineage.load_runs", load_runs)
    monkeypatch.setattr("streams.cli.product_catalog.load_graph", load_graph)
    monkeypatch.setattr("streams.cli.product_catalog.observations", lambda *_a, **_k: [])


def invoke(runner: CliRunner, *args: str) -> Any:
    result = runner.invoke(main, [*args, "--bootstrap-servers", "127.0.0.1:1"])
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.usefixtures("fake")
def test_mesh_lineage_json_has_nodes_edges_and_trees(runner: CliRunner) -> None:
    data = json.loads(invoke(runner, "lineage", "d.hourly.v1", "--output", "json").stdout)
    assert data["product"] == "d.hourly.v1"
    assert data["nodes"] == [
        {"id": "d.daily.v1", "product": "d.daily", "version": 1},
        {"id": "d.events.v1", "product": "d.events", "version": 1},
        {"id": "d.hourly.v1", "product": "d.hourly", "version": 1},
    ]
    assert data["edges"] == [
        {"from": "d.events.v1", "to": "d.hourly.v1", "via": ["agent", "descriptor"]},
        {"from": "d.hourly.v1", "to": "d.daily.v1", "via": ["agent"]},
    ]
    assert data["upstream"] == [{"product": "d.events.v1", "children": []}]
    assert data["downstream"] == [{"product": "d.daily.v1", "children": []}]


@pytest.mark.usefixtures("fake")
def test_mesh_lineage_text_is_a_tree(runner: CliRunner) -> None:
    text = invoke(runner, "lineage", "d.daily").stdout
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[0] == "d.daily.v1"
    upstream = next(i for i, line in enumerate(lines) if line.endswith("upstream"))
    hourly = next(i for i, line in enumerate(lines) if line.endswith("d.hourly.v1"))
    events = next(i for i, line in enumerate(lines) if line.endswith("d.events.v1"))
    assert upstream < hourly < events
    # Each level is indented further than its parent.
    assert lines[hourly].index("d.hourly") < lines[events].index("d.events")
    assert any(line.endswith("downstream: none") for line in lines)


@pytest.mark.usefixtures("fake")
def test_mesh_lineage_unknown_product_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(main, ["lineage", "d.nothing", "--bootstrap-servers", "127.0.0.1:1"])
    assert result.exit_code == 1
    assert "no product 'd.nothing'" in result.output


@pytest.mark.usefixtures("fake")
def test_product_show_lists_upstream_and_downstream(runner: CliRunner) -> None:
    data = json.loads(invoke(runner, "product", "show", "d.hourly", "--output", "json").stdout)
    assert (data["upstream"], data["downstream"]) == (["d.events.v1"], ["d.daily.v1"])
    text = invoke(runner, "product", "show", "d.events.v1").stdout
    rows = dict(line.split(None, 1) for line in text.splitlines() if len(line.split()) > 1)
    assert rows["upstream"].strip() == "-"
    assert rows["downstream"].strip() == "d.hourly.v1, d.hourly.v2"


@pytest.mark.usefixtures("fake")
def test_mesh_lineage_shows_a_killed_run_as_lost_with_its_last_sign_of_life(
    runner: CliRunner,
) -> None:
    data = json.loads(invoke(runner, "lineage", "d.hourly.v1", "--output", "json").stdout)
    statuses = [(run["run_id"][:1], run["status"]) for run in data["runs"]]
    assert statuses == [("2", "running"), ("1", "lost"), ("3", "completed")]
    lost = data["runs"][1]
    assert lost["last_seen"] == RUNS[1].last_seen.isoformat()  # type: ignore[union-attr]
    assert lost["ended_at"] is None
    lines = invoke(runner, "lineage", "d.hourly.v1").stdout.splitlines()
    rows = {line.split()[0]: line for line in lines if line.split()[:1] in (["running"], ["lost"])}
    assert "11111111" in rows["lost"], lines
    assert "last sign of life" in rows["lost"], lines
    assert "(50m ago)" in rows["lost"], lines
    assert "22222222" in rows["running"], lines
    assert "(30s ago)" in rows["running"], lines
    text = invoke(runner, "lineage", "d.daily").stdout
    assert "no runs have written d.daily.v1" in text
