"""``mesh product plan`` / ``mesh product apply``: make the mesh match the descriptors.

``plan`` prints what would change and exits 1 when a change is blocked; ``apply`` lints the
descriptors first (any governance error refuses the run), then makes the changes and prints
each as it is made. Exit codes: 0 ok, 1 refused or failed, 3 Kafka or registry unreachable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import click
from rich.table import Table
from rich.text import Text

from streams.catalog import Change, find_root, load_path, plan
from streams.cli._context import connection_settings
from streams.cli._output import err_console, out_console, output_option
from streams.governance import checked_apply

__all__ = ["apply_command", "plan_command"]

Output = Literal["text", "json"]

_path_argument = click.argument(
    "path", type=click.Path(exists=True, path_type=Path), default=None, required=False
)
_bootstrap_option = click.option(
    "--bootstrap-servers", default=None, help="Kafka to use (default: the running platform)."
)
_registry_option = click.option(
    "--registry-url", default=None, help="Schema registry to use (default: the running platform)."
)


def _root(path: Path | None) -> Path:
    if path is not None:
        return path
    # find_root looks at a descriptor's parents; a name inside the cwd makes it start there.
    return find_root(Path.cwd() / "products.yaml")


@click.command()
@_path_argument
@output_option
@_bootstrap_option
@_registry_option
@click.pass_context
def plan_command(
    ctx: click.Context,
    path: Path | None,
    output: Output,
    bootstrap_servers: str | None,
    registry_url: str | None,
) -> None:
    """Show what 'apply' would change; exit 1 if a change is blocked.

    PATH is the repository root (default: the one around the current directory) or one
    descriptor.
    """
    settings = connection_settings(bootstrap_servers=bootstrap_servers, registry_url=registry_url)
    changes = plan(load_path(_root(path)), settings=settings)
    if output == "json":
        click.echo(json.dumps([change.to_dict() for change in changes], indent=2))
    elif not changes:
        out_console().print(Text("no changes: the mesh matches the descriptors", style="green"))
    else:
        out_console().print(_table(changes))
    if any(change.blocking for change in changes):
        ctx.exit(1)


@click.command()
@_path_argument
@output_option
@_bootstrap_option
@_registry_option
def apply_command(
    path: Path | None,
    output: Output,
    bootstrap_servers: str | None,
    registry_url: str | None,
) -> None:
    """Lint, then create topics, register schemas and publish descriptors (idempotent).

    PATH is the repository root (default: the one around the current directory) or one
    descriptor.
    """
    settings = connection_settings(bootstrap_servers=bootstrap_servers, registry_url=registry_url)
    progress = err_console()

    def made(change: Change) -> None:
        progress.print(Text(f"{change.action} {change.target}: {change.detail}", style="dim"))

    result = checked_apply(_root(path), settings=settings, on_change=made)
    if output == "json":
        click.echo(json.dumps([change.to_dict() for change in result.changes], indent=2))
    elif not result.changed:
        out_console().print(Text("no changes: the mesh already matched", style="green"))
    else:
        console = out_console()
        console.print(_table(result.changes))
        console.print(f"{len(result.changes)} change(s) made")


def _table(changes: Sequence[Change]) -> Table:
    table = Table(title_justify="left")
    table.add_column("product", no_wrap=True)
    table.add_column("action", no_wrap=True)
    table.add_column("target", overflow="fold", ratio=1)
    table.add_column("detail", overflow="fold", ratio=3)
    for change in changes:
        style = "bold red" if change.blocking else "cyan"
        table.add_row(
            change.product, Text(change.action, style=style), change.target, change.detail
        )
    return table
