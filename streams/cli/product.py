"""``mesh product ...``: lint descriptors against the mesh's policies, export them as ODCS/ODPS
(``import`` reads ODCS back: :mod:`streams.cli.product_import`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import click
import yaml
from rich.text import Text

from streams.agents.lint import lint_code
from streams.catalog import (
    LoadedProduct,
    choose_version,
    export_odcs,
    export_odps,
    load_product,
    product_files,
    require_valid,
    select,
)
from streams.cli._context import cli_settings
from streams.cli._output import err_console, out_console, output_option
from streams.cli.product_apply import (
    apply_command,
    plan_command,
    violation_line,
    violation_table,
)
from streams.cli.product_catalog import list_products, show_product, version_option
from streams.cli.product_import import import_command
from streams.cli.product_new import new_command
from streams.errors import ConfigError, DescriptorError
from streams.governance import Violation, with_display_paths
from streams.governance import lint as lint_products
from streams.naming import parse_product

__all__ = ["product"]


@click.group()
def product() -> None:
    """Data products: descriptors in products/<domain>/<name>.yaml."""


product.add_command(plan_command, name="plan")
product.add_command(apply_command, name="apply")
product.add_command(list_products, name="list")
product.add_command(show_product, name="show")
product.add_command(new_command, name="new")
product.add_command(import_command, name="import")


@product.command()
@click.argument(
    "path", type=click.Path(exists=True, path_type=Path), default=Path("."), required=False
)
@output_option
@click.pass_context
def lint(ctx: click.Context, path: Path, output: Literal["text", "json"]) -> None:
    """Check descriptors (and derived products' code) against the policies; exit 1 on any error.

    PATH is the repository (default: the one around the current directory), any folder inside
    it (e.g. products/ or products/player), or one descriptor. On a terminal the violations are
    a table; piped or redirected, one 'file:line: RULE message; fix' line each on stdout and
    the summary on stderr. Paths are relative to the current directory inside the repository
    (../schemas/... from products/), else to the repository root.
    """
    violations = sorted(
        [*lint_products(path), *_lint_code(path)],
        key=lambda v: (v.path or "", v.line or 0, v.rule_id, v.message),
    )
    errors = sum(1 for item in violations if item.severity == "error")
    console = out_console()
    # Piped, stdout holds nothing but the violations (for grep, editors, CI annotations).
    summary = console if console.is_terminal else err_console()
    if output == "json":
        click.echo(json.dumps([item.to_dict() for item in violations], indent=2))
    elif not violations:
        summary.print(Text("no violations", style="green"))
    else:
        if console.is_terminal:
            console.print(violation_table(violations))
        else:
            for item in violations:
                click.echo(violation_line(item))
        warnings = len(violations) - errors
        summary.print(f"{errors} error(s), {warnings} warning(s)")
    if errors:
        ctx.exit(1)


def _lint_code(path: Path) -> list[Violation]:
    """The derived products' code rules, their paths shown as the descriptors' are."""
    selection = select(path)
    if selection.whole or not selection.files:
        found = lint_code(selection.root)
    else:
        found = [item for file in selection.files for item in lint_code(file)]
    return with_display_paths(found, root=selection.root)


@product.command()
@click.argument("name")
@version_option
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
@click.option(
    "--bootstrap-servers",
    metavar="HOST:PORT[,...]",
    help="The Kafka cluster the contract names as its server (default: the configured one).",
)
@click.option(
    "--output",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="The document's format on stdout.",
)
def export(
    name: str,
    version: int | None,
    fmt: Literal["odcs", "odps"],
    root: Path,
    bootstrap_servers: str | None,
    output: Literal["yaml", "json"],
) -> None:
    """Print product NAME as an ODCS v3.1.0 data contract or ODPS v1.0.0 data product.

    NAME is e.g. player.play_events (its latest active version), or player.play_events.v2
    (or --version 2) for one major version. The document is checked against the standard's
    official JSON schema before it is printed; `mesh product import --format odcs` reads the
    contract back.
    """
    wanted = parse_product(name, major=version)
    matches: dict[int, LoadedProduct] = {}
    failures: list[DescriptorError] = []
    for path in product_files(root):
        try:
            loaded = load_product(path, root=root)
        except DescriptorError as exc:
            failures.append(exc)
            continue
        if loaded.product.id == wanted.id:
            matches.setdefault(loaded.product.version, loaded)
    if not matches:
        if failures:
            # The product asked for may be in one of the files that do not load.
            raise failures[0]
        raise ConfigError(
            f"no product {name!r} under {root / 'products'}; check the spelling "
            "(<domain>.<name>[.v<major>]) or run 'mesh product lint'"
        )
    statuses = {major: loaded.product.status for major, loaded in matches.items()}
    chosen = choose_version(name, statuses, version=version, where=f"{root / 'products'}")
    loaded = matches[chosen.major]
    if fmt == "odcs":
        servers = bootstrap_servers or cli_settings().kafka.bootstrap_servers
        document = export_odcs(loaded.product, loaded.schema, bootstrap_servers=servers)
    else:
        document = export_odps(loaded.product)
    require_valid(fmt, document, source=f"the export of {loaded.product.topic}")
    if output == "json":
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        click.echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), nl=False)
