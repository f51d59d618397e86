"""Geometry of the pages' two drawings, computed once per snapshot and drawn by the templates.

The lineage graph is laid out in columns by depth (a node's column is one more than its deepest
input's, so data flows left to right; a cycle cannot loop forever: depths stop growing after one
pass per node), each node in the row nearest its inputs'. A guarantee's history is a bar per
hour over the last 24 closed hours, its height scaled between the smallest and largest value
shown, its colour the hour's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streams.guarantees.view import Hour

__all__ = ["HOUR_MS", "history_bars", "lineage_layout"]

HOUR_MS = 3_600_000
NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 250, 34, 70, 18, 10
BAR_W, CHART_H, HOURS = 8, 40, 24


def lineage_layout(
    nodes: Sequence[dict[str, Any]], edges: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """``nodes`` with ``x``, ``y``, ``w``, ``h`` added, the ``edges`` between their sides, and
    the drawing's ``width`` and ``height``.

    An edge spanning several columns passes through a free row of each column between its
    ends (a slot no box takes), so it never crosses a box it does not connect: its ``points``
    are where it enters and leaves each such column, and in the gaps between columns (where
    there are no boxes) it may curve.

    Args:
        nodes: Dicts with at least ``id``, in the order rows are filled.
        edges: ``(from id, to id)`` pairs; edges naming unknown nodes are left out.
    """
    ids = [node["id"] for node in nodes]
    known = set(ids)
    edges = [(a, b) for a, b in edges if a in known and b in known and a != b]
    depth = dict.fromkeys(ids, 0)
    for _ in range(len(ids)):  # longest path, bounded: a cycle stops growing after n passes
        changed = False
        for a, b in edges:
            if depth[b] < depth[a] + 1:
                depth[b] = depth[a] + 1
                changed = True
        if not changed:
            break
    columns: dict[int, list[str]] = {}
    for key in ids:
        columns.setdefault(depth[key], []).append(key)
    # A long edge takes a slot (a "dummy" key) in every column it crosses, ordered like a box.
    inputs: dict[str, list[str]] = {}
    waypoints: dict[tuple[str, str], list[str]] = {}
    for a, b in edges:
        chain = [a]
        for column in range(depth[a] + 1, depth[b]):
            slot = f"\0{a}\0{b}\0{column}"
            columns[column].append(slot)
            chain.append(slot)
        waypoints[(a, b)] = chain[1:]
        for before, after in zip(chain, [*chain[1:], b], strict=True):
            inputs.setdefault(after, []).append(before)
    # Fewer crossings: connected sources on top, then each key beside the mean row of its
    # inputs (one pass of the barycentre heuristic, column by column).
    linked = {key for edge in edges for key in edge}
    row_of: dict[str, int] = {}
    for column in sorted(columns):
        keys = columns[column]
        if column == 0:
            keys.sort(key=lambda k: k not in linked)  # stable: the given order otherwise
        else:
            keys.sort(key=lambda k: _mean([row_of.get(i, 0) for i in inputs.get(k, [])]))
        row_of |= {key: row for row, key in enumerate(keys)}
    rows = {column: len(keys) for column, keys in columns.items()}

    def left(key: str) -> int:
        column = depth[key] if key in depth else int(key.rsplit("\0", 1)[1])
        return PAD + column * (NODE_W + GAP_X)

    def middle(key: str) -> int:
        return PAD + row_of[key] * (NODE_H + GAP_Y) + NODE_H // 2

    placed = {
        node["id"]: {
            **node,
            "x": left(node["id"]),
            "y": PAD + row_of[node["id"]] * (NODE_H + GAP_Y),
            "w": NODE_W,
            "h": NODE_H,
        }
        for node in nodes
    }
    lines = []
    for a, b in edges:
        points = [[left(a) + NODE_W, middle(a)]]
        for slot in waypoints[(a, b)]:
            points += [[left(slot), middle(slot)], [left(slot) + NODE_W, middle(slot)]]
        points.append([left(b), middle(b)])
        lines.append(
            {
                "from": a,
                "to": b,
                "points": points,
                "d": _path(points),
                "x1": points[0][0],
                "y1": points[0][1],
                "x2": points[-1][0],
                "y2": points[-1][1],
            }
        )
    wide = len(columns)
    tallest = max(rows.values(), default=0)
    return {
        "nodes": list(placed.values()),
        "edges": lines,
        "width": 2 * PAD + max(wide * (NODE_W + GAP_X) - GAP_X, 0),
        "height": 2 * PAD + max(tallest * (NODE_H + GAP_Y) - GAP_Y, 0),
    }


def _path(points: list[list[int]]) -> str:
    """SVG path data through ``points``: an S-curve across each gap between columns (pairs
    0-1, 2-3, ...: horizontal tangents, so it stays inside the gap), a straight line through
    each column crossed (pairs 1-2, 3-4, ...: along the slot's free row)."""
    (x, y), *rest = points
    parts = [f"M {x} {y}"]
    for index, (x2, y2) in enumerate(rest):
        if index % 2 == 0:  # across a gap
            bend = (x2 - x) / 2
            parts.append(f"C {x + bend:g} {y}, {x2 - bend:g} {y2}, {x2} {y2}")
        else:
            parts.append(f"L {x2} {y2}")
        x, y = x2, y2
    return " ".join(parts)


def _mean(values: list[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def history_bars(hours: Sequence[Hour], *, measured_at_ms: int) -> dict[str, Any]:
    """The bars of the last 24 closed hours before ``measured_at_ms``, oldest on the left.

    An hour with no entry (the monitor was down) or nothing observed is a gap, not a shift.

    Returns:
        ``width``, ``height`` and ``bars``: ``x``, ``y``, ``h``, ``state``, ``value``, ``start_ms``.
    """
    newest = (measured_at_ms // HOUR_MS - 1) * HOUR_MS
    newest = max([newest, *(start for start, _, _ in hours)])
    oldest = newest - (HOURS - 1) * HOUR_MS
    shown = {start: (value, state) for start, value, state in hours if start >= oldest}
    values = [value for value, _ in shown.values() if value is not None]
    low, high = min(values, default=0.0), max(values, default=0.0)
    bars = []
    for slot in range(HOURS):
        start = oldest + slot * HOUR_MS
        value, state = shown.get(start, (None, ""))
        if value is None:
            continue
        share = 0.0 if high == low else (value - low) / (high - low)
        height = 3 + round(share * (CHART_H - 3))
        bars.append(
            {
                "x": slot * (BAR_W + 1),
                "y": CHART_H - height,
                "h": height,
                "state": state or "unknown",
                "value": value,
                "start_ms": start,
            }
        )
    return {"width": HOURS * (BAR_W + 1), "height": CHART_H, "bars": bars}
