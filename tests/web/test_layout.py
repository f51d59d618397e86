"""The lineage drawing's geometry: no edge passes through a box that is not one of its ends."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import pytest

from streams.catalog import CatalogEntry
from streams.catalog._load import load_products
from streams.catalog.agents import AgentRunRecord
from streams.web import build_snapshot
from streams.web._layout import lineage_layout
from tests.catalog._entries import entry
from tests.web._mesh import NOW_MS, STARTED

ROOT = Path(__file__).resolve().parents[2]


def crosses(segment: tuple[list[int], list[int]], box: dict[str, Any]) -> bool:
    """Whether the straight segment enters the inside of ``box`` (touching its border is not
    crossing): Liang-Barsky clipping against the box shrunk by half a pixel."""
    (x1, y1), (x2, y2) = segment
    low, high = 0.0, 1.0
    dx, dy = x2 - x1, y2 - y1
    edges = (
        (-dx, x1 - (box["x"] + 0.5)),
        (dx, (box["x"] + box["w"] - 0.5) - x1),
        (-dy, y1 - (box["y"] + 0.5)),
        (dy, (box["y"] + box["h"] - 0.5) - y1),
    )
    for p, q in edges:
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return False
    return True


def false_crossings(graph: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every (edge from, edge to, box) where an edge's line passes through another box."""
    found = []
    for edge in graph["edges"]:
        points = edge.get("points") or [[edge["x1"], edge["y1"]], [edge["x2"], edge["y2"]]]
        for segment in itertools.pairwise(points):
            for node in graph["nodes"]:
                if node["id"] not in (edge["from"], edge["to"]) and crosses(segment, node):
                    found.append((edge["from"], edge["to"], node["id"]))
    return found


def test_the_crossing_check_sees_a_line_through_a_box() -> None:
    box = {"x": 100, "y": 100, "w": 50, "h": 20}
    assert crosses(([0, 110], [300, 110]), box)
    assert crosses(([0, 0], [300, 300]), box)
    assert not crosses(([0, 100], [300, 100]), box)  # along its border
    assert not crosses(([0, 130], [300, 130]), box)


def demo_mesh() -> dict[str, Any]:
    """The demo's mesh: the repository's products/, the backfilled v2 of hourly_play_sessions,
    its live agent (v1) and its replay (v2)."""
    entries: dict[str, CatalogEntry] = {}
    for loaded in load_products(ROOT):
        item = entry(loaded.product)
        entries[item.key] = item
    v1 = entries["player.hourly_play_sessions.v1"].product
    v2 = entry(v1.model_copy(update={"version": 2}))
    entries[v2.key] = v2

    def run(job: str, output: str, processing: Any) -> AgentRunRecord:
        return AgentRunRecord(
            job=job,
            inputs=("player.play_events.v1",),
            outputs=(output,),
            agent_version="sha256:0123456789abcdef",
            processing=processing,
            run_id=f"run-{job}",
            started_at=STARTED,
        )

    runs = [
        run("player.hourly_play_sessions.v1", "player.hourly_play_sessions.v1", "STREAMING"),
        run("player.hourly_play_sessions.v2.replay", "player.hourly_play_sessions.v2", "BATCH"),
    ]
    return {"entries": entries, "runs": runs}


def test_the_demo_lineage_draws_no_false_dependency() -> None:
    graph = build_snapshot(**demo_mesh(), now_ms=NOW_MS).lineage
    pairs = {(e["from"], e["to"]) for e in graph["edges"]}
    long_edge = ("artists.track_releases.v1", "playlists.generated_playlists.v1")
    assert long_edge in pairs
    assert ("agent:player.hourly_play_sessions.v1", "player.hourly_play_sessions.v1") in pairs
    nodes = {n["id"]: n for n in graph["nodes"]}
    # The long edge really spans columns (the case that drew a line through the agent).
    assert nodes[long_edge[1]]["x"] - nodes[long_edge[0]]["x"] > 2 * nodes[long_edge[0]]["w"]
    assert false_crossings(graph) == []
    assert all(
        n["x"] + n["w"] <= graph["width"] and n["y"] + n["h"] <= graph["height"]
        for n in graph["nodes"]
    )


def test_a_long_edge_goes_around_the_boxes_between_its_ends() -> None:
    nodes = [{"id": key} for key in ("a", "b", "c", "d")]
    graph = lineage_layout(nodes, [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")])
    assert false_crossings(graph) == []
    long_edge = next(e for e in graph["edges"] if (e["from"], e["to"]) == ("a", "d"))
    assert len(long_edge["points"]) == 6  # enters and leaves each of the two columns between
    assert long_edge["d"].startswith(f"M {long_edge['x1']} {long_edge['y1']} C ")
    assert graph["height"] >= 2 * 34  # a free row for the long edge beside b and c


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_with_long_edges_draw_no_false_dependency(seed: int) -> None:
    rng = random.Random(seed)
    count = rng.randint(4, 14)
    keys = [f"n{i}" for i in range(count)]
    edges = [
        (keys[i], keys[j]) for i in range(count) for j in range(i + 1, count) if rng.random() < 0.25
    ]
    graph = lineage_layout([{"id": key} for key in keys], edges)
    assert false_crossings(graph) == []
    for edge in graph["edges"]:  # every line starts at its source and ends at its target
        start, end = edge["points"][0], edge["points"][-1]
        boxes = {n["id"]: n for n in graph["nodes"]}
        source, target = boxes[edge["from"]], boxes[edge["to"]]
        assert start == [source["x"] + source["w"], source["y"] + source["h"] // 2]
        assert end == [target["x"], target["y"] + target["h"] // 2]
