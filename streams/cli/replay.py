"""``mesh replay PRODUCT --from T1 [--to T2] [--into-version N]``: recompute from history."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from streams.agents.definition import definition_path, load_definition
from streams.agents.replay import ReplayProgress, replay
from streams.cli._context import connection_settings
from streams.cli._output import err_console, out_console, output_option
from streams.cli._root import repository, root_option
from streams.errors import ConfigError
from streams.naming import parse_product

__all__ = ["replay_command"]


def parse_time(text: str, option: str) -> int:
    """Epoch milliseconds of an ISO 8601 time (UTC when it names no offset) or of a number."""
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{option} {text!r} is not a time: write ISO 8601 such as 2026-11-30T10:00:00Z "
            "(UTC when no offset is given) or epoch milliseconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@click.command("replay")
@click.argument("product")
@click.option(
    "--from",
    "start",
    required=True,
    help="First record's Kafka timestamp (when it was produced, not its event time); ISO 8601 "
    "or epoch ms.",
)
@click.option(
    "--to", "end", default=None, help="Leave out records with a Kafka timestamp from this on."
)
@click.option(
    "--into-version",
    type=click.IntRange(min=1),
    default=None,
    help="Write to this major version's topic (a blue/green backfill).",
)
@root_option
@click.option("--batch-size", type=click.IntRange(min=1), default=10_000, show_default=True)
@output_option
@click.option("--bootstrap-servers", default=None, help="Kafka address [default: settings].")
@click.option("--registry-url", default=None, help="Schema registry URL [default: settings].")
def replay_command(
    product: str,
    start: str,
    end: str | None,
    into_version: int | None,
    root: Path | None,
    batch_size: int,
    output: Literal["text", "json"],
    bootstrap_servers: str | None,
    registry_url: str | None,
) -> None:
    """Recompute PRODUCT (a derived product) from its inputs' history.

    Reads every input record with a Kafka timestamp from --from (up to --to, or to the end as
    it is now) with the product's code in products/<domain>/<name>.py, and writes the results
    to the product's topic, or to --into-version's topic. The Kafka timestamp is when a record
    was produced (unless its producer set another): to recompute the hours of an event-time
    day, start at or before the time those events were produced.
    """
    ref = parse_product(product)
    definition = load_definition(definition_path(repository(root), ref))
    settings = connection_settings(bootstrap_servers=bootstrap_servers, registry_url=registry_url)
    start_ms = parse_time(start, "--from")
    end_ms = None if end is None else parse_time(end, "--to")
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]} events/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console(), transient=False) as bar:
        task = bar.add_task(f"replay {definition.product}", total=None, rate="-")

        def progress(at: ReplayProgress) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            rate = f"{at.read / elapsed:,.0f}" if elapsed > 0 else "-"
            bar.update(task, completed=at.read, total=max(at.total, at.read), rate=rate)

        result = replay(
            definition,
            settings=settings,
            start_ms=start_ms,
            end_ms=end_ms,
            into_version=into_version,
            batch_size=batch_size,
            on_progress=progress,
        )
    fields = {
        "topic": result.topic,
        "read": result.read,
        "counted": result.counted,
        "late": result.late,
        "dead_letters": result.dead_letters,
        "outputs": result.outputs,
        "finals": result.finals,
        "seconds": round(result.seconds, 3),
        "per_second": round(result.per_second),
    }
    if result.read and not result.counted:
        err_console().print(
            f"[yellow]nothing was counted:[/] {result.read:,} records were read, and all were "
            "after --to, late or dead letters. --from and --to select records by their Kafka "
            "timestamp (when they were produced), not by their event time.",
            highlight=False,
        )
    if output == "json":
        click.echo(json.dumps(fields))
        return
    table = Table(title=f"replayed {definition.product} into {result.topic}", show_header=False)
    for name, value in fields.items():
        table.add_row(name, f"{value:,}" if isinstance(value, int) else str(value))
    out_console().print(table)
