"""``mesh codegen``: pydantic models from the Avro schemas, one module per domain."""

from __future__ import annotations

from pathlib import Path

import click

from streams.cli._output import err_console, out_console
from streams.cli._root import repository, root_option
from streams.codegen import stale, write

__all__ = ["codegen"]


@click.command()
@root_option
@click.option(
    "--check", is_flag=True, help="Write nothing; exit 1 listing the modules that are out of date."
)
def codegen(root: Path | None, check: bool) -> None:
    """Generate typed event models from the Avro schemas.

    Writes products/<domain>/events.py from schemas/<domain>/*.avsc; --check only reports.
    """
    root = repository(root)
    out = out_console()
    if check:
        outdated = stale(root)
        if not outdated:
            out.print("generated modules are up to date")
            return
        for path in outdated:
            out.print(f"stale: {path.relative_to(root)}", highlight=False)
        err_console().print("run `mesh codegen` and commit the result", style="red")
        # 1: failed (the CLI's exit codes are in streams.cli; importing them here would cycle).
        raise click.exceptions.Exit(1)
    changed = write(root)
    for path in changed:
        out.print(f"wrote {path.relative_to(root)}", highlight=False)
    if not changed:
        out.print("generated modules are up to date")
