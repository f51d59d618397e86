"""``mesh product list`` and ``mesh product show``: the catalog as the ``_mesh.products`` topic
holds it, not as local files say, so every machine on the mesh sees the same products."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, Literal, get_args

import click
from rich import box
from rich.table import Table
from rich.text import Text

from streams.access import AccessClient, AccessRecord
from streams.catalog import (
    Catalog,
    CatalogEntry,
    CatalogStore,
    Classification,
    Kind,
    ProductView,
    format_duration,
)
from streams.cli._context import connection_settings
from streams.cli._guarantees_view import NO_OBSERVATIONS, history_table, humanise, product_table
from streams.cli._output import err_console, out_console, output_option
from streams.cli.access import access_table
from streams.cli.lineage import load_graph
from streams.config import Settings
from streams.errors import StreamsError
from streams.guarantees import Observation, observations
from streams.registry.control import ControlPlane

__all__ = ["list_products", "show_product", "version_option"]

_STATUS = {"active": "green", "deprecated": "yellow", "retired": "red"}

version_option = click.option(
    "--version",
    "version",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Use major version N [default: the latest active version; PRODUCT.vN picks one too].",
)
"""``--version N``: every command naming a product takes it (see ``Catalog.pick``)."""

_bootstrap = click.option(
    "--bootstrap-servers",
    default=None,
    help="Kafka to read the catalog from (default: settings, then the platform from 'mesh up').",
)


_registry = click.option(
    "--registry-url",
    default=None,
    help="The registry, which publishes the keys catalog entries are checked with (default: "
    "settings, then the platform from 'mesh up').",
)


def _catalog(bootstrap_servers: str | None, registry_url: str | None) -> Catalog:
    settings = connection_settings(bootstrap_servers=bootstrap_servers, registry_url=registry_url)
    with CatalogStore(settings=settings) as store:
        return Catalog.from_store(store)


def _summary(entry: CatalogEntry) -> dict[str, Any]:
    product = entry.product
    return {
        "key": entry.key,
        "id": product.id,
        "domain": product.domain,
        "name": product.name,
        "version": product.version,
        "kind": product.kind,
        "status": product.status,
        "classification": product.classification,
        "tags": list(product.tags),
        "owner": product.owner.team if product.owner else None,
        "purpose": product.description.purpose if product.description else None,
        "topic": product.topic,
        "subject": entry.subject,
        "schema_id": entry.schema_id,
        "published_at": entry.published_at.isoformat(),
    }


@click.command()
@click.option("--domain", default=None, help="Only products of this domain.")
@click.option("--kind", type=click.Choice(get_args(Kind)), default=None, help="Only this kind.")
@click.option("--tag", default=None, help="Only products with this tag.")
@click.option(
    "--classification",
    type=click.Choice(get_args(Classification)),
    default=None,
    help="Only this classification.",
)
@click.option(
    "--search",
    "text",
    metavar="TEXT",
    default=None,
    help="Case-insensitive search over ids, names, descriptions and schema field docs.",
)
@_bootstrap
@_registry
@output_option
def list_products(
    domain: str | None,
    kind: Kind | None,
    tag: str | None,
    classification: Classification | None,
    text: str | None,
    bootstrap_servers: str | None,
    registry_url: str | None,
    output: Literal["text", "json"],
) -> None:
    """List the published products (every major version), from the catalog topic."""
    entries = _catalog(bootstrap_servers, registry_url).list(
        domain=domain, kind=kind, tag=tag, classification=classification, text=text
    )
    if output == "json":
        click.echo(json.dumps([_summary(entry) for entry in entries], indent=2))
        return
    console = out_console()
    if not entries:
        console.print(Text("no products match", style="yellow"))
        return
    # Key and status stay whole on one line; the rest wraps in one column on word boundaries,
    # so the table reads at 80 columns (six columns side by side were cut to a few letters).
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("product", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("kind · classification · owner / purpose", overflow="fold", ratio=1)
    for entry in entries:
        product = entry.product
        facts = (
            product.kind,
            product.classification or "-",
            product.owner.team if product.owner else "-",
        )
        purpose = product.description.purpose if product.description else "-"
        table.add_row(
            entry.key,
            Text(product.status, style=_STATUS[product.status]),
            Text(" · ".join(facts) + "\n") + Text(purpose, style="dim"),
        )
    console.print(table)
    console.print(f"{len(entries)} product version(s)")


@click.command()
@click.argument("name")
@version_option
@_bootstrap
@_registry
@output_option
def show_product(
    name: str,
    version: int | None,
    bootstrap_servers: str | None,
    registry_url: str | None,
    output: Literal["text", "json"],
) -> None:
    """Show product NAME (domain.product for its latest active version, or domain.product.vN).

    Upstream and downstream are the products it is derived from and the ones derived from it,
    by the descriptors' inputPorts and by what agents and replays read and wrote. The
    guarantees are what the monitor last observed, with each one's last 24 closed hours.
    """
    settings = connection_settings(bootstrap_servers=bootstrap_servers, registry_url=registry_url)
    graph, catalog = load_graph(settings)
    view = catalog.show(name, version=version)
    links = {"upstream": graph.inputs(view.entry.key), "downstream": graph.outputs(view.entry.key)}
    found = observations(view.product.topic, settings=settings)
    granted = _access(settings, view.product.id)
    if output == "json":
        observed = {"observations": [o.model_dump(mode="json") for o in found]}
        readers = {"access": None if granted is None else [r.to_dict() for r in granted]}
        click.echo(json.dumps(view.to_dict() | links | readers | observed, indent=2))
        if not found:
            err_console().print(Text(NO_OBSERVATIONS, style="yellow"))
        return
    _print_view(view, links)
    _print_access(view.product.id, granted)
    _print_observations(found)


def _access(settings: Settings, product: str) -> list[AccessRecord] | None:
    """The product's access requests and grants; None (and a warning) when the registry does
    not tell (unreachable, or it refuses this identity)."""
    try:
        with ControlPlane(settings.registry) as control:
            return AccessClient(control).list(product)
    except StreamsError as exc:
        err_console().print(Text(f"warning: access not shown: {exc}", style="yellow"))
        return None


def _print_access(product: str, records: list[AccessRecord] | None) -> None:
    console = out_console()
    if records is None:
        return
    if not records:
        console.print(
            Text("access ", style="bold")
            + Text(f"no consumer asked yet (mesh access request {product} ...)", style="dim")
        )
        return
    table = access_table(records, product=False)
    table.title, table.title_justify = "access", "left"
    console.print(table)


def _or_none(value: float | None) -> str:
    return "not measured" if value is None else f"{value:g}"


def _print_view(view: ProductView, links: dict[str, list[str]]) -> None:
    console = out_console()
    product, entry = view.product, view.entry
    status = Text(product.status, style=_STATUS[product.status])
    console.print(Text(f"{entry.key} ", style="bold") + Text("(") + status + Text(")"))
    if view.deprecation is not None:
        replaced = view.deprecation.replaced_by
        console.print(
            Text(f"deprecated: {view.deprecation.note}", style="yellow")
            + Text(f" (use {replaced})" if replaced else "")
        )
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim", no_wrap=True)
    facts.add_column(overflow="fold")
    owner = f"{view.owner.team} <{view.owner.contact}>" if view.owner else "-"
    port = product.output_port
    retention = "-" if port.retention is None else format_duration(port.retention)
    rows = [
        ("kind", product.kind),
        ("owner", owner),
        ("classification", product.classification or "-"),
        ("tags", ", ".join(product.tags) or "-"),
        ("purpose", view.description.purpose if view.description else "-"),
        ("usage", view.description.usage if view.description else "-"),
        ("limitations", (view.description.limitations if view.description else None) or "-"),
        ("topic", product.topic),
        ("subject", f"{entry.subject} (schema id {entry.schema_id})"),
        ("key / event time", f"{port.key or '-'} / {port.event_time}"),
        ("partitions / retention", f"{port.partitions} / {retention}"),
        ("compatibility", port.compatibility),
        ("inputs", ", ".join(view.inputs) or "-"),
        ("consumers", ", ".join(view.consumers) or "-"),
        ("upstream", ", ".join(links["upstream"]) or "-"),
        ("downstream", ", ".join(links["downstream"]) or "-"),
        ("versions", ", ".join(f"v{v.version} ({v.status})" for v in view.versions)),
        ("published", entry.published_at.isoformat()),
    ]
    if view.guarantees is not None:
        g = view.guarantees
        rows.append(
            (
                "guarantees",
                f"freshness {format_duration(g.freshness)}, latency {format_duration(g.latency)}, "
                f"completeness {g.completeness:g}, max duplicates {g.max_duplicate_share:g}, "
                f"availability {g.availability:g}, validity {_or_none(product.promised_validity)}, "
                f"max dead letters {product.promised_dead_letters}",
            )
        )
    for label, value in rows:
        facts.add_row(label, value)
    console.print(facts)
    fields = Table(
        title="schema", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False
    )
    fields.add_column("field", no_wrap=True)
    fields.add_column("type", overflow="fold")
    fields.add_column("pii", no_wrap=True)
    fields.add_column("doc", overflow="fold", ratio=1)
    for field in view.fields:
        fields.add_row(
            field.name,
            field.type,
            Text("pii", style="bold magenta") if field.pii else "",
            field.doc or Text("undocumented", style="red"),
        )
    console.print(fields)


def _print_observations(found: Sequence[Observation]) -> None:
    console = out_console()
    if not found:
        console.print(Text("observed: ", style="bold") + Text(NO_OBSERVATIONS, style="yellow"))
        return
    now_ms = int(time.time() * 1000)
    measured = max(o.measured_at_ms for o in found)
    window = max(o.window_ms for o in found)
    console.print(
        Text("observed", style="bold")
        + Text(
            f" {humanise(max(0, now_ms - measured), 'ms')} ago, over the last "
            f"{humanise(window, 'ms')}",
            style="dim",
        )
    )
    console.print(product_table(found, now_ms=now_ms, title=False))
    console.print(
        Text("last 24 hours", style="bold")
        + Text(
            " (a bar per closed hour, oldest first; · nothing observed)",
            style="dim",
        )
    )
    console.print(history_table(found))
