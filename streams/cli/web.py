"""``mesh web``: the read-only web catalog (``mesh up`` starts it too)."""

from __future__ import annotations

import click

from streams.cli._context import connection_settings
from streams.web import serve

__all__ = ["web"]


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8090, show_default=True, help="Port."
)
@click.option(
    "--refresh",
    type=click.FloatRange(min=0.5),
    default=5.0,
    show_default=True,
    help="Seconds between two reads of the catalog, observations, lineage and grants.",
)
@click.option("--bootstrap-servers", default=None, help="Kafka address [default: settings].")
@click.option("--registry-url", default=None, help="Schema registry URL [default: settings].")
@click.option("--profile", default=None, help="A named settings profile (mesh.toml).")
def web(
    host: str,
    port: int,
    refresh: float,
    bootstrap_servers: str | None,
    registry_url: str | None,
    profile: str | None,
) -> None:
    """Serve the catalog as web pages (and JSON under /api) until Ctrl-C or SIGTERM.

    Products with search and filters, each product's schema, guarantees and their last 24
    hours, grants and dead letters, and the lineage graph; it works offline (no CDN).
    """
    settings = connection_settings(
        bootstrap_servers=bootstrap_servers, registry_url=registry_url, profile=profile
    )
    serve(settings, host=host, port=port, refresh_s=refresh)
