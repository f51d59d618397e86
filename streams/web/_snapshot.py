"""The catalog's pages' data: one immutable snapshot of the mesh, JSON-ready.

:func:`build_snapshot` is pure: it folds the signed catalog's entries, the monitor's latest
observations, the agents' runs and the grants into plain dicts, once per refresh, so a request
only filters and renders (:mod:`streams.web._source` reads the inputs from Kafka and the
registry). The dicts are also what the JSON API answers, so the pages and the API cannot drift.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.access import AccessRecord
from streams.catalog import Catalog, CatalogEntry
from streams.catalog.agents import AgentRunRecord
from streams.catalog.runs import RunState
from streams.errors import ConfigError
from streams.guarantees import GUARANTEES, Observation
from streams.guarantees.view import duration_text, hours_of, humanise
from streams.web._layout import history_bars, lineage_layout

__all__ = ["STATE_ORDER", "Snapshot", "ViewMemo", "build_snapshot", "product_state"]

# Worst first: a product's state is the worst of its guarantees'.
STATE_ORDER: tuple[str, ...] = ("breached", "at_risk", "met", "unobserved")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the pages show, as of ``built_at_ms``.

    Attributes:
        products: One summary per product (its latest active version), ordered by id.
        details: Each product version's page data, by ``<domain>.<name>`` (the version shown
            by default) and by ``<domain>.<name>.v<major>``.
        lineage: The graph of products and agents with a layout (``nodes``, ``edges``,
            ``width``, ``height``).
        built_at_ms: When it was built (epoch ms).
        problems: The sources that could not be read, each a sentence with the fix.
    """

    products: tuple[dict[str, Any], ...] = ()
    details: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=lambda: lineage_layout([], []))
    built_at_ms: int = 0
    problems: tuple[str, ...] = ()

    def facets(self) -> dict[str, list[str]]:
        """The values each list filter can take, sorted (for the filter menus)."""
        tags = {tag for p in self.products for tag in p["tags"]}
        classes = {p["classification"] for p in self.products if p["classification"]}
        return {
            "domain": sorted({p["domain"] for p in self.products}),
            "kind": sorted({p["kind"] for p in self.products}),
            "tag": sorted(tags),
            "classification": sorted(classes),
            "state": [s for s in STATE_ORDER if any(p["state"] == s for p in self.products)],
        }


def product_state(found: Iterable[Observation]) -> str:
    """The worst state among ``found``; ``unobserved`` when there is none."""
    states = {o.state for o in found}
    return next((s for s in STATE_ORDER if s in states), "unobserved")


ViewMemo = MutableMapping[tuple[str, int, datetime.datetime], dict[str, Any]]
"""Each catalog entry's view (descriptor and parsed schema fields), kept between snapshots:
parsing hundreds of schemas on every refresh would keep a core busy."""


