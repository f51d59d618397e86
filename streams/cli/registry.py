"""``mesh registry ...``: run the schema registry server."""

from __future__ import annotations

import click

from streams.cli._context import cli_settings

__all__ = ["registry"]


@click.group()
def registry() -> None:
    """The Confluent-compatible schema registry."""


@registry.command()
@click.option(
    "--profile",
    default=None,
    help="A [profiles.NAME] table of ./mesh.toml or "
    "~/.config/streams/profiles.toml (env vars and .env still override it).",
)
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
    "[default: registry.advertised_url setting, else http://HOST:PORT].",
)
def serve(
    profile: str | None,
    host: str,
    port: int,
    bootstrap_servers: str | None,
    topic: str | None,
    advertised_url: str | None,
) -> None:
    """Serve the registry until SIGTERM or Ctrl-C.

    Kafka is reached with the whole `kafka` settings (STREAMS_KAFKA__SECURITY_PROTOCOL,
    SASL credentials, TLS files, extra), so the registry runs on SASL/TLS clusters too.
    Several instances may serve one topic: one is elected primary and writes, the others answer
    reads and forward writes to it. With registry.auth (the default) every request needs
    credentials and the registry runs as the admin (STREAMS_IDENTITY__FILE = the admin's
    credential); STREAMS_REGISTRY__AUTH=false turns that off.
    """
    # Imported here so `mesh --help` works whatever state the registry package is in.
    from streams.registry import serve as serve_registry

    settings = cli_settings(profile=profile)
    kafka = settings.kafka
    if bootstrap_servers:
        kafka = kafka.model_copy(update={"bootstrap_servers": bootstrap_servers})
    serve_registry(
        host=host,
        port=port,
        kafka=kafka,
        topic=topic or settings.registry.topic,
        advertised_url=advertised_url or settings.registry.advertised_url,
        auth=settings.registry.auth,
        identity=settings.identity.credential(),
        anonymous_reads=settings.registry.anonymous_reads,
        broker_kind=settings.registry.broker_kind,
        keys_dir=settings.registry.keys_dir,
    )
