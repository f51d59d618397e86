"""``mesh guarantees [PRODUCT]``: every product's promises beside what the monitor observed.

Reads ``_mesh.observations`` (and the catalog, for owners) and draws a table per product version
(streams/cli/_guarantees_view.py). Exit 1 if any guarantee shown is breached, so the command
works as a CI or alerting check.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Literal

import click
from rich.console import RenderableType
from rich.live import Live
from rich.text import Text

from streams.catalog import Catalog, CatalogStore
from streams.cli._context import connection_settings
from streams.cli._guarantees_view import NO_OBSERVATIONS, mesh_view, staleness
from streams.cli._output import err_console, out_console
from streams.config import Settings
from streams.guarantees import Observation, observations

__all__ = ["guarantees_command"]

WATCH_EVERY_S = 2.0


def _view(found: Sequence[Observation], owners: dict[str, str]) -> RenderableType:
    return mesh_view(found, owners, now_ms=int(time.time() * 1000))


def _watch_plainly(
    product: str | None,
    settings: Settings,
    owners: dict[str, str],
    found: list[Observation],
) -> list[Observation]:
    """``--watch`` into a pipe or file: a rule with the time, then the table, each time the
    monitor published something new (redrawing in place needs a terminal); until Ctrl-C or
    SIGTERM (the output so far is already written). Returns the last observations read."""
    console, shown = out_console(), None
    try:
        while True:
            newest = max((o.measured_at_ms for o in found), default=None)
            if newest != shown:
                console.rule(time.strftime("%H:%M:%S"))
                console.print(_view(found, owners))
                console.file.flush()
                shown = newest
            time.sleep(WATCH_EVERY_S)
            found = observations(product, settings=settings)
    except KeyboardInterrupt:
        pass
    return found


def _exit_code(found: Sequence[Observation]) -> int:
    return 1 if any(o.state == "breached" for o in found) else 0


@click.command("guarantees")
@click.argument("product", required=False)
@click.option(
    "--output",
    type=click.Choice(["table", "text", "json"]),
    default="table",
    show_default=True,
    help="A table (text is the same) or JSON (a list of observations) on stdout.",
)
@click.option("--watch", is_flag=True, help=f"Refresh the table every {WATCH_EVERY_S:g} s.")
@click.option(
    "--bootstrap-servers",
    default=None,
    help="Kafka to read from (default: settings, then the platform from 'mesh up').",
)
@click.pass_context
def guarantees_command(
    ctx: click.Context,
    product: str | None,
    output: Literal["table", "text", "json"],
    watch: bool,
    bootstrap_servers: str | None,
) -> None:
    """Each product's guarantees: promised, observed and met / at risk / breached.

    PRODUCT is domain.product (every version) or domain.product.vN; default: the whole mesh.
    Exits 1 if any guarantee shown is breached.
    """
    if watch and output == "json":
        raise click.UsageError(
            "--watch shows a live table; for a stream of changes subscribe to the alerts "
            "(streams.guarantees.alerts(follow=True))"
        )
    settings = connection_settings(bootstrap_servers=bootstrap_servers)
    with CatalogStore(settings=settings) as store:
        catalog = Catalog.from_store(store)
    found = observations(product, settings=settings)
    if product is not None and not found:
        catalog.show(product)  # an unknown product fails here, with close matches
    now_ms = int(time.time() * 1000)
    stale = staleness(found, now_ms=now_ms, publish_every_s=settings.monitor.publish_every_s)
    if stale is not None:
        err_console().print(Text(stale, style="yellow"))
    if output == "json":
        click.echo(json.dumps([o.model_dump(mode="json") for o in found], indent=2))
        if not found:
            err_console().print(Text(NO_OBSERVATIONS, style="yellow"))
        ctx.exit(_exit_code(found))
    owners = {e.key: e.product.owner.team for e in catalog if e.product.owner is not None}
    if not watch:
        out_console().print(_view(found, owners))
        ctx.exit(_exit_code(found))
    console = out_console()
    if not console.is_terminal:  # a pipe or a file: a new table per publication, at once
        ctx.exit(_exit_code(_watch_plainly(product, settings, owners, found)))
    with Live(_view(found, owners), console=console, auto_refresh=False) as live:
        try:
            while True:
                time.sleep(WATCH_EVERY_S)
                found = observations(product, settings=settings)
                live.update(_view(found, owners), refresh=True)
        except KeyboardInterrupt:
            pass
    ctx.exit(_exit_code(found))