def build_snapshot(
    *,
    entries: Mapping[str, CatalogEntry],
    observations: Sequence[Observation] = (),
    runs: Iterable[AgentRunRecord] = (),
    run_states: Mapping[str, RunState] | None = None,
    access: Sequence[AccessRecord] | None = (),
    now_ms: int,
    problems: Sequence[str] = (),
    memo: ViewMemo | None = None,
) -> Snapshot:
    """Fold the inputs into a :class:`Snapshot`.

    Args:
        entries: The signed catalog (:meth:`CatalogStore.read`).
        observations: The latest observation of every guarantee.
        runs: The latest run of every agent job (``_mesh.agent_runs``).
        run_states: The runs' states folded from their events on ``_mesh.lineage``
            (:func:`~streams.catalog.runs.read_runs`), by run id: an agent's status is its
            latest run's, as ``mesh lineage`` shows it (``unknown`` when it has no events).
        access: Every access record; None when the registry could not be asked.
        now_ms: The time of the snapshot (epoch ms).
        problems: What could not be read, shown on every page.
        memo: The views of the previous snapshot, reused for unchanged entries and replaced
            by this snapshot's (None: none kept).
    """
    runs = list(runs)
    status = _run_status(runs, run_states or {}, now_ms)
    by_topic: dict[str, list[Observation]] = {}
    for observation in observations:
        by_topic.setdefault(observation.topic, []).append(observation)
    groups: dict[str, dict[str, CatalogEntry]] = {}
    consumers: dict[str, list[str]] = {}
    for key, item in sorted(entries.items()):
        groups.setdefault(item.product.id, {})[key] = item
        for port in item.product.input_ports:
            consumers.setdefault(port.ref.topic, []).append(key)
    # One small catalog per product: Catalog.show scans every entry, which over hundreds of
    # products made a refresh quadratic (scripts/bench web: 7 s for 500 products, now < 0.3 s).
    old = {} if memo is None else dict(memo)
    used: dict[tuple[str, int, datetime.datetime], dict[str, Any]] = {}
    details: dict[str, dict[str, Any]] = {}
    summaries: list[dict[str, Any]] = []
    for product_id, versions in sorted(groups.items()):
        own = Catalog(versions)
        try:
            shown = own.pick(product_id).topic
        except ConfigError:  # every version retired: show the newest
            shown = max(versions.values(), key=lambda e: e.product.version).key
        for key, item in versions.items():
            memo_key = (key, item.schema_id, item.published_at)
            view = old.get(memo_key) or own.show(key).to_dict()
            used[memo_key] = view
            detail = _detail(view, by_topic.get(key, []), runs, status, access)
            detail["consumers"] = sorted(consumers.get(key, []))
            details[key] = detail
        active = sorted(
            (k for k, e in versions.items() if e.product.status == "active"),
            key=lambda k: -versions[k].product.version,
        )
        for key in versions:
            details[key]["also"] = [_version(details[k]) for k in active if k != key]
        details[product_id] = details[shown]
        summaries.append(_summary(details[product_id]))
    if memo is not None:
        memo.clear()
        memo.update(used)
    return Snapshot(
        products=tuple(summaries),
        details=details,
        lineage=_lineage(Catalog(entries), runs, status),
        built_at_ms=now_ms,
        problems=tuple(problems),
    )


def _detail(
    view: dict[str, Any],
    found: list[Observation],
    runs: list[AgentRunRecord],
    status: Mapping[str, str],
    access: Sequence[AccessRecord] | None,
) -> dict[str, Any]:
    """A product version's page data: its (shared, never changed) view and what changes."""
    found.sort(key=lambda o: GUARANTEES.index(o.guarantee))
    letters = next((o for o in found if o.guarantee == "dead_letters"), None)
    dlq = view["ports"]["output"]["dlq"]
    detail = dict(view)
    detail["url"] = f"/products/{view['key']}"
    detail["state"] = product_state(found)
    detail["observations"] = [_observation(o) for o in found]
    detail["dead_letters"] = {
        "topic": dlq,
        "count": None if letters is None else letters.observed,
        "state": None if letters is None else letters.state,
        "window_ms": None if letters is None else letters.window_ms,
        "text": _letters_text(letters),
    }
    detail["access"] = (
        None
        if access is None
        else [record.to_dict() for record in access if record.product == view["id"]]
    )
    detail["runs"] = [
        {
            "job": run.job,
            "processing": run.processing,
            "status": status[run.job],
            "inputs": list(run.inputs),
            "outputs": list(run.outputs),
            "agent_version": run.agent_version,
            "started_at": run.started_at.isoformat(),
        }
        for run in runs
        if view["key"] in run.outputs
    ]
    return detail


SHORTEST_WINDOW_MS = 60_000
"""A dead letters window shorter than this is named as what it is (the monitor has just
started and its window is still filling), not as ``in the last 0 min``."""


def _letters_text(letters: Observation | None) -> str:
    """``3 in the last 5m``; what is known when the window is not (yet) measured."""
    if letters is None or letters.observed is None:
        return "not measured yet"
    count = humanise(letters.observed, "count")
    if letters.window_ms < SHORTEST_WINDOW_MS:
        return f"{count} since the monitor started (no full window measured yet)"
    return f"{count} in the last {duration_text(letters.window_ms)}"


