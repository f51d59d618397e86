"""``mesh dlq show`` and ``mesh dlq redrive``: a product's dead letters, and sending them back."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import click
import orjson

from streams.cli._context import connection_settings
from streams.cli._output import output_option
from streams.cli._tail import preview
from streams.cli.events import json_default, resolve_product
from streams.config import Settings
from streams.errors import ConfigError
from streams.kafka.redrive import (
    Judge,
    Letter,
    RedriveReport,
    Verdict,
    by_origin,
    judge_copies,
    read_letters,
    redrive,
)
from streams.kafka.schemas import SchemaSource
from streams.naming import ProductRef, dlq_topic

__all__ = ["dlq"]

_PREVIEW = 200  # characters of a decoded event shown in text


def _connection(command: Any) -> Any:
    command = click.option(
        "--registry-url", default=None, help="Schema registry URL [default: settings]."
    )(command)
    return click.option(
        "--bootstrap-servers", default=None, help="Kafka address [default: settings]."
    )(command)


_offsets_option = click.option(
    "--offsets",
    default=None,
    metavar="LIST",
    help="Only these dead letters, as PARTITION:OFFSET in the .dlq topic (`mesh dlq show` "
    "prints <topic>.dlq[5]@3 for 5:3), ranges as 5:3-7, several with commas; a bare offset "
    "means partition 0.",
)


@click.group()
def dlq() -> None:
    """Dead letters: the messages consumers could not decode (<topic>.dlq).

    `mesh dlq show PRODUCT` lists them with their error, origin and payload, and whether they
    would be read now; `mesh dlq redrive PRODUCT` sends those back to the product's topic.
    """


def parse_offsets(text: str | None) -> set[tuple[int, int]] | None:
    """``3,5-7,1:4`` as (partition, offset) pairs; None for no selection.

    Raises:
        click.BadParameter: The text is not such a list.
    """
    if text is None:
        return None
    chosen: set[tuple[int, int]] = set()
    for item in text.split(","):
        part, _, span = item.strip().rpartition(":")
        first, _, last = span.partition("-")
        try:
            partition = int(part) if part else 0
            low, high = int(first), int(last or first)
        except ValueError:
            raise click.BadParameter(
                f"{item.strip()!r} is not an offset, a range (5-7) or PARTITION:OFFSET",
                param_hint="--offsets",
            ) from None
        if min(partition, low) < 0 or high < low:
            raise click.BadParameter(
                f"{item.strip()!r}: offsets are >= 0 and a range goes up", param_hint="--offsets"
            )
        chosen |= {(partition, offset) for offset in range(low, high + 1)}
    return chosen


def _letters(
    product: str, offsets: str | None, settings: Settings, *, sending: bool = False
) -> tuple[ProductRef, list[Letter]] | None:
    """The product and its dead letters; None (after saying why on stderr) when there are none.

    Raises:
        ConfigError: ``sending`` to a retired product, or ``offsets`` that match no letter.
    """
    chosen = parse_offsets(offsets)
    target = resolve_product(product, settings)
    ref = target.ref
    status = None if target.catalog is None else target.catalog.resolve(ref)
    if sending and status is not None and status.status == "retired":
        raise ConfigError(
            f"product {ref.topic} is retired: its dead letters cannot be sent back to it; "
            "read them with `mesh dlq show`, and produce what is still needed to "
            f"{status.replaced_by or 'its successor'}"
        )
    letters = read_letters(settings, ref, chosen)
    topic = dlq_topic(ref.topic)
    if letters is None:
        click.echo(
            f"no dead letters yet (topic {topic} does not exist): a consumer creates it when it "
            f"first meets a message of {ref.topic} it cannot decode",
            err=True,
        )
        return None
    if not letters and chosen is not None:
        raise ConfigError(
            f"no dead letters at offsets {offsets} of {topic}; "
            f"list them with `mesh dlq show {product}`"
        )
    if not letters:
        click.echo(f"no dead letters: {topic} is empty", err=True)
        return None
    return ref, letters


@dlq.command("show")
@click.argument("product")
@_offsets_option
@output_option
@_connection
def show(
    product: str,
    offsets: str | None,
    output: str,
    bootstrap_servers: str | None,
    registry_url: str | None,
) -> None:
    """Show PRODUCT's dead letters: where each came from, when, why, and its payload.

    Each is shown with its error, its origin (topic, partition, offset), when it was
    dead-lettered and when the original was written, its key and value (text when printable,
    else hex; the event when it decodes) and whether it would be read now ("now:"): `mesh dlq
    redrive` sends those back. A record that several consumers dead-lettered is shown once, with
    its copies. Read-only; exit 1 when --offsets matches no letter.
    """
    settings = connection_settings(bootstrap_servers=bootstrap_servers, registry_url=registry_url)
    found = _letters(product, offsets, settings)
    if found is None:
        if output == "json":
            click.echo("[]")
        return
    ref, letters = found
    schemas = SchemaSource.from_settings(settings.registry)
    try:
        judge = Judge(ref, schemas)
        judged = [(group, judge_copies(group, judge)[1]) for group in by_origin(letters)]
    finally:
        schemas.close()
    if output == "json":
        shown = [_as_json(group, verdict) for group, verdict in judged]
        click.echo(json.dumps(shown, indent=2, default=json_default))
        return
    for index, (group, verdict) in enumerate(judged):
        click.echo(("\n" if index else "") + _as_text(group, verdict))


def _when(ms: int | None) -> str | None:
    if ms is None or ms <= 0:
        return None
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds")


def _short(letter: Letter) -> str:
    return f"[{letter.partition}]@{letter.offset}"


def _as_text(group: list[Letter], verdict: Verdict) -> str:
    letter = group[0]
    dead = letter.letter
    origin = (
        f"{dead.original_topic}[{dead.original_partition}]@{dead.original_offset}"
        if dead.original_topic is not None
        else "an unknown origin (no dlq.original.* headers)"
    )
    lines = [f"{letter.where} from {origin}"]
    if len(group) > 1:
        shorts = [_short(copy) for copy in group]  # the first line names the .dlq topic
        at = ", ".join(shorts[:-1]) + f" and {shorts[-1]}"
        lines.append(f"  copies: {len(group)}, at {at} (one per reader that met it)")
    times = {"dead-lettered at": letter.timestamp_ms, "originally at": dead.original_timestamp_ms}
    lines += [f"  {label} {_when(ms)}" for label, ms in times.items() if _when(ms)]
    lines += [
        f"  reason: {dead.reason}",
        f"  error: {dead.error}",
        f"  key: {preview(dead.key)}",
        f"  value: {preview(dead.value)}",
    ]
    if dead.headers:
        lines.append(
            "  headers: " + ", ".join(f"{k}={preview(v)}" for k, v in dead.headers.items())
        )
    if verdict.status == "redriven" and letter.redriven is not None:
        lines.append(f"  now: sent back to {letter.redriven.to} at {letter.redriven.at}")
    elif verdict.status == "decodable":
        event = orjson.dumps(verdict.decoded, default=json_default).decode()
        cut = event if len(event) <= _PREVIEW else event[:_PREVIEW] + "…"
        lines.append(f"  now: decodes ({cut}); `mesh dlq redrive` sends it back")
    elif dead.error is not None and dead.error.endswith(verdict.why):
        lines.append("  now: still fails, with the same error")
    else:
        lines.append(f"  now: still fails: {verdict.why}")
    return "\n".join(lines)


def _as_json(group: list[Letter], verdict: Verdict) -> dict[str, Any]:
    letter = group[0]
    dead = letter.letter
    redriven = letter.redriven
    return {
        "dlq": _position(letter),
        "copies": [_position(copy) for copy in group],
        "reason": dead.reason,
        "error": dead.error,
        "original": {
            "topic": dead.original_topic,
            "partition": dead.original_partition,
            "offset": dead.original_offset,
            "timestamp_ms": dead.original_timestamp_ms,
        },
        "key": _text(dead.key),
        "key_base64": _b64(dead.key),
        "value": _text(dead.value),
        "value_base64": _b64(dead.value),
        "value_hex": None if dead.value is None else dead.value.hex(),
        "headers": {k: _text(v) for k, v in dead.headers.items()},
        "now": {
            "status": verdict.status,
            "why": verdict.why or None,
            "decoded": verdict.decoded,
            "redriven_to": None if redriven is None else redriven.to,
            "redriven_at": None if redriven is None else redriven.at,
        },
    }


def _position(letter: Letter) -> dict[str, Any]:
    """Where a dead letter is, and when it was written there."""
    return {
        "topic": letter.topic,
        "partition": letter.partition,
        "offset": letter.offset,
        "timestamp_ms": letter.timestamp_ms,
    }


def _text(raw: bytes | None) -> str | None:
    try:
        return None if raw is None else raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _b64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode("ascii")


@dlq.command("redrive")
@click.argument("product")
@_offsets_option
@click.option(
    "--force",
    is_flag=True,
    help="Also send back letters a consumer refused although they decode (model, "
    "not-keyed-by-<field>): once that consumer is fixed.",
)
@output_option
@_connection
def redrive_command(
    product: str,
    offsets: str | None,
    force: bool,
    output: str,
    bootstrap_servers: str | None,
    registry_url: str | None,
) -> None:
    """Send PRODUCT's dead letters that would be read now back to its topic.

    A letter goes back when it decodes now (its schema was registered since, say) or is a JSON
    object the product's schema accepts (sent as Avro); the others are listed with why they
    still fail. Each copy keeps the key and headers and names its letter in the header
    dlq.redriven.from. A record several consumers dead-lettered is sent back once, for all its
    copies. Nothing is lost: the letters stay in <topic>.dlq; a letter sent back once is
    recorded in _mesh.redrives and skipped by the next redrive. Exit 1 when some still fail
    or --offsets matches no letter.
    """
    settings = connection_settings(bootstrap_servers=bootstrap_servers, registry_url=registry_url)
    found = _letters(product, offsets, settings, sending=True)
    if found is None:
        if output == "json":
            click.echo(json.dumps(_report_json(RedriveReport())))
        return
    ref, letters = found
    schemas = SchemaSource.from_settings(settings.registry)
    try:
        report = redrive(settings, ref, letters, Judge(ref, schemas, force=force))
    finally:
        schemas.close()
    if output == "json":
        click.echo(json.dumps(_report_json(report), indent=2))
    else:

        def named(where: str) -> str:
            copies = report.copies.get(where)
            if copies is None:
                return where
            short = ", ".join(copy.removeprefix(dlq_topic(ref.topic)) for copy in copies)
            return f"{where} ({len(copies)} copies: {short})"

        for where, to in report.sent:
            click.echo(f"sent     {named(where)} -> {to}")
        for where, to in report.skipped:
            click.echo(f"skipped  {named(where)}: sent back before, to {to}")
        for where, why in report.failed:
            click.echo(f"failed   {named(where)}: {why}")
        for where, why in report.unrecorded:
            click.echo(f"sent     {named(where)}, but not recorded in _mesh.redrives ({why})")
    origins = len(report.sent) + len(report.failed) + len(report.skipped)
    records = "" if origins == len(letters) else f" ({len(letters)} records, with copies)"
    click.echo(
        f"{len(report.sent)} of {origins} dead letters{records} sent back to {ref.topic}, "
        f"{len(report.failed)} still fail, {len(report.skipped)} sent back before; "
        f"the dead letters stay in {dlq_topic(ref.topic)}",
        err=True,
    )
    if report.failed or report.unrecorded:
        click.get_current_context().exit(1)


def _report_json(report: RedriveReport) -> dict[str, Any]:
    def entry(where: str, key: str, value: str) -> dict[str, Any]:
        return {"letter": where, key: value, "copies": report.copies.get(where, [where])}

    return {
        "sent": [entry(where, "to", to) for where, to in report.sent],
        "failed": [entry(where, "why", why) for where, why in report.failed],
        "skipped": [entry(where, "to", to) for where, to in report.skipped],
        "unrecorded": [entry(where, "why", why) for where, why in report.unrecorded],
    }
