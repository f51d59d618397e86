"""Dead letters looked at and sent back: what ``mesh dlq show`` and ``mesh dlq redrive`` do.

A dead letter (see :mod:`streams.kafka.deadletter`) stays in ``<topic>.dlq`` forever: Kafka
topics are append-only, so redriving one copies it back to its product topic and never removes
it, and nothing can be lost. Each copy is recorded in ``_mesh.redrives`` (which dead letter went
to which ``topic[partition]@offset``) once Kafka acknowledged it, so a second redrive skips it
instead of sending a duplicate.

One record can be dead-lettered several times: every consumer that cannot decode it writes its
own letter (two group-less readers, two groups, a restarted reader). Those copies share their
origin (the original topic, partition and offset, from the ``dlq.original.*`` headers), so
:func:`by_origin` groups them, ``mesh dlq show`` shows each origin once, and :func:`redrive`
sends each origin back at most once: a redrive is recorded for the origin, and any copy of a
redriven origin (even one written later) counts as sent back.

A letter is sent back only when it would now be read: its value is Confluent-framed Avro that
its writer's schema decodes (e.g. the schema was registered after the message was written), or
a JSON object that the product's latest schema accepts (a producer that wrote JSON: it is sent
as Avro). A letter a consumer refused for another reason than decoding (``model``,
``not-keyed-by-<field>``, ...) decodes fine and would only be refused again, so it is sent back
only with ``force``.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient

from streams.avro import parse_schema
from streams.avro.json_values import from_json
from streams.config import Settings
from streams.errors import DeserializationError, SchemaError, SerializationError
from streams.kafka import headers as std
from streams.kafka.client import build_client
from streams.kafka.decoders import WriterDecoders
from streams.kafka.schemas import SchemaSource
from streams.kafka.sidetopic import DeadLetter
from streams.kafka.topics import COMPACTED, create_topic, read_to_end, topic_names
from streams.naming import ProductRef, dlq_topic, internal_topic
from streams.serialization import AvroEncoder

__all__ = [
    "DECODE_REASONS",
    "REDRIVES_TOPIC",
    "Judge",
    "Letter",
    "RedriveReport",
    "Redriven",
    "Verdict",
    "by_origin",
    "judge_copies",
    "read_letters",
    "redrive",
]

REDRIVES_TOPIC = internal_topic("redrives")
"""Which dead letters were sent back where (one JSON record per copy, keyed by the letter)."""
DECODE_REASONS = frozenset(
    {
        "corrupt",
        "not-framed",
        "null",
        "too-deep",
        "trailing-bytes",
        "unknown-schema",
        "unreadable-schema",
        "tombstone",
    }
)
"""Dead-letter reasons that say the bytes could not be decoded (others: a consumer refused a
decoded event, e.g. ``model`` or ``not-keyed-by-<field>``)."""

Position = tuple[int, int]
"""Partition and offset of a dead letter in its ``.dlq`` topic."""
Origin = tuple[str, int, int]
"""Topic, partition and offset of the record a dead letter is a copy of."""


@dataclass(frozen=True, slots=True)
class Redriven:
    """Where a dead letter was sent back to, and when."""

    to: str
    at: str


@dataclass(frozen=True, slots=True)
class Letter:
    """One dead letter where it is: its ``.dlq`` topic, partition and offset, and its time."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    letter: DeadLetter
    redriven: Redriven | None = None

    @property
    def where(self) -> str:
        """``<topic>.dlq[partition]@offset``."""
        return f"{self.topic}[{self.partition}]@{self.offset}"

    @property
    def origin(self) -> Origin | None:
        """The original record's topic, partition and offset; None without those headers."""
        dead = self.letter
        if (
            dead.original_topic is None
            or dead.original_partition is None
            or dead.original_offset is None
        ):
            return None
        return dead.original_topic, dead.original_partition, dead.original_offset


