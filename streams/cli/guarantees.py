"""``mesh guarantees [PRODUCT]``: every product's promises beside what the monitor observed.

Reads ``_mesh.observations`` (and the catalog, for owners). Exit 1 if any guarantee shown is
breached, so the command works as a CI or alerting check.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Literal

import click
from rich.console import Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from streams.catalog import Catalog, CatalogStore
from streams.cli._context import connection_settings
from streams.cli._output import err_console, out_console
from streams.guarantees import Observation, State, Unit, observations

__all__ = ["NO_OBSERVATIONS", "guarantees_command", "humanise"]

NO_OBSERVATIONS = (
    "no observations yet: is the monitor running? (mesh monitor run, or mesh up starts it)"
)

WATCH_EVERY_S = 2.0

_STYLES: dict[State, str] = {"met": "green", "at_risk": "yellow", "breached": "bold red"}
_LABELS: dict[State, str] = {"met": "met", "at_risk": "at risk", "breached": "breached"}
# Completeness and validity promise at least a share; every other guarantee at most a value.
_AT_LEAST = {"completeness", "validity"}


def humanise(value: float | None, unit: Unit) -> str:
    """``90000, "ms"`` -> ``1m 30s``; ``0.999, "share"`` -> ``99.9 %``; None -> ``-``."""
    if value is None:
        return "-"
    if unit == "share":
        return f"{value * 100:.6g} %"
    if unit == "count":
        return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"
    return _duration(value)


def _duration(ms: float) -> str:
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 59_950:  # below, one decimal still reads as seconds
        return f"{ms / 1000:.1f}".removesuffix(".0") + "s"
    left = round(ms / 1000)
    parts: list[str] = []
    for name, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, left = divmod(left, size)
        if amount or parts:
            parts.append(f"{amount}{name}")
    # The two largest units are precise enough to read ("2d 3h", not "2d 3h 4m 5s").
    return " ".join(part for part in parts[:2] if not part.startswith("0"))


def _promised(observation: Observation) -> str:
    if observation.promised is None:
        return "-"
    bound = ">=" if observation.guarantee in _AT_LEAST else "<="
    return f"{bound} {humanise(observation.promised, observation.unit)}"


def _note(observation: Observation) -> str:
    """A short explanation from the details."""
    details = observation.details
    reason = details.get("reason")
    if isinstance(reason, str):
        return reason
    match observation.guarantee:
        case "latency":
            return f"p50 {humanise(_number(details.get('p50_ms')), 'ms')}"
        case "completeness":
            return f"{_count(details.get('late'))} late of {_count(details.get('events'))}"
        case "duplicates":
            return f"by {details.get('field')}"
        case "validity":
            text = f"{_count(details.get('invalid'))} invalid of {_count(details.get('events'))}"
            failures = details.get("failures")
            if isinstance(failures, list) and failures and isinstance(failures[0], dict):
                first = failures[0]
                text += (
                    f"; first: {first.get('field')} {first.get('rule')} {first.get('value')} "
                    f"(partition {first.get('partition')} offset {first.get('offset')})"
                )
            return text
        case "dead_letters":
            return str(details.get("topic", ""))
        case "usage":
            groups = details.get("groups")
            return f"{len(groups)} group(s)" if isinstance(groups, list) else ""
        case "volume":
            ids = details.get("schema_ids")
            missing = details.get("not_measured")
            text = f"schema ids {', '.join(map(str, ids))}" if isinstance(ids, list) else ""
            if isinstance(missing, dict) and missing:
                text += f"; not measured: {', '.join(missing)}"
            return text.removeprefix("; ")
    return ""


def _count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _table(found: Sequence[Observation], owners: dict[str, str], now_ms: int) -> Table:
    table = Table(title_justify="left")
    for column in ("product", "owner", "guarantee", "promised", "observed", "state", "for"):
        table.add_column(column, no_wrap=True)
    table.add_column("details", overflow="fold", ratio=1, style="dim")
    for index, observation in enumerate(found):
        first = index == 0 or found[index - 1].topic != observation.topic
        last = index + 1 == len(found) or found[index + 1].topic != observation.topic
        table.add_row(
            observation.topic if first else "",
            owners.get(observation.topic, "-") if first else "",
            observation.guarantee,
            _promised(observation),
            humanise(observation.observed, observation.unit),
            Text(_LABELS[observation.state], style=_STYLES[observation.state]),
            humanise(max(0, now_ms - observation.since_ms), "ms"),
            _note(observation),
            end_section=last,
        )
    return table


def _view(found: Sequence[Observation], owners: dict[str, str]) -> RenderableType:
    """The table with a count line, or the no-observations line."""
    if not found:
        return Text(NO_OBSERVATIONS, style="yellow")
    breached = sum(1 for o in found if o.state == "breached")
    at_risk = sum(1 for o in found if o.state == "at_risk")
    summary = Text(f"{len(found)} observation(s): ")
    summary.append(f"{breached} breached", style=_STYLES["breached"] if breached else "")
    summary.append(f", {at_risk} at risk", style=_STYLES["at_risk"] if at_risk else "")
    return Group(_table(found, owners, int(time.time() * 1000)), summary)


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
    if output == "json":
        click.echo(json.dumps([o.model_dump(mode="json") for o in found], indent=2))
        if not found:
            err_console().print(Text(NO_OBSERVATIONS, style="yellow"))
        ctx.exit(_exit_code(found))
    owners = {e.key: e.product.owner.team for e in catalog if e.product.owner is not None}
    if not watch:
        out_console().print(_view(found, owners))
        ctx.exit(_exit_code(found))
    with Live(_view(found, owners), console=out_console(), auto_refresh=False) as live:
        try:
            while True:
                time.sleep(WATCH_EVERY_S)
                found = observations(product, settings=settings)
                live.update(_view(found, owners), refresh=True)
        except KeyboardInterrupt:
            pass
    ctx.exit(_exit_code(found))
