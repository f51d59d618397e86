"""``mesh produce`` and ``mesh tail``: poke at any product from a shell, as JSON lines."""

from __future__ import annotations

import datetime
import decimal
import json
import sys
import uuid
from collections.abc import Callable
from typing import IO, Any

import click
import orjson

from streams.catalog import Catalog, CatalogStore
from streams.cli._context import connection_settings
from streams.cli._output import output_option
from streams.cli._tail import Side, dead_letter_json, dead_letter_text, read, side_of
from streams.cli.product_catalog import version_option
from streams.config import Settings
from streams.errors import ConfigError, SerializationError
from streams.kafka import Event, Producer
from streams.naming import ProductRef

__all__ = ["produce", "tail"]

_connection = [
    click.option("--bootstrap-servers", default=None, help="Kafka address [default: settings]."),
    click.option("--registry-url", default=None, help="Schema registry URL [default: settings]."),
]


def _with_connection(command: Any) -> Any:
    for option in reversed(_connection):
        command = option(command)
    return command


def _not_json(word: str) -> Any:
    raise ValueError(f"{word} is not a JSON number")


@click.command()
@click.argument("product")
@click.option(
    "--input",
    "source",
    type=click.File("rb"),
    default="-",
    show_default=True,
    help="JSON lines to send, one event per line.",
)
@click.option(
    "--key-field",
    default=None,
    help="Use this field of each event as the message key [default: the descriptor's key].",
)
@click.option("--domain", default=None, help="Your domain: refuses products of other domains.")
@version_option
@_with_connection
def produce(
    product: str,
    source: IO[bytes],
    key_field: str | None,
    domain: str | None,
    version: int | None,
    bootstrap_servers: str | None,
    registry_url: str | None,
) -> None:
    """Send JSON-lines events to PRODUCT as Avro.

    One JSON object per line, from stdin or --input, e.g. `mesh produce player.play_events`.
    Each event is keyed by its value of the key field of the product's published descriptor
    (e.g. user_id), unless --key-field names another. Stops at the first bad line, naming it
    (events before it are sent).
    """
    settings = connection_settings(bootstrap_servers=bootstrap_servers, registry_url=registry_url)
    name = "stdin" if source is getattr(sys.stdin, "buffer", sys.stdin) else source.name
    catalog = _catalog(settings)  # the descriptor's key field keys the events
    ref = catalog.pick(product, version=version)  # unversioned: the latest active version
    with Producer(settings=settings, domain=domain, directory=catalog) as producer:
        # Read as bytes and decode line by line, so invalid UTF-8 is reported with its line.
        for number, raw in enumerate(source, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ConfigError(
                    f"{name}:{number}: not valid UTF-8 (byte {raw[exc.start]:#04x} at column "
                    f"{exc.start + 1}); write the events as UTF-8 JSON lines"
                ) from exc
            if not line.strip():
                continue
            try:
                # The standard parser keeps integers beyond 64 bits exact (orjson makes them
                # floats, so errors showed 1.18e+21 for 2**70); NaN and Infinity stay refused.
                event = json.loads(line, parse_constant=_not_json)
            except ValueError as exc:
                raise ConfigError(
                    f"{name}:{number}: not valid JSON ({exc}); write one JSON object per line"
                ) from exc
            if not isinstance(event, dict):
                raise ConfigError(f"{name}:{number}: expected a JSON object, got {line.strip()!r}")
            key = event.get(key_field) if key_field else None
            if key_field and key is None:
                raise ConfigError(f"{name}:{number}: the event has no {key_field!r} for the key")
            try:
                producer.emit(ref, event, key=None if key is None else str(key))
            except SerializationError as exc:
                raise SerializationError(
                    f"{name}:{number}: {exc}",
                    product=exc.product,
                    path=exc.path,
                    expected=exc.expected,
                    value=exc.value,
                ) from exc
    plural = "" if producer.sent == 1 else "s"
    click.echo(f"sent {producer.sent} event{plural} to {ref.topic}", err=True)


def _catalog(settings: Settings) -> Catalog:
    """The published catalog (empty when nothing was published yet)."""
    with CatalogStore(settings=settings) as store:
        return Catalog(store.read())


def _directory(product: str, ref: ProductRef, catalog: Catalog) -> Catalog | None:
    """The catalog, when it lists ``ref``; otherwise None (read by naming convention)."""
    if catalog.resolve(ref) is None:
        click.echo(
            f"note: {product} is not in the catalog (mesh product apply publishes it); "
            f"reading {ref.topic} by the naming convention",
            err=True,
        )
        return None
    return catalog


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    raise TypeError(type(value).__name__)


def json_line(event: Event[Any], *, metadata: bool, notice: Callable[[str], Any]) -> bytes | None:
    """One event as a JSON line; None (after a notice naming it) when it cannot be printed.

    A viewer must not die on one event: orjson refuses values nested deeper than 255 levels
    (and values of types it cannot write), so such an event is named and skipped.
    """
    record: Any = event.value
    if metadata:
        record = {
            "topic": event.topic,
            "partition": event.partition,
            "offset": event.offset,
            "key": event.key,
            "headers": event.headers,
            "value": event.value,
        }
    try:
        return orjson.dumps(record, default=_json_default, option=orjson.OPT_NON_STR_KEYS)
    except TypeError as exc:
        why = "nested too deeply" if "recursion" in str(exc).lower() else str(exc)
        notice(
            f"{event.topic} partition {event.partition} offset {event.offset}: "
            f"cannot print as JSON: {why}"
        )
        return None


def _notice(text: str) -> None:
    sys.stdout.buffer.flush()  # keep stdout and stderr in event order
    click.echo(text, err=True)


@click.command()
@click.argument("product")
@click.option(
    "--late",
    is_flag=True,
    help="Read PRODUCT's late records (<topic>.late): its events a derived product's window had "
    "already closed for, decoded like PRODUCT; --metadata shows which product refused each.",
)
@click.option(
    "--dead-letters",
    is_flag=True,
    help="Read PRODUCT's dead letters (<topic>.dlq): messages no consumer could decode, with "
    "their reason, error and original topic/partition/offset.",
)
@click.option(
    "--from-beginning",
    is_flag=True,
    help="Start at the earliest event (always so with --late and --dead-letters).",
)
@click.option(
    "--follow/--no-follow",
    default=None,
    help="Wait for new events after the end of the topic [default: follow only when reading "
    "new events, i.e. without --from-beginning, --late or --dead-letters].",
)
@click.option(
    "--max", "limit", type=click.IntRange(min=1), default=None, help="Stop after N events."
)
@click.option(
    "--idle-timeout",
    type=float,
    default=None,
    help="Stop after this many seconds without events [default: no limit].",
)
@click.option("--metadata", is_flag=True, help="Wrap each event with topic, offset, key, headers.")
@version_option
@output_option
@_with_connection
def tail(
    product: str,
    late: bool,
    dead_letters: bool,
    from_beginning: bool,
    follow: bool | None,
    limit: int | None,
    idle_timeout: float | None,
    metadata: bool,
    version: int | None,
    output: str,
    bootstrap_servers: str | None,
    registry_url: str | None,
) -> None:
    """Print PRODUCT's events as JSON lines.

    E.g. `mesh tail player.play_events --from-beginning --max 10` prints the first 10 events, or
    fewer if the topic ends before. The product is resolved through the catalog (a deprecated one
    is flagged, a retired one refused). Undecodable messages are moved to the product's
    dead-letter topic and counted on stderr.

    Side topics: `mesh tail player.play_events --late` prints the late records of
    player.play_events (on player.play_events.v1.late), `mesh tail player.play_events
    --dead-letters` its dead letters (on player.play_events.v1.dlq), as readable text or, with
    --output json, one JSON object each. A side topic's own name reads it too
    (`mesh tail player.play_events.v1.late`), and so `mesh tail player.play_events.v1.late.dlq`
    reads the late records that `--late` could not decode. A side topic that does not exist
    yet means nothing went there: tail says so and exits 0.
    """
    if late and dead_letters:
        raise click.UsageError("pass --late or --dead-letters, not both (they are two topics)")
    side: Side | None = "late" if late else "dead-letters" if dead_letters else None
    product, side = side_of(product, side)
    settings = connection_settings(bootstrap_servers=bootstrap_servers, registry_url=registry_url)
    catalog = _catalog(settings)
    ref = catalog.pick(product, version=version)  # unversioned: the latest active version
    directory = _directory(product, ref, catalog)
    if directory is not None and ref.topic != product:
        click.echo(f"reading {ref.topic}", err=True)  # name the version used
    product = ref.topic
    printer: Callable[[Event[Any]], bytes | None]
    if side in ("dead-letters", "late-dead-letters"):
        printer = dead_letter_json if output == "json" else dead_letter_text
    else:

        def printer(event: Event[Any]) -> bytes | None:
            return json_line(event, metadata=metadata, notice=_notice)

    start = from_beginning or side is not None
    read(
        product,
        ref,
        side=side,
        settings=settings,
        directory=directory,
        from_beginning=start,
        follow=not start if follow is None else follow,
        limit=limit,
        idle_timeout=idle_timeout,
        printer=printer,
    )
