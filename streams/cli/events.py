"""``mesh produce`` and ``mesh tail``: poke at any product from a shell, as JSON lines."""

from __future__ import annotations

import datetime
import decimal
import difflib
import json
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

import click
import orjson
from confluent_kafka.admin import AdminClient

from streams.avro import parse_schema
from streams.avro.json_values import from_json
from streams.catalog import Catalog, CatalogStore
from streams.cli._context import connection_settings
from streams.cli._output import output_option
from streams.cli._tail import Side, dead_letter_json, dead_letter_text, read, side_of
from streams.cli.product_catalog import version_option
from streams.config import Settings
from streams.errors import ConfigError, DeliveryError, StreamsError
from streams.kafka import Event, Producer
from streams.kafka.client import build_client
from streams.kafka.schemas import SchemaSource
from streams.kafka.topics import topic_names
from streams.naming import ProductRef, parse_product

__all__ = ["ResolvedProduct", "json_default", "produce", "resolve_product", "tail"]

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
    (e.g. user_id), unless --key-field names another.

    Timestamps (timestamp-millis/micros fields) are epoch milliseconds (microseconds) or
    ISO 8601 times with a zone (2026-01-02T03:00:00.123Z, ...+02:00); dates and times are ISO
    8601, decimals and bytes text: what `mesh tail` prints, so its output can be sent again.

    Stops at the first bad line, naming it and saying which lines were sent (those before it)
    and which were not (it and every line after it).
    """
    settings = connection_settings(bootstrap_servers=bootstrap_servers, registry_url=registry_url)
    name = "stdin" if source is getattr(sys.stdin, "buffer", sys.stdin) else source.name
    target = resolve_product(product, settings, version=version)
    convert = _converter(target.ref, settings)
    catalog = target.catalog or Catalog({})  # the descriptor's key field keys the events
    lines = _Lines(name)
    with Producer(settings=settings, domain=domain, directory=catalog) as producer:
        try:
            for number, raw in enumerate(source, 1):
                lines.number = number
                event = _event(name, number, raw)
                if event is None:
                    continue
                key = event.get(key_field) if key_field else None
                if key_field and key is None:
                    raise ConfigError(
                        f"{name}:{number}: the event has no {key_field!r} for the key"
                    )
                producer.emit(target.ref, convert(event), key=None if key is None else str(key))
                lines.sent(number)
        except StreamsError as exc:
            lines.stopped(exc, producer)
            raise
    plural = "" if producer.sent == 1 else "s"
    click.echo(f"sent {producer.sent} event{plural} to {target.name}", err=True)


def _event(name: str, number: int, raw: bytes) -> dict[str, Any] | None:
    """The event on one line; None for a blank line.

    Raises:
        ConfigError: The line is not UTF-8, not JSON, or not a JSON object (names the line).
    """
    # Read as bytes and decoded line by line, so invalid UTF-8 is reported with its line.
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{name}:{number}: not valid UTF-8 (byte {raw[exc.start]:#04x} at column "
            f"{exc.start + 1}); write the events as UTF-8 JSON lines"
        ) from exc
    if not line.strip():
        return None
    try:
        # The standard parser keeps integers beyond 64 bits exact (orjson makes them floats,
        # so errors showed 1.18e+21 for 2**70); NaN and Infinity stay refused.
        event = json.loads(line, parse_constant=_not_json)
    except ValueError as exc:
        raise ConfigError(
            f"{name}:{number}: not valid JSON ({exc}); write one JSON object per line"
        ) from exc
    if not isinstance(event, dict):
        raise ConfigError(f"{name}:{number}: expected a JSON object, got {line.strip()!r}")
    return event


class _Lines:
    """Which input lines were sent, for the error that stops ``mesh produce``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.number = 0
        self.first: int | None = None
        self.last = 0
        self.events = 0

    def sent(self, number: int) -> None:
        self.first = number if self.first is None else self.first
        self.last = number
        self.events += 1

    def stopped(self, exc: StreamsError, producer: Producer) -> None:
        """Lead ``exc``'s message by the line it stopped at and follow it by what was sent and
        what was not (its class and attributes stay); the events before it are flushed first,
        so "sent" means Kafka acknowledged them."""
        text = str(exc).removesuffix(" Nothing was sent.").rstrip(".")
        where = f"{self.name}:{self.number}: "
        if not text.startswith(where):
            text = where + text
        rest = f"line {self.number} and every line after it"
        if self.first is None:
            text += f". Nothing was sent: {rest} were not."
        else:
            lines = f"line {self.first}" if self.first == self.last else f"lines {self.first}-"
            lines += "" if self.first == self.last else str(self.last)
            plural = "" if self.events == 1 else "s"
            try:
                producer.flush()
                delivered = ""
            except DeliveryError as failed:
                delivered = f", but {failed.undelivered} of them were not delivered: {failed}"
            text += f". Sent {lines} ({self.events} event{plural}){delivered}. Not sent: {rest}."
        exc.args = (text, *exc.args[1:])


