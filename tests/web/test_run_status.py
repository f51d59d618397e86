"""Agents' statuses in the catalog agree with ``mesh lineage``: both fold the runs' events on
``_mesh.lineage`` with :meth:`streams.catalog.runs.RunState.status`."""

from __future__ import annotations

import datetime

from streams.catalog.runs import RunState
from streams.web import build_snapshot
from tests.web._mesh import NOW_MS, STARTED, mesh

NOW = datetime.datetime.fromtimestamp(NOW_MS / 1000, datetime.UTC)


def states() -> dict[str, RunState]:
    """run-0 was stopped (COMPLETE), run-1 still beats, run-2 went silent an hour ago."""
    common = {"processing": "STREAMING", "started_at": STARTED, "heartbeat_s": 60.0}
    return {
        "run-0": RunState(
            "run-0", "dom0.hourly.v1", last_seen=STARTED, ended="completed", ended_at=NOW,
            **common,
        ),
        "run-1": RunState(
            "run-1", "dom1.hourly.v1", last_seen=NOW - datetime.timedelta(seconds=30), **common
        ),
        "run-2": RunState("run-2", "dom2.hourly.v1", last_seen=STARTED, **common),
    }  # fmt: skip


def test_agent_status_is_the_status_mesh_lineage_shows() -> None:
    found = states()
    snapshot = build_snapshot(**mesh(3, domains=3), run_states=found, now_ms=NOW_MS)
    nodes = {n["id"]: n for n in snapshot.lineage["nodes"]}
    expected = {f"dom{d}.hourly.v1": found[f"run-{d}"].status(NOW) for d in range(3)}
    assert expected == {
        "dom0.hourly.v1": "completed",
        "dom1.hourly.v1": "running",
        "dom2.hourly.v1": "lost",
    }
    for key, status in expected.items():
        assert nodes[f"agent:{key}"]["status"] == status
        assert [run["status"] for run in snapshot.details[key]["runs"]] == [status]


def test_an_agent_without_run_events_is_unknown_never_streaming() -> None:
    snapshot = build_snapshot(**mesh(3, domains=3), now_ms=NOW_MS)
    agents = [n for n in snapshot.lineage["nodes"] if n["kind"] == "agent"]
    assert agents
    assert {n["status"] for n in agents} == {"unknown"}
    assert snapshot.details["dom0.hourly.v1"]["runs"][0]["status"] == "unknown"


def test_the_product_page_shows_the_run_status() -> None:
    from streams.web._pages import lineage_page, product_page

    snapshot = build_snapshot(**mesh(3, domains=3), run_states=states(), now_ms=NOW_MS)
    page = product_page(snapshot, snapshot.details["dom0.hourly.v1"]).decode()
    assert '<td class="run-status">completed</td>' in page
    graph = lineage_page(snapshot).decode()
    assert 'class="node agent completed"' in graph
