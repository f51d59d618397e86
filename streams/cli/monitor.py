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
        seconds = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--window") from None
    if seconds > 86_400:
        raise click.BadParameter(
            f"{value!r} is longer than the 24 closed hours the monitor keeps; use at most 24h",
            param_hint="--window",
        )
    return seconds


@click.group()
def monitor() -> None:
    """The guarantees monitor: every product measured against its promises."""


@monitor.command()
@click.option(
    "--window",
    default=None,
    help="The sliding window guarantees are judged over (e.g. 30s, 5m, 1h) "
    "[default: monitor.window_s setting, 5m].",
)
@click.option(
    "--publish-every",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Seconds between published observations and checkpoints "
    "[default: monitor.publish_every_s setting, 10].",
)
@click.option(
    "--catalog-every",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Seconds between reads of the catalog for new and retired products "
    "[default: monitor.catalog_every_s setting, 10].",
)
@click.option(
    "--only",
    multiple=True,
    help="Watch only this product topic (e.g. player.play_events.v1); repeatable.",
)
@click.option("--bootstrap-servers", default=None, help="Kafka address [default: settings].")
@click.option("--registry-url", default=None, help="Schema registry URL [default: settings].")
@click.option("--profile", default=None, help="A named settings profile (mesh.toml).")
def run(
    window: str | None,
    publish_every: float | None,
    catalog_every: float | None,
    only: tuple[str, ...],
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
    defaults = settings.monitor
    options = MonitorOptions(
        window_s=defaults.window_s if window is None else _seconds(window),
        publish_every_s=publish_every or defaults.publish_every_s,
        catalog_every_s=catalog_every or defaults.catalog_every_s,
        window_grace_s=defaults.window_grace_s,
        only=frozenset(only) or None,
    )
    summary = run_monitor(settings=settings, options=options)
    click.echo(summary)
