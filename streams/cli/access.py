"""``mesh access request|grant|revoke|list``: who may read which product, and why.

A consumer domain asks (``mesh --as listeners access request player.play_events --purpose
...``); the owning domain or the admin grants and revokes; anyone identified lists. The
registry records every change on ``_mesh.access`` and, on Apache Kafka, adds or removes the
consumer's READ ACLs on the product's topics (every version). Refusals (401, 403) are one line
from the registry naming the identity and the product, exit 1; an unreachable registry exit 3.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

import click
from rich import box
from rich.table import Table
from rich.text import Text

from streams.access import AccessClient, AccessRecord
from streams.catalog import Catalog, CatalogStore
from streams.cli._context import connection_settings
from streams.cli._output import err_console, out_console, output_option
from streams.config import Settings
from streams.errors import ConfigError, StreamsError
from streams.naming import parse_product
from streams.registry.control import ControlPlane

__all__ = ["access", "access_table"]

_STATE = {"requested": "yellow", "granted": "green", "revoked": "red"}

registry_url_option = click.option(
    "--registry-url",
    default=None,
    help="The registry [default: registry.url setting, else the local platform's].",
)


def _product(name: str) -> str:
    """``domain.product`` of NAME (a ``.vN`` suffix is dropped: access covers every version)."""
    try:
        ref = parse_product(name)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if ref.id != name:
        err_console().print(
            f"note: access covers every version of {ref.id}, not only {name}", highlight=False
        )
    return ref.id


def _client(registry_url: str | None) -> tuple[ControlPlane, AccessClient]:
    control = ControlPlane(connection_settings(registry_url=registry_url).registry)
    return control, AccessClient(control)


_OPEN = ("public", "internal")


def _check_published(settings: Settings, product: str) -> None:
    """Say on stderr when the catalog does not know ``product``, or when its classification
    lets every domain read it without a grant. Never fails: the registry decides, and a
    request may come before the product is published."""
    try:
        with CatalogStore(settings=settings) as store:
            versions = [e for e in Catalog.from_store(store) if e.product.id == product]
    except StreamsError as exc:
        err_console().print(f"note: the catalog was not read ({exc})", highlight=False)
        return
    if not versions:
        err_console().print(
            f"note: {product} is not in the catalog (yet); `mesh product list` shows the "
            "published products",
            highlight=False,
        )
        return
    classes = {str(e.product.classification) for e in versions}
    if classes <= set(_OPEN):
        err_console().print(
            f"note: {product} is {'/'.join(sorted(classes))}: every domain reads it without a "
            "grant; the request is recorded for its owner anyway",
            highlight=False,
        )


def _done(record: AccessRecord, output: Literal["text", "json"], line: str) -> None:
    if output == "json":
        click.echo(json.dumps(record.to_dict()))
        return
    console = out_console()
    console.print(line, highlight=False)
    if record.broker_acls is not None:
        console.print(f"broker ACLs {record.broker_acls}", highlight=False)


@click.group()
def access() -> None:
    """Access to products: requests by consumer domains, grants by owners."""


_bootstrap_option = click.option(
    "--bootstrap-servers",
    default=None,
    help="Kafka to read the catalog from (default: settings, then the platform from 'mesh up').",
)


@access.command()
@click.argument("product")
@click.option("--purpose", required=True, help="Why your domain needs the data (owners see it).")
@_bootstrap_option
@registry_url_option
@output_option
def request(
    product: str,
    purpose: str,
    bootstrap_servers: str | None,
    registry_url: str | None,
    output: Literal["text", "json"],
) -> None:
    """Ask to read PRODUCT (domain.product) as your domain, saying why.

    The catalog is read first to tell you when PRODUCT is not published (yet) or needs no
    grant (public and internal products).
    """
    chosen = _product(product)
    settings = connection_settings(bootstrap_servers=bootstrap_servers, registry_url=registry_url)
    _check_published(settings, chosen)
    with ControlPlane(settings.registry) as control:
        record = AccessClient(control).request(chosen, purpose=purpose)
    if record.state == "granted":
        line = f"{record.consumer} may read {chosen} already (granted by {record.by})"
    else:
        owner = chosen.partition(".")[0]
        line = (
            f"asked for {chosen} as {record.consumer}; domain {owner} (or the admin) grants it: "
            f"mesh access grant {chosen} --to {record.consumer}"
        )
    _done(record, output, line)


@access.command()
@click.argument("product")
@click.option("--to", "consumer", required=True, metavar="DOMAIN", help="The consumer domain.")
@click.option("--purpose", default=None, help="Why [default: the purpose of its request].")
@_bootstrap_option
@registry_url_option
@output_option
def grant(
    product: str,
    consumer: str,
    purpose: str | None,
    bootstrap_servers: str | None,
    registry_url: str | None,
    output: Literal["text", "json"],
) -> None:
    """Let domain DOMAIN read PRODUCT, every version (its owner or the admin)."""
    chosen = _product(product)
    control, client = _client(registry_url)
    with control:
        record = client.grant(chosen, consumer, purpose=purpose)
    # Grants may come before publication; a typo in the name should not pass unnoticed.
    settings = connection_settings(bootstrap_servers=bootstrap_servers, registry_url=registry_url)
    _check_published(settings, chosen)
    _done(record, output, f"granted {chosen} to {consumer} (purpose: {record.purpose})")


@access.command()
@click.argument("product")
@click.option("--from", "consumer", required=True, metavar="DOMAIN", help="The consumer domain.")
@registry_url_option
@output_option
def revoke(
    product: str, consumer: str, registry_url: str | None, output: Literal["text", "json"]
) -> None:
    """Take back DOMAIN's access to PRODUCT, or deny its request (its owner or the admin)."""
    chosen = _product(product)
    control, client = _client(registry_url)
    with control:
        record = client.revoke(chosen, consumer)
    _done(record, output, f"revoked {chosen} from {consumer}")


@access.command(name="list")
@click.argument("product", required=False)
@registry_url_option
@output_option
def list_access(
    product: str | None, registry_url: str | None, output: Literal["text", "json"]
) -> None:
    """List access requests and grants (of PRODUCT only, when given)."""
    chosen = None if product is None else _product(product)
    control, client = _client(registry_url)
    with control:
        records = client.list(chosen)
    if output == "json":
        click.echo(json.dumps([record.to_dict() for record in records]))
        return
    console = out_console()
    if not records:
        what = f" to {chosen}" if chosen else ""
        console.print(Text(f"no access requested or granted{what}", style="yellow"))
        return
    console.print(access_table(records, product=chosen is None))


def access_table(records: Sequence[AccessRecord], *, product: bool = True) -> Table:
    """The records as a table that reads at 80 columns (``product`` False leaves out the
    product column): names and states whole, the purpose and who changed it last wrapped."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    if product:
        table.add_column("product", no_wrap=True)
    table.add_column("consumer", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("purpose / last change", overflow="fold", ratio=1)
    for record in records:
        cells: list[str | Text] = [record.product] if product else []
        cells += [
            record.consumer,
            Text(record.state, style=_STATE[record.state]),
            Text(f"{record.purpose or '-'}\n")
            + Text(f"by {record.by} at {record.at}", style="dim"),
        ]
        table.add_row(*cells)
    return table
