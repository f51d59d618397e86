"""The snapshot folds catalog, observations, runs and grants into the pages' data (pure)."""

from __future__ import annotations

from streams.web import build_snapshot
from streams.web._layout import history_bars, lineage_layout
from tests.web._mesh import NOW_MS, hours, mesh, observation


def test_one_summary_per_product_with_its_worst_state() -> None:
    snapshot = build_snapshot(**mesh(6, domains=3), now_ms=NOW_MS)
    ids = [p["id"] for p in snapshot.products]
    assert ids == sorted(ids)
    assert len(ids) == 6 + 3  # the second version of dom0.events_0 is not another product
    states = {p["id"]: p["state"] for p in snapshot.products}
    assert states["dom0.events_3"] == "met"
    assert states["dom0.events_0"] == "unobserved"  # its v2 is shown, and v2 is not measured yet
    assert states["dom1.events_1"] == "at_risk"
    assert states["dom2.events_2"] == "breached"
    assert states["dom2.events_5"] == "unobserved"


def test_a_bare_name_is_the_latest_active_version_and_every_version_has_a_page() -> None:
    snapshot = build_snapshot(**mesh(), now_ms=NOW_MS)
    assert snapshot.details["dom0.events_0"]["key"] == "dom0.events_0.v2"
    assert snapshot.details["dom0.events_0.v1"]["version"] == 1
    assert [v["key"] for v in snapshot.details["dom0.events_0"]["versions"]] == [
        "dom0.events_0.v1",
        "dom0.events_0.v2",
    ]


def test_product_detail_has_schema_pii_guarantees_dead_letters_grants_and_runs() -> None:
    detail = build_snapshot(**mesh(), now_ms=NOW_MS).details["dom0.events_0.v1"]
    fields = {f["name"]: f for f in detail["schema"]["fields"]}
    assert fields["user_id"]["pii"] is True
    assert fields["context.playlist_id"]["doc"] == "Curated moodboard id."
    fresh = detail["observations"][0]
    assert (fresh["guarantee"], fresh["promised_text"], fresh["observed_text"]) == (
        "freshness",
        "1m",
        "1.5s",
    )
    assert len(fresh["chart"]["bars"]) == 23  # 24 hours, one observed nothing
    assert detail["dead_letters"] == {
        "topic": "dom0.events_0.v1.dlq",
        "count": 3.0,
        "state": "met",
        "window_ms": 300_000,
        "text": "3 in the last 5m",
    }
    assert [a["consumer"] for a in detail["access"]] == ["dom1"]
    assert detail["consumers"] == ["dom0.hourly.v1"]
    hourly = build_snapshot(**mesh(), now_ms=NOW_MS).details["dom0.hourly"]
    assert [r["job"] for r in hourly["runs"]] == ["dom0.hourly.v1"]


def test_grants_unknown_when_the_registry_was_not_asked() -> None:
    snapshot = build_snapshot(**{**mesh(), "access": None}, now_ms=NOW_MS, problems=["x"])
    assert snapshot.details["dom0.events_0"]["access"] is None
    assert snapshot.problems == ("x",)


def test_lineage_goes_through_agents_and_every_node_links() -> None:
    graph = build_snapshot(**mesh(3, domains=3), now_ms=NOW_MS).lineage
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert nodes["agent:dom0.hourly.v1"]["kind"] == "agent"
    assert nodes["agent:dom0.hourly.v1"]["url"] == "/products/dom0.hourly.v1#runs"
    assert nodes["dom0.events_0.v1"]["url"] == "/products/dom0.events_0.v1"
    pairs = {(e["from"], e["to"]) for e in graph["edges"]}
    # The agent explains the descriptor's edge: no direct product -> product line beside it.
    assert ("dom0.events_0.v1", "agent:dom0.hourly.v1") in pairs
    assert ("agent:dom0.hourly.v1", "dom0.hourly.v1") in pairs
    assert ("dom0.events_0.v1", "dom0.hourly.v1") not in pairs
    # Left to right: an input is in an earlier column than what it feeds.
    for edge in graph["edges"]:
        assert nodes[edge["from"]]["x"] < nodes[edge["to"]]["x"]
    assert all(
        0 <= n["x"] < graph["width"] and 0 <= n["y"] < graph["height"] for n in nodes.values()
    )


def test_an_empty_mesh_is_an_empty_snapshot() -> None:
    snapshot = build_snapshot(entries={}, now_ms=NOW_MS)
    assert snapshot.products == ()
    assert snapshot.lineage["nodes"] == []
    assert snapshot.facets()["domain"] == []


def test_history_bars_leave_gaps_and_drop_hours_older_than_a_day() -> None:
    chart = history_bars(
        [(start, value, state) for start, value, state in hours(30)], measured_at_ms=NOW_MS
    )
    slots = [bar["x"] // 9 for bar in chart["bars"]]
    assert len(slots) == 23
    assert 23 - 5 not in slots
    assert {bar["state"] for bar in chart["bars"]} == {"met", "breached"}
    assert max(bar["h"] for bar in chart["bars"]) == chart["height"]


def test_history_bars_of_malformed_hours_are_empty() -> None:
    found = observation("d.p.v1", "latency", "met", details={"hours": [["x", 1, "met"], 3]})
    detail = build_snapshot(entries={}, observations=[found], now_ms=NOW_MS)
    assert detail.products == ()  # an observation of an unpublished product is not a product


def test_lineage_layout_puts_connected_sources_on_top_and_outputs_beside_their_inputs() -> None:
    nodes = [{"id": key} for key in ("a", "b", "c", "d", "x", "y")]
    graph = lineage_layout(nodes, [("d", "x"), ("a", "y"), ("x", "nowhere")])
    rows = {n["id"]: (n["x"], n["y"]) for n in graph["nodes"]}
    assert [key for key, _ in sorted(rows.items(), key=lambda item: item[1])] == [
        "a", "d", "b", "c", "y", "x",
    ]  # fmt: skip
    assert len(graph["edges"]) == 2  # an edge to an unknown node is left out


def test_lineage_layout_survives_a_cycle() -> None:
    graph = lineage_layout([{"id": "a"}, {"id": "b"}], [("a", "b"), ("b", "a")])
    assert len(graph["nodes"]) == 2
    assert graph["width"] > 0