def by_origin(letters: Iterable[Letter]) -> list[list[Letter]]:
    """The letters grouped by origin, each group in ``.dlq`` order and the groups in the order
    of their first copy; a letter without origin headers is a group of its own."""
    groups: dict[Origin | Position, list[Letter]] = {}
    for letter in sorted(letters, key=lambda letter: (letter.partition, letter.offset)):
        groups.setdefault(letter.origin or (letter.partition, letter.offset), []).append(letter)
    return list(groups.values())


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a dead letter would be read now.

    Attributes:
        status: ``decodable`` (it would be read: ``value`` is what to send), ``fails`` (``why``
            says why), or ``redriven`` (sent back already, see the letter's ``redriven``).
        value: The bytes to send back (the original, or a JSON letter encoded as Avro).
        decoded: The event it holds, when it decodes.
        why: Why it still fails.
    """

    status: Literal["decodable", "fails", "redriven"]
    value: bytes | None = None
    decoded: Any = None
    why: str = ""


def read_letters(
    settings: Settings, ref: ProductRef, offsets: Collection[Position] | None = None
) -> list[Letter] | None:
    """The dead letters of ``ref`` (only ``offsets`` when given), each with its redrive if any
    (the redrive of any copy of its origin); None when the dead-letter topic does not exist
    (nothing was ever dead-lettered)."""
    kafka = settings.kafka
    admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
    existing = topic_names(admin, bootstrap=kafka.bootstrap_servers, timeout_s=10)
    topic = dlq_topic(ref.topic)
    if topic not in existing:
        return None
    done = _redrives(settings, topic) if REDRIVES_TOPIC in existing else {}
    found = [
        Letter(
            topic,
            int(message.partition() or 0),
            int(message.offset() or 0),
            timestamp_ms=int(message.timestamp()[1]),
            letter=DeadLetter.of(message),
        )
        for message in read_to_end(kafka.librdkafka(), topic)
    ]
    # Every copy of an origin sent back counts as sent back (a record without origin names
    # only the copy it sent: that copy's position stands for its origin).
    letters: list[Letter] = []
    for group in by_origin(found):
        keys = (key for letter in group for key in _keys(letter))
        redriven = next((done[key] for key in keys if key in done), None)
        letters += [
            dataclasses.replace(letter, redriven=redriven)
            for letter in group
            if offsets is None or (letter.partition, letter.offset) in offsets
        ]
    return sorted(letters, key=lambda letter: (letter.partition, letter.offset))


def _keys(letter: Letter) -> list[Origin | Position]:
    """What a redrive record of ``letter`` is found by: its origin and its position."""
    position = (letter.partition, letter.offset)
    return [position] if letter.origin is None else [letter.origin, position]


def _redrives(settings: Settings, topic: str) -> dict[Origin | Position, Redriven]:
    found: dict[Origin | Position, Redriven] = {}
    for message in read_to_end(settings.kafka.librdkafka(), REDRIVES_TOPIC):
        try:
            record = orjson.loads(message.value() or b"")
            if record["dlq"] == topic:
                done = Redriven(str(record["to"]), str(record["at"]))
                found[(int(record["partition"]), int(record["offset"]))] = done
                origin = record.get("origin")
                if origin is not None:
                    found[(str(origin[0]), int(origin[1]), int(origin[2]))] = done
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, ValueError):
            continue  # not one of ours
    return found


def judge_copies(
    group: Sequence[Letter], judge: Callable[[Letter], Verdict]
) -> tuple[Letter, Verdict]:
    """The verdict on the copies of one origin: the first copy that would be read now (copies
    hold the same bytes, but consumers may have refused them for different reasons), else the
    first copy's."""
    verdicts = [(letter, judge(letter)) for letter in group]
    return next((found for found in verdicts if found[1].status == "decodable"), verdicts[0])


class Judge:
    """Decides per dead letter whether it would be read now (see the module docstring).

    Args:
        ref: The product the letters belong to.
        schemas: Where writer schemas and the product's latest schema are fetched.
        force: Also send back letters refused for other reasons than decoding.
    """

    def __init__(self, ref: ProductRef, schemas: SchemaSource, *, force: bool = False) -> None:
        self._ref = ref
        self._schemas = schemas
        self._decoders = WriterDecoders(schemas, plain=False)
        self._force = force
        self._encoder: Callable[[Any], bytes] | None = None

    def __call__(self, letter: Letter) -> Verdict:
        """The verdict on one letter.

        Raises:
            RegistryUnavailableError: The registry cannot be reached.
        """
        if letter.redriven is not None:
            return Verdict("redriven")
        dead = letter.letter
        value = dead.value
        if value is None:
            return Verdict("fails", why="a tombstone (null value): a deletion marker, not an event")
        if value[:1] == b"\x00" and len(value) >= 5:
            try:
                decoded = self._decoders.decode(value)
            except (DeserializationError, SchemaError) as exc:
                return Verdict("fails", why=str(exc))
            return self._refused(dead, Verdict("decodable", value=value, decoded=decoded))
        try:
            event = json.loads(value)
        except ValueError:
            return Verdict(
                "fails",
                why="neither Confluent-framed Avro nor a JSON object; it cannot be sent back, "
                "produce a corrected event instead (mesh produce)",
            )
        if not isinstance(event, dict):
            return Verdict("fails", why="JSON, but not a JSON object (an event)")
        try:
            encoded = self._encode(event)
        except SerializationError as exc:
            return Verdict("fails", why=f"JSON that does not fit {self._ref.subject}: {exc}")
        return self._refused(dead, Verdict("decodable", value=encoded, decoded=event))

    def _refused(self, dead: DeadLetter, verdict: Verdict) -> Verdict:
        if self._force or dead.reason is None or dead.reason in DECODE_REASONS:
            return verdict
        return Verdict(
            "fails",
            decoded=verdict.decoded,
            why=f"it decodes, but a consumer refused it ({dead.reason}: {dead.error}); it would "
            "be refused again: fix that consumer, then send it back with --force",
        )

    def _encode(self, event: dict[str, Any]) -> bytes:
        if self._encoder is None:
            schema_id, _ = self._schemas.latest(self._ref.subject)
            writer, references = self._schemas.writer(schema_id)
            parsed = parse_schema(writer, references)
            encode = AvroEncoder(writer, schema_id=schema_id, product=self._ref.id)

            def encoder(value: Any) -> bytes:
                return encode(from_json(value, parsed))

            self._encoder = encoder
        return self._encoder(event)


@dataclass
class RedriveReport:
    """What a redrive did, dead letter by dead letter (``where`` is ``<topic>.dlq[p]@o``: the
    first copy of an origin, see :func:`by_origin`).

    Attributes:
        sent: Letters sent back, with where they went (``topic[partition]@offset``).
        failed: Letters not sent, with why.
        skipped: Letters sent back by an earlier redrive, with where they went then.
        unrecorded: Letters sent back whose record in ``_mesh.redrives`` was not stored (a
            later redrive would send them again), with why.
        copies: For a letter with several copies of its origin among those given: all their
            ``where`` (its own first).
    """

    sent: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unrecorded: list[tuple[str, str]] = field(default_factory=list)
    copies: dict[str, list[str]] = field(default_factory=dict)


def redrive(
    settings: Settings,
    ref: ProductRef,
    letters: Iterable[Letter],
    judge: Callable[[Letter], Verdict],
    *,
    timeout: float = 30.0,
) -> RedriveReport:
    """Send the letters ``judge`` finds decodable back to ``ref``'s topic, each with its key and
    headers (and ``dlq.redriven.from`` naming the letter); one counts as sent once Kafka
    acknowledged it, and is then recorded in ``_mesh.redrives``. Copies of one origin
    (:func:`by_origin`) are sent once: the first copy that decodes goes, for all of them."""
    report = RedriveReport()
    kafka = settings.kafka
    conf: dict[str, Any] = kafka.librdkafka()
    conf.update({"enable.idempotence": True})
    producer = build_client(Producer, conf, settings=kafka)
    copies: dict[str, _Ack] = {}
    for group in by_origin(letters):
        first = group[0]
        if len(group) > 1:
            report.copies[first.where] = [letter.where for letter in group]
        if first.redriven is not None:  # copies share their origin's redrive
            report.skipped.append((first.where, first.redriven.to))
            continue
        letter, verdict = judge_copies(group, judge)
        if verdict.status != "decodable":
            report.failed.append((first.where, verdict.why))
            continue
        headers: list[tuple[str, str | bytes | None]] = list(letter.letter.headers.items())
        if verdict.value is not letter.letter.value:  # a JSON letter, now Avro
            headers = [(k, v) for k, v in headers if k != std.CONTENT_TYPE]
            headers.append((std.CONTENT_TYPE, std.AVRO_CONTENT_TYPE))
        headers.append((std.DLQ_REDRIVEN_FROM, letter.where.encode()))
        ack = copies[first.where] = _Ack(letter)
        producer.produce(
            ref.topic, verdict.value, letter.letter.key, headers=headers, on_delivery=ack
        )
    producer.flush(timeout)
    records: dict[str, _Ack] = {}
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    for where, ack in copies.items():
        if ack.error is not None:
            report.failed.append((where, f"Kafka did not store the copy: {ack.error}"))
            continue
        report.sent.append((where, ack.to))
        if not records:
            admin = build_client(AdminClient, kafka.librdkafka(), settings=kafka)
            create_topic(admin, REDRIVES_TOPIC, config=COMPACTED, timeout_s=10)
        letter = ack.letter
        record = {"dlq": letter.topic, "partition": letter.partition, "offset": letter.offset}
        record |= {"origin": letter.origin, "to": ack.to, "at": now}
        records[where] = _Ack(letter)
        producer.produce(
            REDRIVES_TOPIC, orjson.dumps(record), letter.where.encode(), on_delivery=records[where]
        )
    producer.flush(timeout)
    for where, ack in records.items():
        if ack.error is not None:
            report.unrecorded.append((where, ack.error))
    return report


class _Ack:
    """The delivery report of one message (``error`` until Kafka answers)."""

    def __init__(self, letter: Letter) -> None:
        self.letter = letter
        self.error: str | None = "not acknowledged in time"
        self.to = ""

    def __call__(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.error = err.str()
            return
        self.error = None
        self.to = f"{msg.topic()}[{msg.partition()}]@{msg.offset()}"
