"""The reading loop of ``mesh tail``: a product, its late records or its dead letters."""

from __future__ import annotations

import base64
import datetime
import sys
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

import click
import orjson
from confluent_kafka.admin import AdminClient

from streams.catalog import Catalog
from streams.config import Settings
from streams.errors import ConfigError
from streams.kafka import Consumer, Event
from streams.kafka.client import build_client
from streams.kafka.sidetopic import DeadLetter, DeadLetterConsumer, SideDirectory
from streams.kafka.topics import topic_names
from streams.kafka.viewer import Undecodable, ViewConsumer
from streams.naming import ProductRef, dlq_topic, late_topic, parse_product

__all__ = ["Side", "dead_letter_json", "dead_letter_text", "preview", "read", "side_of"]

Side = Literal["late", "dead-letters", "late-dead-letters"]
"""Which side topic of a product: ``<topic>.late``, ``<topic>.dlq`` or ``<topic>.late.dlq``."""

_SIDE_TOPICS: dict[Side, Callable[[str], str]] = {
    "late": late_topic,
    "dead-letters": dlq_topic,
    "late-dead-letters": lambda topic: dlq_topic(late_topic(topic)),
}
# Longest first: `.late.dlq` also ends in `.dlq`.
_SUFFIXES: tuple[tuple[str, Side], ...] = (
    (dlq_topic(late_topic("")), "late-dead-letters"),
    (late_topic(""), "late"),
    (dlq_topic(""), "dead-letters"),
)

Printer = Callable[[Event[Any]], bytes | None]


def side_of(name: str, side: Side | None) -> tuple[str, Side | None]:
    """The product and side topic a ``mesh tail`` argument names.

    A user copies topic names from log lines (`dead letters of X go to X.dlq`), so a side
    topic's own name reads that side topic: ``X.v1.late``, ``X.v1.dlq``, ``X.v1.late.dlq``.
    A name that is a product's is always the product's; ``X.v1.late --dead-letters`` is
    ``X.v1.late.dlq`` (what the dead-letter warnings of ``mesh tail X --late`` suggest).

    Raises:
        click.UsageError: A side topic's name together with a flag for another side.
    """
    try:
        parse_product(name)
        return name, side
    except ConfigError:
        pass
    for suffix, named in _SUFFIXES:
        rest = name.removesuffix(suffix)
        if rest == name:
            continue
        try:
            parse_product(rest)
        except ConfigError:
            return name, side  # not a product's side topic: parse_product's error says why
        if named == "late" and side == "dead-letters":
            return rest, "late-dead-letters"  # the dead letters of the late topic: <topic>.dlq
        if side is not None and side != named:
            raise click.UsageError(
                f"{name} is a side topic's name already: read it with `mesh tail {name}` "
                "(without --late or --dead-letters)"
            )
        return rest, named
    return name, side


def read(
    product: str,
    ref: ProductRef,
    *,
    side: Side | None,
    settings: Settings,
    directory: Catalog | None,
    from_beginning: bool,
    follow: bool,
    limit: int | None,
    idle_timeout: float | None,
    printer: Printer,
    notice: Callable[[str], Any],
) -> None:
    """Print events until ``limit``, the end of the topic (unless ``follow``), or idleness.

    Read-only: no group (nobody's offsets move, no join to wait for), no dead letters; a
    message that cannot be decoded is shown by ``notice`` with its error, where it is.
    """
    consumer: Consumer
    if side is None:
        # Tombstones are shown (as null values), like every other message.
        consumer = ViewConsumer(
            product,
            group_id=None,
            tombstones=True,
            settings=settings,
            from_beginning=from_beginning,
            directory=directory,
        )
    else:
        sides = SideDirectory(directory, _SIDE_TOPICS[side])
        status = sides.resolve(ref)
        if status is not None:
            missing = _missing(status.topic, ref, side, settings, directory)
            if missing is not None:
                click.echo(missing, err=True)  # a normal state, not an error: exit 0
                return
        kind = ViewConsumer if side == "late" else DeadLetterConsumer
        consumer = kind(
            product,
            group_id=None,
            tombstones=True,
            settings=settings,
            from_beginning=from_beginning,
            directory=sides,
        )
    with consumer:
        shown = _Shown(printer, notice)
        _loop(consumer, follow=follow, limit=limit, idle_timeout=idle_timeout, shown=shown)
    if shown.undecodable:
        notice(
            f"{shown.undecodable} of {shown.count} records could not be decoded (shown above, "
            f"left where they are: a viewer moves nothing); consumers of {consumer.topics[0]} "
            f"move such records to {dlq_topic(consumer.topics[0])}"
        )
    elif not shown.count and side in ("dead-letters", "late-dead-letters"):
        notice(f"no dead letters: {consumer.topics[0]} is empty")


class _Shown:
    """Prints events, and counts them and the undecodable ones."""

    def __init__(self, printer: Printer, notice: Callable[[str], Any]) -> None:
        self.printer = printer
        self.notice = notice
        self.count = 0
        self.undecodable = 0

    def show(self, event: Event[Any]) -> None:
        self.count += 1
        value = event.value
        if isinstance(value, Undecodable):
            self.undecodable += 1
            sys.stdout.buffer.flush()  # keep stdout and stderr in topic order
            self.notice(
                f"cannot decode {value.error} (reason {value.reason}); key: {preview(event.key)}, "
                f"value: {preview(value.value)}"
            )
            return
        line = self.printer(event)
        if line is not None:
            sys.stdout.buffer.write(line + b"\n")


