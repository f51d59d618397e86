"""``mesh product new``: one command, a product that ``mesh product apply`` makes real."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import click
from rich.text import Text

from streams.agents.lint import lint_code
from streams.cli._output import err_console, out_console, output_option
from streams.cli._root import repository, root_option
from streams.cli.product_apply import violation_line
from streams.governance import lint as lint_products
from streams.governance import with_display_paths
from streams.scaffold import NewKind, new_product

__all__ = ["new_command"]


@click.command()
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(["source-aligned", "aggregate"]),
    default="source-aligned",
    show_default=True,
    help="Events written by producers, or computed from --from products by agents.",
)
@click.option(
    "--from-json",
    "sample",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A JSON file holding one event: the schema's fields are inferred from it.",
)
@click.option(
    "--from",
    "inputs",
    multiple=True,
    metavar="PRODUCT",
    help="An aggregate's input product (repeatable), e.g. player.play_events.",
)
@click.option("--key", default=None, help="The key field [default: an id field, or the inputs'].")
@click.option("--record", default=None, help="The record name [default: from NAME, singular].")
@root_option
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@output_option
@click.pass_context
def new_command(
    ctx: click.Context,
    name: str,
    kind: NewKind,
    sample: Path | None,
    inputs: tuple[str, ...],
    key: str | None,
    record: str | None,
    root: Path | None,
    force: bool,
    output: Literal["text", "json"],
) -> None:
    """Create product NAME (<domain>.<name>): schema, descriptor, models, code and a test.

    Then `mesh product apply` creates its topic and `mesh produce NAME` sends it events.
    """
    if kind == "aggregate" and not inputs:
        raise click.UsageError("an aggregate is computed from inputs: add --from <domain>.<name>")
    if kind != "aggregate" and inputs:
        raise click.UsageError("--from names an aggregate's inputs: add --kind aggregate")
    if kind == "aggregate" and sample is not None:
        raise click.UsageError(
            "--from-json infers a source-aligned product's fields, not an aggregate's"
        )
    root = repository(root)
    made = new_product(
        root,
        name,
        kind=kind,
        sample=sample,
        inputs=inputs,
        key=key,
        record=record,
        force=force,
    )
    code = with_display_paths(lint_code(made.descriptor), root=root)
    found = [*lint_products(made.descriptor), *code]
    errors = [item for item in found if item.severity == "error"]
    files = [path.relative_to(root).as_posix() for path in made.written]
    if output == "json":
        document = {
            "product": made.ref.id,
            "kind": made.kind,
            "topic": made.ref.topic,
            "files": files,
            "violations": [item.to_dict() for item in found],
        }
        click.echo(json.dumps(document, indent=2))
    else:
        console = out_console()
        for file in files:
            console.print(f"wrote {file}", highlight=False)
        warnings = len(found) - len(errors)
        if warnings:
            console.print(
                Text(
                    f"{warnings} warning(s) to fix: `mesh product lint` lists them (TODO texts)",
                    style="yellow",
                )
            )
        then = (
            f"mesh agent run {made.ref.id} (or mesh replay {made.ref.id} --from <time>)"
            if made.kind == "aggregate"
            else f"mesh produce {made.ref.id}"
        )
        console.print(f"next: mesh product apply, then {then}", highlight=False)
    if errors:
        for item in errors:
            err_console().print(violation_line(item), highlight=False, soft_wrap=True)
        ctx.exit(1)
