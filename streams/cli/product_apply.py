"""``mesh product plan`` / ``mesh product apply``: make the mesh match the descriptors.

Both lint the descriptors first: a governance error refuses ``apply`` and so is what ``plan``
shows (exit 1) before it asks Kafka and the registry anything. ``plan`` prints what would change
and exits 1 when a change is blocked; ``apply`` makes the changes and prints each once, as it
is made (with ``--output json``, the list at the end and the progress on stderr when stdout is
not a terminal). Exit codes: 0 ok, 1 refused or failed, 3 Kafka or registry unreachable.

PATH is a repository, any folder inside it (``products/``, ``products/player``) or one
descriptor; the repository root is found upwards from it (see :func:`streams.catalog.select`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import click
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from streams.catalog import Change, load_path, plan, repository_root
from streams.catalog.plan import ACTIONS
from streams.cli._context import connection_settings
from streams.cli._output import err_console, out_console, output_option
from streams.governance import Violation, checked_apply, lint

__all__ = ["apply_command", "plan_command", "violation_line", "violation_table"]

_STYLES = {"error": "bold red", "warning": "yellow"}

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


_force_option = click.option(
    "--force",
    is_flag=True,
    help="Revive retired product versions: publish them with the status their descriptor says.",
)


def _path(path: Path | None) -> Path:
    """PATH, or the repository around the working directory (all of it) when none is given."""
    if path is not None:
        return path
    return repository_root(Path.cwd()) or Path.cwd()


def violation_line(item: Violation) -> str:
    """``file:line: RULE message; fix``, as ruff and mypy print (one line, greppable)."""
    severity = " (warning)" if item.severity == "warning" else ""
    return f"{item.location}: {item.rule_id} {item.message}{severity}; {item.hint}"


def violation_table(violations: Sequence[Violation]) -> Group:
    """Violations grouped by file, each a line with its rule, message and fix.

    The file is a heading rather than a column, so nothing is cut at 80 columns.
    """
    parts: list[RenderableType] = []
    for path, items in itertools.groupby(violations, key=lambda item: item.path):
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify="right", no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold", ratio=1)
        for item in items:
            line = f":{item.line}" if item.line is not None else ""
            message = Text(item.message) + Text(f"\n{item.hint}", style="dim")
            grid.add_row(line, Text(item.rule_id, style=_STYLES[item.severity]), message)
        parts += [Text(path or "-", style="bold"), grid]
    return Group(*parts)


@click.command()
@_path_argument
@output_option
@_bootstrap_option
@_registry_option
@_force_option
@click.pass_context
def plan_command(
    ctx: click.Context,
    path: Path | None,
    output: Output,
    bootstrap_servers: str | None,
    registry_url: str | None,
    force: bool,
) -> None:
    """Lint, then show what 'apply' would change; exit 1 if apply would refuse.

    PATH is the repository (default: the one around the current directory), any folder inside
    it (e.g. products/ or products/player), or one descriptor.
    """
    path = _path(path)
    errors = [item for item in lint(path) if item.severity == "error"]
    if errors:
        # apply would refuse these; planning the rest would show a plan that cannot be applied.
        changes = [_refused(item) for item in errors]
    else:
        settings = connection_settings(
            bootstrap_servers=bootstrap_servers, registry_url=registry_url
        )
        changes = plan(load_path(path), settings=settings, force=force)
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
@_force_option
def apply_command(
    path: Path | None,
    output: Output,
    bootstrap_servers: str | None,
    registry_url: str | None,
    force: bool,
) -> None:
    """Lint, then create topics, register schemas and publish descriptors (idempotent).

    PATH is the repository (default: the one around the current directory), any folder inside
    it (e.g. products/ or products/player), or one descriptor. Bringing a retired product
    version back (a descriptor not 'retired' any more) needs --force.
    """
    settings = connection_settings(bootstrap_servers=bootstrap_servers, registry_url=registry_url)
    console = out_console()
    shown: list[str] = []  # the products whose heading is printed

    def made(change: Change) -> None:
        # Each change is printed once, as it is made. The text result is that stream (a
        # product heading, then its changes); JSON comes at the end, so then the stream is
        # progress on stderr, shown only when stdout is not the terminal the JSON lands on.
        if output == "json":
            if not console.is_terminal:
                err_console().print(
                    Text(f"{change.action} {change.target}: {change.detail}", style="dim")
                )
            return
        if not shown or shown[-1] != change.product:
            shown.append(change.product)
            console.print(Text(change.product, style="bold"))
        console.print(_row(change))

    result = checked_apply(_path(path), settings=settings, on_change=made, force=force)
    if output == "json":
        click.echo(json.dumps([change.to_dict() for change in result.changes], indent=2))
    elif not result.changed:
        console.print(Text("no changes: the mesh already matched", style="green"))
    else:
        console.print(f"{len(result.changes)} change(s) made")


def _refused(item: Violation) -> Change:
    """A governance error as the change it blocks (``apply`` refuses the whole run)."""
    return Change(
        product=item.path or "-",
        action="blocked",
        target=item.location,
        detail=f"{item.rule_id}: {item.message}; {item.hint}",
        blocking=True,
    )


def _table(changes: Sequence[Change]) -> Group:
    """Changes grouped by product, each a line: the action, then its target and detail.

    The product is a heading rather than a column, so nothing is cut at 80 columns.
    """
    parts: list[RenderableType] = []
    for product, items in itertools.groupby(changes, key=lambda change: change.product):
        parts += [Text(product, style="bold"), _grid(list(items))]
    return Group(*parts)


def _row(change: Change) -> Table:
    """One change as :func:`_table` shows it, for printing as it is made."""
    return _grid([change])


def _grid(changes: Sequence[Change]) -> Table:
    grid = Table.grid(padding=(0, 1))
    # As wide as the longest action, so rows printed one at a time line up.
    grid.add_column(no_wrap=True, min_width=2 + max(len(action) for action in ACTIONS))
    grid.add_column(overflow="fold", ratio=1)
    for change in changes:
        style = "bold red" if change.blocking else "cyan"
        detail = Text(change.target) + Text(f": {change.detail}", style="dim")
        grid.add_row(Text(f"  {change.action}", style=style), detail)
    return grid