class _Reader(Protocol):
    """What the loop needs of a consumer."""

    @property
    def at_end(self) -> bool: ...

    def consume(self, max_events: int = 500, timeout: float = 1.0) -> list[Event[Any]]: ...


def _loop(
    consumer: _Reader,
    *,
    follow: bool,
    limit: int | None,
    idle_timeout: float | None,
    shown: _Shown,
) -> None:
    # The idle clock starts at the first answer (an event, or the end of every partition):
    # connecting and the first fetch are not idleness (with --idle-timeout 3 tail used to stop
    # before a broker slow to answer had sent anything).
    idle_since: float | None = None
    while limit is None or shown.count < limit:
        wanted = 500 if limit is None else min(500, limit - shown.count)
        events = consumer.consume(wanted, timeout=0.5)
        if not events:
            if not follow and consumer.at_end:
                break
            if idle_since is None:
                idle_since = time.monotonic() if consumer.at_end else None
            elif idle_timeout is not None and time.monotonic() - idle_since > idle_timeout:
                break
            continue
        idle_since = time.monotonic()
        for event in events:
            shown.show(event)
        sys.stdout.buffer.flush()


def _missing(
    topic: str, ref: ProductRef, side: Side, settings: Settings, directory: Catalog | None
) -> str | None:
    """What to tell the user when the side topic was never created (None when it exists)."""
    kafka = settings.kafka
    admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
    if topic in topic_names(admin, bootstrap=kafka.bootstrap_servers, timeout_s=10):
        return None
    if side == "dead-letters":
        return (
            f"no dead letters yet (topic {topic} does not exist): a consumer creates it when it "
            f"first meets a message of {ref.topic} it cannot decode"
        )
    if side == "late-dead-letters":
        return (
            f"no dead letters of late events yet (topic {topic} does not exist): `mesh tail "
            f"{ref.id}.v{ref.major} --late` creates it when it meets a late record it cannot decode"
        )
    hint = ""
    entry = None if directory is None else directory.entries.get(ref.topic)
    inputs = [] if entry is None else [port.ref for port in entry.product.input_ports]
    if inputs:
        hint = (
            f"; {ref.id} is derived: its agents put the late events of its inputs on the inputs' "
            f".late topics, read them with "
            + " or ".join(f"`mesh tail {i.id}.v{i.major} --late`" for i in inputs)
        )
    return (
        f"no late events yet (topic {topic} does not exist): a derived product's agent creates "
        f"it when it first finds an event of {ref.topic} later than its window" + hint
    )


def dead_letter_text(event: Event[Any]) -> bytes:
    """A dead letter as a few readable lines: where it is, where it came from, why."""
    letter: DeadLetter = event.value
    origin = (
        f"{letter.original_topic}[{letter.original_partition}]@{letter.original_offset}"
        if letter.original_topic is not None
        else "an unknown origin (no dlq.original.* headers)"
    )
    when = _when(letter.original_timestamp_ms)
    lines = [
        f"{event.topic}[{event.partition}]@{event.offset} from {origin}"
        + (f" (written {when})" if when else ""),
        f"  reason: {letter.reason}",
        f"  error: {letter.error}",
        f"  key: {preview(letter.key)}",
        f"  value: {preview(letter.value)}",
    ]
    if letter.headers:
        shown = ", ".join(f"{k}={preview(v)}" for k, v in letter.headers.items())
        lines.append(f"  headers: {shown}")
    return "\n".join(lines).encode()


def dead_letter_json(event: Event[Any]) -> bytes:
    """A dead letter as one JSON object (bytes as text when printable UTF-8, always as base64)."""
    letter: DeadLetter = event.value
    return orjson.dumps(
        {
            "topic": event.topic,
            "partition": event.partition,
            "offset": event.offset,
            "reason": letter.reason,
            "error": letter.error,
            "original": {
                "topic": letter.original_topic,
                "partition": letter.original_partition,
                "offset": letter.original_offset,
                "timestamp_ms": letter.original_timestamp_ms,
            },
            "key": _utf8(letter.key),
            "key_base64": _b64(letter.key),
            "value": _utf8(letter.value),
            "value_base64": _b64(letter.value),
            "headers": {k: _utf8(v) for k, v in letter.headers.items()},
        }
    )


def _when(ms: int | None) -> str | None:
    if ms is None or ms <= 0:
        return None
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds")


def _utf8(raw: bytes | None) -> str | None:
    """The bytes as text when they are UTF-8 without control characters (Avro bytes are not)."""
    try:
        text = None if raw is None else raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text is None or not text.replace("\n", "").replace("\t", "").isprintable():
        return None
    return text


def _b64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode("ascii")


def preview(raw: bytes | None, limit: int = 64) -> str:
    """Text when the bytes are printable UTF-8, else hex (long values cut, with their length)."""
    if raw is None:
        return "null"
    text = _utf8(raw)
    if text is not None:
        if len(text) > 4 * limit:
            text = f"{text[: 4 * limit]}… ({len(raw)} bytes)"
        return orjson.dumps(text).decode() if "\n" in text or "\t" in text else text
    cut = raw[:limit].hex(" ")
    return f"0x {cut}{'…' if len(raw) > limit else ''} ({len(raw)} bytes)"
