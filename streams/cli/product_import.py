"""``mesh product import``: an ODCS data contract as a product (descriptor and Avro schema)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import click
from rich.text import Text

from streams.agents.lint import lint_code
from streams.cli._output import err_console, out_console, output_option
from streams.cli._root import repository
from streams.cli.product_apply import violation_line
from streams.governance import lint as lint_products
from streams.governance import with_display_paths
from streams.scaffold import import_contract

__all__ = ["import_command"]


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["odcs"]),
    required=True,
    help="The contract's standard: ODCS v3 (v3.1.0 and the older versions its schema accepts).",
)
@click.option("--domain", default=None, help="The product's domain [default: the contract's].")
@click.option(
    "--name", default=None, help="The product's name [default: the contract's, snake_case]."
)
@click.option(
    "--object",
    "object_name",
    default=None,
    metavar="NAME",
    help="The schema object that is the record, when the contract has several.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The repository to write into [default: the one around the current directory].",
)
@click.option("--force", is_flag=True, help="Overwrite the product's files if they exist.")
@output_option
@click.pass_context
def import_command(
    ctx: click.Context,
    file: Path,
    fmt: Literal["odcs"],
    domain: str | None,
    name: str | None,
    object_name: str | None,
    out: Path | None,
    force: bool,
    output: Literal["text", "json"],
) -> None:
    """Turn the data contract FILE (YAML or JSON) into a product of the mesh.

    Writes schemas/<domain>/<Record>.avsc and products/<domain>/<name>.yaml, then lints them:
    what the contract does not say comes from governance.yaml's defaults, and each such choice
    is a note on stderr. An invalid contract is refused with the JSON path of each problem.
    Exit 1 when lint finds errors in the written product (an aggregate, for one, still needs
    its code: products/<domain>/<name>.py).
    """
    root = repository(out)
    made = import_contract(
        root, file, domain=domain, name=name, object_name=object_name, force=force
    )
    code = with_display_paths(lint_code(made.descriptor), root=root)  # an aggregate's code
    found = [*lint_products(made.descriptor), *code]
    errors = [item for item in found if item.severity == "error"]
    files = [path.relative_to(root).as_posix() for path in made.written]
    if output == "json":
        document = {
            "product": made.ref.id,
            "topic": made.ref.topic,
            "files": files,
            "notes": list(made.notes),
            "violations": [item.to_dict() for item in found],
        }
        click.echo(json.dumps(document, indent=2))
    else:
        console = out_console()
        for note in made.notes:
            err_console().print(f"note: {note}", highlight=False, soft_wrap=True)
        for written in files:
            console.print(f"wrote {written}", highlight=False)
        warnings = len(found) - len(errors)
        if warnings:
            console.print(
                Text(f"{warnings} warning(s) to fix: `mesh product lint` lists them", "yellow")
            )
        console.print(f"next: mesh product apply, then mesh produce {made.ref.id}", highlight=False)
    if errors:
        for item in errors:
            err_console().print(violation_line(item), highlight=False, soft_wrap=True)
        ctx.exit(1)
