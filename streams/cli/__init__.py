"""The ``mesh`` command line: thin click commands over the library.

Exit codes: 0 ok, 1 failed, 2 usage, 3 broker or registry unreachable (or no platform found).
A :class:`~streams.errors.StreamsError` is printed as one red line on stderr, as is a schema
registry that cannot be reached from any command; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
from typing import Any

import click
import httpx
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streams.cli._context import AS_IDENTITY, registry_unreachable
from streams.cli._output import configure_logging, print_error
from streams.errors import (
    BrokerUnavailableError,
    PlatformNotRunningError,
    RegistryUnavailableError,
    StreamsError,
)

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_UNREACHABLE", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


# confluent-kafka's registry client uses httpx2 when installed, else httpx.
_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (httpx.TransportError,)
try:
    import httpx2

    _TRANSPORT_ERRORS += (httpx2.TransportError,)
except ImportError:  # pragma: no cover - depends on confluent-kafka's choice
    pass

_REGISTRY_ERRORS: tuple[type[Exception], ...] = (*_TRANSPORT_ERRORS, SchemaRegistryError)
_UNREACHABLE = (BrokerUnavailableError, RegistryUnavailableError, PlatformNotRunningError)


def _registry_unreachable(exc: Exception) -> str:
    """One line for a registry request that never got an answer (connection refused, ...)."""
    try:
        url = f"{exc.request.url.scheme}://{exc.request.url.netloc.decode()}"  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        url = "registry.url"
    return registry_unreachable(url, str(exc) or type(exc).__name__)


# Each command's module, imported when the command runs (or --help lists them): `mesh tail`
# and the services `mesh up` starts (registry serve, monitor run, web) do not import the code
# of every other command. Importing them all cost about 0.9 s of CPU at every start.
_COMMANDS = {
    "up": "streams.cli.platform:up",
    "down": "streams.cli.platform:down",
    "status": "streams.cli.platform:status",
    "kafka": "streams.cli.kafka:kafka",
    "registry": "streams.cli.registry:registry",
    "product": "streams.cli.product:product",
    "codegen": "streams.cli.codegen:codegen",
    "doctor": "streams.cli.doctor:doctor",
    "produce": "streams.cli.events:produce",
    "tail": "streams.cli.events:tail",
    "dlq": "streams.cli.dlq:dlq",
    "agent": "streams.cli.agent:agent",
    "replay": "streams.cli.replay:replay_command",
    "lineage": "streams.cli.lineage:lineage_command",
    "guarantees": "streams.cli.guarantees:guarantees_command",
    "monitor": "streams.cli.monitor:monitor",
    "domain": "streams.cli.domain:domain",
    "access": "streams.cli.access:access",
    "forget": "streams.cli.forget:forget",
    "web": "streams.cli.web:web",
    "query": "streams.cli.query:query_command",
}


class _MeshGroup(click.Group):
    """Loads each command when it is used, and turns library errors into one line and an exit
    code (click's documented pattern for lazily loaded subcommands)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in _COMMANDS:
            return found
        module, _, name = _COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), name)
        if not isinstance(command, click.Command) or command.name != cmd_name:
            raise RuntimeError(f"{_COMMANDS[cmd_name]} is not the command {cmd_name!r}")
        self.add_command(command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StreamsError as exc:
            if ctx.params.get("debug"):
                raise
            print_error(str(exc))
            ctx.exit(EXIT_UNREACHABLE if isinstance(exc, _UNREACHABLE) else EXIT_FAILED)
        except _REGISTRY_ERRORS as exc:
            # Registry calls the library makes through confluent-kafka's client: a transport
            # error (or the client's wrapping of one) means the registry did not answer.
            if ctx.params.get("debug") or not _is_unreachable(exc):
                raise
            print_error(_registry_unreachable(_cause(exc)))
            ctx.exit(EXIT_UNREACHABLE)


def _cause(exc: BaseException) -> Exception:
    """The transport error behind ``exc`` (itself, or what it was raised from)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _TRANSPORT_ERRORS):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc if isinstance(exc, Exception) else Exception(str(exc))


def _is_unreachable(exc: BaseException) -> bool:
    return isinstance(_cause(exc), _TRANSPORT_ERRORS)


# Long-running services, whose log is what they have to say: INFO on by default.
_SERVICE_GROUPS = frozenset({"registry", "monitor", "agent", "web"})


@click.group(cls=_MeshGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="INFO logs on stderr (off by default, except for the services: registry serve, "
    "monitor run, agent run, web).",
)
@click.option("--debug", is_flag=True, help="DEBUG logs and full tracebacks.")
@click.option(
    "--as",
    "as_identity",
    metavar="NAME",
    default=None,
    help="Act as identity NAME: its credential <state_dir>/credentials/NAME.json (written by "
    "`mesh up` for admin, `mesh domain create NAME` for a domain) [default: "
    "STREAMS_IDENTITY__*, else the local platform's admin].",
)
@click.version_option(package_name="streams", prog_name="mesh")
@click.pass_context
def main(ctx: click.Context, verbose: bool, debug: bool, as_identity: str | None) -> None:
    """Mesh: a streaming-first data mesh on Kafka."""
    ctx.meta[AS_IDENTITY] = as_identity
    service = ctx.invoked_subcommand in _SERVICE_GROUPS
    configure_logging(debug=debug, verbose=verbose or service)
