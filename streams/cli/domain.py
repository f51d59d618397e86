"""``mesh domain create|list|revoke``: the mesh's domain identities (the admin's job)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import click
from rich.table import Table

from streams.cli._context import connection_settings
from streams.cli._output import out_console, output_option
from streams.config import credential_path, find_state_dir
from streams.errors import ConfigError
from streams.identity import ADMIN, check_identity_name, generate_credential, write_credential
from streams.registry.control import ControlPlane

__all__ = ["domain"]

registry_url_option = click.option(
    "--registry-url",
    default=None,
    help="The registry [default: registry.url setting, else the local platform's].",
)


@click.group()
def domain() -> None:
    """Domain identities: each domain's credential for the registry, Kafka and signing."""


@domain.command()
@click.argument("name")
@click.option("--rotate", is_flag=True, help="Replace the secret of an existing domain.")
@click.option(
    "--output-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the credential [default: <state_dir>/credentials/NAME.json].",
)
@registry_url_option
@output_option
def create(
    name: str,
    rotate: bool,
    output_file: Path | None,
    registry_url: str | None,
    output: Literal["text", "json"],
) -> None:
    """Issue domain NAME's credential (admin only): a new secret, published on the registry,
    written to a file readable only by you (mode 0600) to hand to the domain's team."""
    if name == ADMIN:
        raise click.UsageError("'admin' is the platform team's identity, not a domain")
    try:
        check_identity_name(name)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    settings = connection_settings(registry_url=registry_url)
    in_state_dir = credential_path(find_state_dir(settings.local), name)
    path = output_file or in_state_dir
    with ControlPlane(settings.registry) as control:
        known = {entry["name"]: entry for entry in control.domains()}
        if not rotate and name in known and known[name].get("revoked_at") is None:
            raise ConfigError(
                f"domain {name!r} exists already; `mesh domain create {name} --rotate` gives it "
                "a new secret (its old one stops working at once)"
            )
        credential = generate_credential(name)
        created = control.create_domain(credential)
    write_credential(credential, path)
    if output == "json":
        click.echo(json.dumps({**created, "credential_file": str(path)}))
        return
    console = out_console()
    verb = "rotated" if name in known else "created"
    console.print(f"{verb} domain {name} (public key {created['public_key']})", highlight=False)
    console.print(f"credential  {path} (mode 0600: hand it to the domain's team)", highlight=False)
    use = f"STREAMS_IDENTITY__FILE={path} mesh ..."
    if path.absolute() == in_state_dir.absolute():
        use = f"mesh --as {name} ...   or   {use}"
    console.print(f"use it      {use}", highlight=False)
    console.print(f"broker ACLs {created['broker_acls']}", highlight=False)


@domain.command(name="list")
@registry_url_option
@output_option
def list_domains(registry_url: str | None, output: Literal["text", "json"]) -> None:
    """List the domains the registry knows, revoked ones included."""
    settings = connection_settings(registry_url=registry_url)
    with ControlPlane(settings.registry) as control:
        found = control.domains()
    if output == "json":
        click.echo(json.dumps(found))
        return
    table = Table(title="domains", title_justify="left")
    for column in ("name", "state", "created"):
        table.add_column(column, no_wrap=True)
    # The key gives way in a narrow terminal or a pipe (80 columns): names and states never do.
    table.add_column("public key", overflow="fold", min_width=12)
    for entry in found:
        revoked = entry.get("revoked_at")
        state = f"[red]revoked {_second(revoked)}[/]" if revoked else "[green]active[/]"
        table.add_row(entry["name"], state, _second(entry["created_at"]), entry["public_key"])
    out_console().print(table)


@domain.command()
@click.argument("name")
@registry_url_option
@output_option
def revoke(name: str, registry_url: str | None, output: Literal["text", "json"]) -> None:
    """Revoke domain NAME's credential (admin only): refused by the registry at once."""
    settings = connection_settings(registry_url=registry_url)
    with ControlPlane(settings.registry) as control:
        revoked = control.revoke_domain(name)
    if output == "json":
        click.echo(json.dumps(revoked))
        return
    console = out_console()
    console.print(f"revoked domain {name} at {revoked['revoked_at']}", highlight=False)
    console.print(f"broker ACLs {revoked['broker_acls']}", highlight=False)


def _second(stamp: str) -> str:
    """An ISO time to the second (the registry records microseconds)."""
    head, dot, rest = stamp.partition(".")
    if not dot:
        return stamp
    zone = rest.lstrip("0123456789")
    return head + zone
