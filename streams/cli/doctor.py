"""``mesh doctor``: is this configuration usable? One line per check, with the fix."""

from __future__ import annotations

import json
from typing import Literal

import click
from rich.text import Text

from streams.catalog.doctor import Finding, diagnose
from streams.cli._context import connection_settings
from streams.cli._output import out_console, output_option

__all__ = ["doctor"]

_STYLES = {"ok": "green", "failed": "red", "unreachable": "red", "skipped": "dim"}


def exit_code(findings: list[Finding]) -> int:
    """3 when Kafka or the registry did not answer, 1 when a check failed, else 0."""
    outcomes = {finding.outcome for finding in findings}
    if "unreachable" in outcomes:
        return 3
    return 1 if "failed" in outcomes else 0


@click.command()
@click.option(
    "--profile",
    default=None,
    help="A [profiles.NAME] table of ./mesh.toml or "
    "~/.config/streams/profiles.toml (env vars and .env still override it).",
)
@click.option("--bootstrap-servers", default=None, help="Kafka to check [default: settings].")
@click.option("--registry-url", default=None, help="Registry to check [default: settings].")
@click.option(
    "--timeout",
    "timeout_s",
    type=float,
    default=3.0,
    show_default=True,
    help="Seconds each check may take.",
)
@output_option
@click.pass_context
def doctor(
    ctx: click.Context,
    profile: str | None,
    bootstrap_servers: str | None,
    registry_url: str | None,
    timeout_s: float,
    output: Literal["text", "json"],
) -> None:
    """Check Kafka, topic creation, the registry and the catalog; exit 0 ok, 1 failed, 3
    unreachable."""
    settings = connection_settings(
        bootstrap_servers=bootstrap_servers, registry_url=registry_url, profile=profile, check=False
    )
    console = out_console()

    def show(finding: Finding) -> None:
        if output == "text":
            line = Text(f"{finding.outcome:<12}", style=_STYLES[finding.outcome])
            line.append(f"{finding.check:<14}{finding.detail}")
            if finding.fix:
                line.append(f" -> fix: {finding.fix}", style="yellow")
            console.print(line)

    findings = diagnose(settings, timeout_s=timeout_s, on_finding=show)
    if output == "json":
        click.echo(json.dumps([finding.to_json() for finding in findings], indent=2))
    ctx.exit(exit_code(findings))