def _converter(ref: ProductRef, settings: Settings) -> Callable[[dict[str, Any]], Any]:
    """Turns a JSON event into the codec's values per the product's latest schema (ISO 8601
    timestamps into datetimes, ...; see :mod:`streams.avro.json_values`)."""
    schemas = SchemaSource.from_settings(settings.registry)
    try:
        schema_id, _ = schemas.latest(ref.subject)
        writer, references = schemas.writer(schema_id)
    finally:
        schemas.close()
    parsed = parse_schema(writer, references)
    return lambda event: from_json(event, parsed)


@dataclass(frozen=True, slots=True)
class ResolvedProduct:
    """A product named on the command line, resolved.

    Attributes:
        name: The name as the output shows it.
        ref: The product version to use.
        catalog: The published catalog when it lists the product; None when the product is used
            by the naming convention alone (its topic exists, its descriptor is not published).
    """

    name: str
    ref: ProductRef
    catalog: Catalog | None


def resolve_product(
    product: str, settings: Settings, *, version: int | None = None
) -> ResolvedProduct:
    """The one place ``mesh produce`` and ``mesh tail`` resolve a product name: through the
    catalog's resolver (:meth:`Catalog.pick`: unversioned, the latest active major version).

    Raises:
        ConfigError: The name is malformed, names a version that is not published, or neither
            the catalog nor Kafka knows it (the message lists close matches from both).
    """
    with CatalogStore(settings=settings) as store:
        catalog = Catalog.from_store(store)
    ref = catalog.pick(product, version=version)
    if catalog.resolve(ref) is not None:
        return ResolvedProduct(ref.topic, ref, catalog)  # the output names the version
    kafka = settings.kafka
    admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
    topics = topic_names(admin, bootstrap=kafka.bootstrap_servers, timeout_s=10)
    if ref.topic not in topics:
        raise ConfigError(_unknown(product, ref, catalog, topics))
    return ResolvedProduct(product, ref, None)


def _unknown(product: str, ref: ProductRef, catalog: Catalog, topics: Iterable[str]) -> str:
    """No such product: which names come close, from the catalog and the topics."""
    versioned = product.count(".") == 2  # parse_product accepted it: the third part is v<N>
    refs = [entry.product.ref for entry in catalog]
    for topic in topics:
        try:
            found = parse_product(topic)
        except ConfigError:
            continue  # not a product's topic (internal, side topics, ...)
        if found.topic == topic:
            refs.append(found)
    names = sorted({found.topic if versioned else found.id for found in refs})
    close = difflib.get_close_matches(ref.topic if versioned else ref.id, names, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return (
        f"no product {product} (not in the catalog, and topic {ref.topic} does not exist): "
        f"{hint}See `mesh product list`, or publish it with `mesh product apply`"
    )


def json_default(value: Any) -> Any:
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
        return orjson.dumps(record, default=json_default, option=orjson.OPT_NON_STR_KEYS)
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
    help="Stop after this many seconds without events, counted from the first fetch "
    "[default: no limit].",
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
    fewer if the topic ends before; without --max it prints every event. The product is resolved
    through the catalog (a deprecated one is flagged, a retired one read with a note: what its
    topic retains; an unknown one refused at once with close names). Read-only: tail joins no
    consumer group and writes nothing; a message it cannot decode is shown on stderr with its
    error, where it is. --idle-timeout counts from the broker's first answer, not from start-up.

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
    printer: Callable[[Event[Any]], bytes | None]
    if side in ("dead-letters", "late-dead-letters"):
        printer = dead_letter_json if output == "json" else dead_letter_text
    else:

        def printer(event: Event[Any]) -> bytes | None:
            return json_line(event, metadata=metadata, notice=_notice)

    target = resolve_product(product, settings, version=version)
    status = None if target.catalog is None else target.catalog.resolve(target.ref)
    if side is None and status is not None and status.status == "retired":
        # Retirement stops producing; the history the topic retains stays readable.
        click.echo(
            f"{target.ref.topic} is retired"
            + (f": {status.note}" if status.note else "")
            + (f"; replaced by {status.replaced_by}" if status.replaced_by else "")
            + "; reading its retained history",
            err=True,
        )
    elif target.catalog is not None and target.ref.topic != product:
        click.echo(f"reading {target.ref.topic}", err=True)  # name the version used
    if target.catalog is None:
        click.echo(
            f"note: {product} is not in the catalog (mesh product apply publishes it); "
            f"reading {target.ref.topic} by the naming convention",
            err=True,
        )
    start = from_beginning or side is not None
    read(
        target.name,
        target.ref,
        side=side,
        settings=settings,
        directory=target.catalog,
        from_beginning=start,
        follow=not start if follow is None else follow,
        limit=limit,
        idle_timeout=idle_timeout,
        printer=printer,
        notice=_notice,
    )
