"""``mesh monitor run``: measure every product's guarantees continuously (``mesh up`` starts it)."""

from __future__ import annotations

import click

from streams.catalog._duration import parse_duration
from streams.cli._context import connection_settings
from streams.guarantees.runner import run_monitor
from streams.guarantees.watched import MonitorOptions

__all__ = ["monitor"]


def _seconds(value: str) -> int:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--window") from None


@click.group()
def monitor() -> None:
    """The guarantees monitor: every product measured against its promises."""


@monitor.command()
@click.option(
    "--window",
    default="5m",
    show_default=True,
    help="The sliding window guarantees are judged over (e.g. 30s, 5m, 1h).",
)
@click.option(
    "--publish-every",
    type=click.FloatRange(min=0.1),
    default=MonitorOptions().publish_every_s,
    show_default=True,
    help="Seconds between published observations (and checkpoints).",
)
@click.option(
    "--catalog-every",
    type=click.FloatRange(min=0.1),
    default=MonitorOptions().catalog_every_s,
    show_default=True,
    help="Seconds between reads of the catalog for new and retired products.",
)
@click.option("--bootstrap-servers", default=None, help="Kafka address [default: settings].")
@click.option("--registry-url", default=None, help="Schema registry URL [default: settings].")
@click.option("--profile", default=None, help="A named settings profile (mesh.toml).")
def run(
    window: str,
    publish_every: float,
    catalog_every: float,
    bootstrap_servers: str | None,
    registry_url: str | None,
    profile: str | None,
) -> None:
    """Watch every product in the catalog until Ctrl-C or SIGTERM.

    Publishes observations to _mesh.observations and state changes to _mesh.alerts (read them
    with `mesh guarantees`); resumes from its checkpoints after a restart.
    """
    settings = connection_settings(
        bootstrap_servers=bootstrap_servers, registry_url=registry_url, profile=profile
    )
    options = MonitorOptions(
        window_s=_seconds(window),
        publish_every_s=publish_every,
        catalog_every_s=catalog_every,
    )
    summary = run_monitor(settings=settings, options=options)
    click.echo(summary)
