"""``mesh lineage PRODUCT``: the products a product comes from, the ones derived from it, and the
runs (live agents, replays) that wrote it, each with an honest status: a run that stopped
showing signs of life is ``lost``, not running."""

from __future__ import annotations

import datetime
import json
from typing import Literal

import click
from rich.text import Text
from rich.tree import Tree

from streams.catalog import Catalog, CatalogStore
from streams.catalog.agents import AgentRunStore
from streams.catalog.lineage import LineageGraph, LineageNode
from streams.catalog.runs import RunState, read_runs
from streams.cli._context import connection_settings
from streams.cli._output import out_console, output_option
from streams.config import Settings

__all__ = ["lineage_command", "load_graph", "load_runs"]

RUNS_SHOWN = 10
"""The latest runs shown as text (JSON has them all)."""


def load_graph(settings: Settings) -> tuple[LineageGraph, Catalog]:
    """The lineage graph of the published descriptors and the recorded agent runs."""
    with CatalogStore(settings=settings) as store:
        catalog = Catalog.from_store(store)
    runs = AgentRunStore(settings=settings).read()
    return LineageGraph.build(catalog, runs.values()), catalog


def load_runs(settings: Settings, key: str) -> list[RunState]:
    """The runs that wrote product version ``key``, latest first."""
    runs = read_runs(settings).values()
    return sorted(
        (run for run in runs if key in run.outputs or run.job in (key, f"{key}.replay")),
        key=lambda run: run.started_at or run.last_seen or _EPOCH,
        reverse=True,
    )


_EPOCH = datetime.datetime.fromtimestamp(0, datetime.UTC)
_STYLES = {
    "running": "green",
    "lost": "yellow",
    "completed": "",
    "failed": "red",
    "aborted": "dim",
}


def _when(value: datetime.datetime, now: datetime.datetime) -> str:
    ago = int((now - value).total_seconds())
    span = f"{ago}s" if ago < 120 else f"{ago // 60}m" if ago < 7200 else f"{ago // 3600}h"
    at = value.astimezone(datetime.UTC)
    shown = f"{at:%H:%M:%S}" if at.date() == now.date() else f"{at:%Y-%m-%d %H:%M:%S}"
    return f"{shown} UTC ({span} ago)"


def _run_line(run: RunState, now: datetime.datetime) -> Text:
    """``status  job  run-id  started …, <what happened last> …, pid … on host: note``."""
    status = run.status(now)
    line = Text(f"  {status:<9}", style=_STYLES[status])
    line.append(f" {run.job}  {run.run_id[:8]}")
    parts = [f"started {_when(run.started_at, now)}"] if run.started_at else []
    if run.ended_at is not None:
        parts.append(f"{status} {_when(run.ended_at, now)}")
    elif run.last_seen is not None:
        parts.append(f"last sign of life {_when(run.last_seen, now)}")
    if run.pid:
        parts.append(f"pid {run.pid} on {run.host}")
    line.append(f"  {', '.join(parts)}")
    if run.error:
        line.append(f": {run.error.splitlines()[0]}", style="dim")
    return line


def _branch(tree: Tree, node: LineageNode) -> None:
    for child in node.children:
        label = f"{child.key} (see above)" if child.repeated else child.key
        _branch(tree.add(label), child)


@click.command("lineage")
@click.argument("product")
@click.option(
    "--bootstrap-servers",
    default=None,
    help="Kafka to read the catalog from (default: settings, then the platform from 'mesh up').",
)
@output_option
def lineage_command(
    product: str, bootstrap_servers: str | None, output: Literal["text", "json"]
) -> None:
    """Show PRODUCT's lineage: upstream and downstream products, recursively.

    PRODUCT is domain.product (its latest version) or domain.product.vN. Edges come from the
    descriptors' inputPorts and from what running agents and replays read and wrote. Then the
    latest runs that wrote it (from _mesh.lineage): running, lost (no sign of life for 2.5
    heartbeat intervals, e.g. after kill -9), completed, failed or aborted.
    """
    settings = connection_settings(bootstrap_servers=bootstrap_servers)
    graph, catalog = load_graph(settings)
    key = graph.resolve(product, known=catalog.entries)
    runs = load_runs(settings, key)
    now = datetime.datetime.now(datetime.UTC)
    if output == "json":
        found = graph.around(key) | {"runs": [run.to_dict(now) for run in runs]}
        click.echo(json.dumps(found, indent=2))
        return
    tree = Tree(f"[bold]{key}[/bold]")
    for title, node in (("upstream", graph.upstream(key)), ("downstream", graph.downstream(key))):
        branch = tree.add(title if node.children else f"{title}: none")
        _branch(branch, node)
    console = out_console()
    console.print(tree)
    if runs:
        more = f", latest {RUNS_SHOWN} of {len(runs)}" if len(runs) > RUNS_SHOWN else ""
        console.print(f"runs writing {key}{more}:", highlight=False)
        for run in runs[:RUNS_SHOWN]:
            console.print(_run_line(run, now), highlight=False)
    else:
        console.print(f"no runs have written {key} (yet)")
