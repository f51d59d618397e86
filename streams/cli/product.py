"""``mesh product ...``: lint descriptors against the mesh's policies, export them as ODCS/ODPS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import click
import yaml
from rich.table import Table
from rich.text import Text

from streams.agents.lint import lint_code
from streams.catalog import LoadedProduct, export_odcs, export_odps, load_product, product_files
from streams.cli._output import out_console, output_option
from streams.cli.product_apply import apply_command, plan_command
from streams.cli.product_catalog import list_products, show_product
from streams.cli.product_new import new_command
from streams.errors import ConfigError, DescriptorError
from streams.governance import lint as lint_products
from streams.naming import parse_product

__all__ = ["product"]

_STYLES = {"error": "bold red", "warning": "yellow"}


@click.group()
def product() -> None:
    """Data products: descriptors in products/<domain>/<name>.yaml."""


product.add_command(plan_command, name="plan")
product.add_command(apply_command, name="apply")
product.add_command(list_products, name="list")
product.add_command(show_product, name="show")
product.add_command(new_command, name="new")


@product.command()
@click.argument(
    "path", type=click.Path(exists=True, path_type=Path), default=Path("."), required=False
)
@output_option
@click.pass_context
def lint(ctx: click.Context, path: Path, output: Literal["text", "json"]) -> None:
    """Check descriptors (and derived products' code) against the policies; exit 1 on any error.

    PATH is the repository root (default: the current directory) or one descriptor.
    """
    violations = sorted(
        [*lint_products(path), *lint_code(path)],
        key=lambda v: (v.path or "", v.line or 0, v.rule_id, v.message),
    )
    errors = sum(1 for item in violations if item.severity == "error")
    if output == "json":
        click.echo(json.dumps([item.to_dict() for item in violations], indent=2))
    elif not violations:
        out_console().print(Text("no violations", style="green"))
    else:
        table = Table(title_justify="left", show_lines=False)
        table.add_column("severity", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        # Long absolute paths fold rather than squeeze the message out of a narrow terminal.
        table.add_column("where", overflow="fold", ratio=1)
        table.add_column("message", overflow="fold", ratio=2)
        table.add_column("hint", overflow="fold", ratio=2)
        for item in violations:
            table.add_row(
                Text(item.severity, style=_STYLES[item.severity]),
                item.rule_id,
                item.location,
                item.message,
                Text(item.hint, style="dim"),
            )
        console = out_console()
        console.print(table)
        warnings = len(violations) - errors
        console.print(f"{errors} error(s), {warnings} warning(s)")
    if errors:
        ctx.exit(1)


@product.command()
@click.argument("name")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["odcs", "odps"]),
    required=True,
    help="ODCS v3 data contract or ODPS v1 data product.",
)
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Repository root holding products/ and schemas/.",
)
def export(name: str, fmt: Literal["odcs", "odps"], root: Path) -> None:
    """Print product NAME as an ODCS or ODPS document (YAML).

    NAME is e.g. player.play_events, or player.play_events.v2 for one major version.
    """
    wanted = parse_product(name)
    versioned = name.count(".") == 2  # parse_product accepted it, so the third part is v<N>
    matches: list[LoadedProduct] = []
    failures: list[DescriptorError] = []
    for path in product_files(root):
        try:
            loaded = load_product(path, root=root)
        except DescriptorError as exc:
            failures.append(exc)
            continue
        if loaded.product.id == wanted.id and (
            not versioned or loaded.product.version == wanted.major
        ):
            matches.append(loaded)
    if not matches:
        if failures:
            # The product asked for may be in one of the files that do not load.
            raise failures[0]
        raise ConfigError(
            f"no product {name!r} under {root / 'products'}; check the spelling "
            "(<domain>.<name>[.v<major>]) or run 'mesh product lint'"
        )
    loaded = max(matches, key=lambda item: item.product.version)
    document = (
        export_odcs(loaded.product, loaded.schema) if fmt == "odcs" else export_odps(loaded.product)
    )
    click.echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), nl=False)
