"""``mesh lineage PRODUCT``: the products a product comes from and the ones derived from it."""

from __future__ import annotations

import json
from typing import Literal

import click
from rich.tree import Tree

from streams.catalog import Catalog, CatalogStore
from streams.catalog.agents import AgentRunStore
from streams.catalog.lineage import LineageGraph, LineageNode
from streams.cli._context import connection_settings
from streams.cli._output import out_console, output_option
from streams.config import Settings

__all__ = ["lineage_command", "load_graph"]


def load_graph(settings: Settings) -> tuple[LineageGraph, Catalog]:
    """The lineage graph of the published descriptors and the recorded agent runs."""
    with CatalogStore(settings=settings) as store:
        catalog = Catalog.from_store(store)
    runs = AgentRunStore(settings=settings).read()
    return LineageGraph.build(catalog, runs.values()), catalog


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
    descriptors' inputPorts and from what running agents and replays read and wrote.
    """
    graph, catalog = load_graph(connection_settings(bootstrap_servers=bootstrap_servers))
    key = graph.resolve(product, known=catalog.entries)
    if output == "json":
        click.echo(json.dumps(graph.around(key), indent=2))
        return
    tree = Tree(f"[bold]{key}[/bold]")
    for title, node in (("upstream", graph.upstream(key)), ("downstream", graph.downstream(key))):
        branch = tree.add(title if node.children else f"{title}: none")
        _branch(branch, node)
    out_console().print(tree)
