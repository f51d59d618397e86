"""``mesh forget --subject USER_ID``: crypto-shred one data subject's personal data."""

from __future__ import annotations

import json
from typing import Literal

import click

from streams.cli._context import connection_settings
from streams.cli._output import err_console, out_console, output_option
from streams.registry.control import ControlPlane

__all__ = ["forget"]


@click.command()
@click.option(
    "--subject",
    required=True,
    help="The data subject's id as the products' pseudonymized field holds it (e.g. a user_id).",
)
@click.option(
    "--registry-url",
    default=None,
    help="The registry [default: registry.url setting, else the local platform's].",
)
@output_option
def forget(subject: str, registry_url: str | None, output: Literal["text", "json"]) -> None:
    """Forget a data subject (the admin, or a domain owning a product with their data): every
    data key of SUBJECT in every product is shredded, so their encrypted fields are unreadable
    in every retained event, replay and derived product. No log is rewritten."""
    if not subject.strip():
        raise click.UsageError("--subject is empty; give the data subject's id")
    settings = connection_settings(registry_url=registry_url)
    with ControlPlane(settings.registry) as control:
        done = control.forget(subject)
    if output == "json":
        click.echo(json.dumps(done))
        return
    keys, products = int(done["keys"]), list(done["products"])
    if keys == 0:
        err_console().print(
            f"warning: no data key of {subject!r} was found: check the id (the raw id producers "
            "emit, e.g. a user_id, or its pseudonym as `mesh tail` shows it), or it was already "
            "forgotten",
            highlight=False,
        )
    out_console().print(
        f"forgot data subject {subject}: shredded {keys} key{'s' if keys != 1 else ''} in "
        f"{len(products)} product{'s' if len(products) != 1 else ''}"
        + (f" ({', '.join(products)})" if products else ""),
        highlight=False,
    )
