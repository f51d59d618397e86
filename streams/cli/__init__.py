"""The ``mesh`` command line: thin click commands over the library.

Exit codes: 0 ok, 1 failed, 2 usage, 3 broker or registry unreachable. A
:class:`~streams.errors.StreamsError` is printed as one red line on stderr; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

from typing import Any

import click

from streams.cli._output import configure_logging, print_error
from streams.cli.agent import agent
from streams.cli.codegen import codegen
from streams.cli.dlq import dlq
from streams.cli.doctor import doctor
from streams.cli.events import produce, tail
from streams.cli.guarantees import guarantees_command
from streams.cli.kafka import kafka
from streams.cli.lineage import lineage_command
from streams.cli.monitor import monitor
from streams.cli.platform import down, status, up
from streams.cli.product import product
from streams.cli.registry import registry
from streams.cli.replay import replay_command
from streams.errors import BrokerUnavailableError, RegistryUnavailableError, StreamsError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_UNREACHABLE", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


class _MeshGroup(click.Group):
    """Turns library errors into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StreamsError as exc:
            if ctx.params.get("debug"):
                raise
            print_error(str(exc))
            unreachable = isinstance(exc, BrokerUnavailableError | RegistryUnavailableError)
            ctx.exit(EXIT_UNREACHABLE if unreachable else EXIT_FAILED)


@click.group(cls=_MeshGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Verbose logs and full tracebacks.")
@click.version_option(package_name="streams", prog_name="mesh")
def main(debug: bool) -> None:
    """Mesh: a streaming-first data mesh on Kafka."""
    configure_logging(debug=debug)


main.add_command(up)
main.add_command(down)
main.add_command(status)
main.add_command(kafka)
main.add_command(registry)
main.add_command(product)
main.add_command(codegen)
main.add_command(doctor)
main.add_command(produce)
main.add_command(tail)
main.add_command(dlq)
main.add_command(agent)
main.add_command(replay_command)
main.add_command(lineage_command)
main.add_command(guarantees_command)
main.add_command(monitor)
