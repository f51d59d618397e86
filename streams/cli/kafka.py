"""``mesh kafka fetch``: the Apache Kafka jars that ``mesh up --broker kafka`` runs."""

from __future__ import annotations

import os
from pathlib import Path

import click

from streams import local
from streams.cli._output import err_console, out_console
from streams.cli.platform import local_settings

__all__ = ["kafka"]


@click.group()
def kafka() -> None:
    """Apache Kafka as the local broker (`mesh up --broker kafka`)."""


@kafka.command()
@click.option(
    "--version",
    "version",
    default=None,
    help="Apache Kafka version [default: local.kafka_version setting, 4.4.0].",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Cache root; jars land in <cache-dir>/<version>/libs "
    "[default: local.kafka_cache_dir setting, ~/.cache/streams/kafka].",
)
def fetch(version: str | None, cache_dir: Path | None) -> None:
    """Assemble the Apache Kafka jars from Maven Central with `mvn` (once; about 55 MB).

    Prints the libs folder on stdout; progress goes to stderr.
    """
    settings = local_settings(kafka_version=version, kafka_cache_dir=cache_dir)
    console = err_console()
    libs = local.fetch_kafka(
        version=settings.kafka_version,
        cache_dir=settings.kafka_cache_dir,
        env=os.environ,
        progress=lambda line: console.print(line, highlight=False),
    )
    out_console().print(str(libs), highlight=False, soft_wrap=True)
