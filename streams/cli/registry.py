"""``mesh registry ...``: run the schema registry server."""

from __future__ import annotations

import click

from streams.config import Settings

__all__ = ["registry"]


@click.group()
def registry() -> None:
    """The Confluent-compatible schema registry."""


@registry.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8081, show_default=True)
@click.option(
    "--bootstrap-servers",
    default=None,
    help="Kafka that stores the schemas [default: kafka.bootstrap_servers setting].",
)
@click.option(
    "--topic", default=None, help="Topic storing the schemas [default: registry.topic setting]."
)
@click.option(
    "--advertised-url",
    default=None,
    envvar="STREAMS_REGISTRY_ADVERTISED_URL",
    help="URL other registry instances forward writes to when this one is the primary "
    "[default: http://HOST:PORT].",
)
def serve(
    host: str,
    port: int,
    bootstrap_servers: str | None,
    topic: str | None,
    advertised_url: str | None,
) -> None:
    """Serve the registry until SIGTERM or Ctrl-C.

    Several instances may serve one topic: one is elected primary and writes, the others answer
    reads and forward writes to it.
    """
    # Imported here so `mesh --help` works whatever state the registry package is in.
    from streams.registry import serve as serve_registry

    settings = Settings()
    serve_registry(
        host=host,
        port=port,
        bootstrap_servers=bootstrap_servers or settings.kafka.bootstrap_servers,
        topic=topic or settings.registry.topic,
        advertised_url=advertised_url,
    )
