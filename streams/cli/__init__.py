"""The ``mesh`` command line: thin click commands over the library.

Exit codes: 0 ok, 1 failed, 2 usage, 3 broker or registry unreachable (or no platform found).
A :class:`~streams.errors.StreamsError` is printed as one red line on stderr, as is a schema
registry that cannot be reached from any command; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

from typing import Any

import click
import httpx
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streams.cli._context import AS_IDENTITY, registry_unreachable
from streams.cli._output import configure_logging, print_error
from streams.cli.access import access
from streams.cli.agent import agent
from streams.cli.codegen import codegen
from streams.cli.dlq import dlq
from streams.cli.doctor import doctor
from streams.cli.domain import domain
from streams.cli.events import produce, tail
from streams.cli.forget import forget
from streams.cli.guarantees import guarantees_command
from streams.cli.kafka import kafka
from streams.cli.lineage import lineage_command
from streams.cli.monitor import monitor
from streams.cli.platform import down, status, up
from streams.cli.product import product
from streams.cli.query import query_command
from streams.cli.registry import registry
from streams.cli.replay import replay_command
from streams.cli.web import web
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


class _MeshGroup(click.Group):
    """Turns library errors into one line and an exit code."""

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
main.add_command(domain)
main.add_command(access)
main.add_command(forget)
main.add_command(web)
main.add_command(query_command)