def _observation(observation: Observation) -> dict[str, Any]:
    unit: Any = observation.unit
    hours = hours_of(observation)
    return {
        "guarantee": observation.guarantee,
        "state": observation.state,
        "promised": observation.promised,
        "observed": observation.observed,
        "unit": unit,
        "promised_text": humanise(observation.promised, unit),
        "observed_text": humanise(observation.observed, unit),
        "since_ms": observation.since_ms,
        "measured_at_ms": observation.measured_at_ms,
        "window_ms": observation.window_ms,
        "hours": [list(hour) for hour in hours],
        "chart": history_bars(hours, measured_at_ms=observation.measured_at_ms),
    }


def _summary(detail: dict[str, Any]) -> dict[str, Any]:
    description = detail["description"] or {}
    owner = detail["owner"] or {}
    return {
        "id": detail["id"],
        "key": detail["key"],
        "domain": detail["id"].split(".", 1)[0],
        "version": detail["version"],
        "kind": detail["kind"],
        "status": detail["status"],
        "classification": detail["classification"],
        "tags": detail["tags"],
        "owner": owner.get("team"),
        "purpose": description.get("purpose"),
        "state": detail["state"],
        "versions": len(detail["versions"]),
        "also": detail["also"],
        "url": f"/products/{detail['id']}",
    }


def _run_status(
    runs: list[AgentRunRecord], states: Mapping[str, RunState], now_ms: int
) -> dict[str, str]:
    """Each agent job's status: its latest run's (by run id, else the latest run of the same
    job), judged by :meth:`RunState.status` as ``mesh lineage`` does; ``unknown`` without
    events (the agent's record says what it is, not whether it still runs)."""
    now = datetime.datetime.fromtimestamp(now_ms / 1000, datetime.UTC)
    epoch = datetime.datetime.fromtimestamp(0, datetime.UTC)
    found: dict[str, str] = {}
    for run in runs:
        state = states.get(run.run_id) or max(
            (s for s in states.values() if s.job == run.job),
            key=lambda s: s.started_at or s.last_seen or epoch,
            default=None,
        )
        found[run.job] = "unknown" if state is None else state.status(now)
    return found


def _version(detail: dict[str, Any]) -> dict[str, Any]:
    """Another version of a product, as the list and the product page link it."""
    return {
        "key": detail["key"],
        "version": detail["version"],
        "status": detail["status"],
        "state": detail["state"],
        "url": detail["url"],
    }


def _lineage(
    catalog: Catalog, runs: list[AgentRunRecord], status: Mapping[str, str]
) -> dict[str, Any]:
    """Product versions and agent jobs as nodes; edges input -> agent -> output, and
    input -> product for descriptor edges no agent explains."""
    products = set(catalog.entries)
    edges: set[tuple[str, str]] = set()
    agents: dict[str, AgentRunRecord] = {}
    for run in runs:
        agents[run.job] = run
        products |= set(run.inputs) | set(run.outputs)
        edges |= {(source, f"agent:{run.job}") for source in run.inputs}
        edges |= {(f"agent:{run.job}", target) for target in run.outputs}
    explained = {(s, t) for run in runs for s in run.inputs for t in run.outputs}
    for entry in catalog:
        for port in entry.product.input_ports:
            products.add(port.ref.topic)
            if (port.ref.topic, entry.key) not in explained:
                edges.add((port.ref.topic, entry.key))
    known = catalog.entries
    nodes = [
        {
            "id": key,
            "kind": "product",
            "label": key,
            "url": f"/products/{key}",
            "status": known[key].product.status if key in known else "unpublished",
        }
        for key in sorted(products)
    ]
    nodes += [
        {
            "id": f"agent:{job}",
            "kind": "agent",
            "label": f"{'replay' if run.processing == 'BATCH' else 'agent'} {job}",
            "url": f"/products/{run.outputs[0]}#runs" if run.outputs else "/lineage",
            "processing": run.processing.lower(),
            "status": status[job],
        }
        for job, run in sorted(agents.items())
    ]
    return lineage_layout(nodes, sorted(edges))
