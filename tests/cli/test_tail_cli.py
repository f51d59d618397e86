"""mesh tail: stops at the end of the topic, reads late records and dead letters."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from confluent_kafka import Message
from confluent_kafka import Producer as RawProducer

from streams.agents.late import LATE_PRODUCT, LATE_SOURCE, LateRecords
from streams.catalog import Catalog, CatalogStore
from streams.cli import main
from streams.errors import ConfigError
from streams.kafka import Consumer, Event
from streams.kafka.sidetopic import SideDirectory
from streams.naming import late_topic
from tests.catalog._entries import descriptor, entry
from tests.helpers.kafka import Product, create_topic, flags, own_lines, play


def dead_letter(product: Product, *, late: bool = False) -> None:
    """Read the product (or its late records) to the end as a consumer does: what it cannot
    decode goes to the dead-letter topic."""
    directory = SideDirectory(None, late_topic) if late else None
    with Consumer(
        product.ref.id,
        group_id=None,
        from_beginning=True,
        settings=product.settings,
        directory=directory,
    ) as consumer:
        while not consumer.at_end:
            consumer.consume(100, timeout=0.5)


def send(product: Product, count: int) -> None:
    lines = "".join(json.dumps(play(n)) + "\n" for n in range(count))
    sent = CliRunner().invoke(main, ["produce", product.ref.id, *flags(product)], input=lines)
    assert sent.exit_code == 0, sent.output


@pytest.mark.timeout(60)
def test_tail_max_stops_at_the_end_of_the_topic(product: Product) -> None:
    """The trial saw `tail --max 5` wait forever on a topic with 2 events."""
    send(product, 2)
    shown = CliRunner().invoke(
        main, ["tail", product.ref.id, "--from-beginning", "--max", "5", *flags(product)]
    )
    assert shown.exit_code == 0, shown.output
    assert [orjson.loads(line) for line in shown.stdout.splitlines()] == [play(0), play(1)]


@pytest.mark.timeout(60)
def test_tail_without_max_prints_every_event_then_ends(product: Product) -> None:
    """The trial saw tail print 500 events, then spin forever (a batch of 0 after 500)."""
    send(product, 1_203)
    shown = CliRunner().invoke(main, ["tail", product.ref.id, "--from-beginning", *flags(product)])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert len(lines) == 1_203
    assert sorted(orjson.loads(line)["ms_played"] for line in lines) == sorted(
        play(n)["ms_played"] for n in range(1_203)
    )


@pytest.mark.timeout(60)
def test_tail_of_an_empty_topic_ends(product: Product) -> None:
    shown = CliRunner().invoke(main, ["tail", product.ref.id, "--from-beginning", *flags(product)])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == ""


@pytest.mark.timeout(60)
def test_tail_follow_waits_for_new_events(product: Product) -> None:
    send(product, 1)
    shown = CliRunner().invoke(
        main,
        [
            "tail",
            product.ref.id,
            "--from-beginning",
            "--follow",
            "--idle-timeout",
            "2",
            *flags(product),
        ],
    )
    assert shown.exit_code == 0, shown.output
    assert len(shown.stdout.splitlines()) == 1


@pytest.mark.timeout(90)
def test_tail_dead_letters_prints_error_reason_and_origin(product: Product) -> None:
    raw = RawProducer({"bootstrap.servers": product.bootstrap})
    raw.produce(product.ref.topic, value=b"not avro", key=b"k1")
    assert raw.flush(10) == 0
    send(product, 1)
    dead_letter(product)
    runner = CliRunner()
    text = runner.invoke(main, ["tail", product.ref.id, "--dead-letters", *flags(product)])
    assert text.exit_code == 0, text.output
    assert f"{product.ref.topic}.dlq" in text.stdout
    assert f"from {product.ref.topic}[0]@0" in text.stdout
    assert "reason: not-framed" in text.stdout
    assert "error:" in text.stdout
    assert "key: k1" in text.stdout
    assert "value: not avro" in text.stdout

    as_json = runner.invoke(
        main, ["tail", product.ref.id, "--dead-letters", "--output", "json", *flags(product)]
    )
    assert as_json.exit_code == 0, as_json.output
    [letter] = [orjson.loads(line) for line in as_json.stdout.splitlines()]
    assert letter["reason"] == "not-framed"
    assert letter["error"]
    assert letter["original"]["topic"] == product.ref.topic
    assert letter["original"]["partition"] == 0
    assert letter["original"]["offset"] == 0
    assert letter["key"] == "k1"
    assert letter["value"] == "not avro"
    assert letter["topic"] == f"{product.ref.topic}.dlq"


@pytest.mark.timeout(90)
def test_tail_late_decodes_like_the_input(product: Product) -> None:
    send(product, 2)
    [first, _] = product.read_raw()
    late = LateRecords(settings=product.settings, product="player.hourly_play_sessions.v1")
    late.send(first)
    late.close()

    shown = CliRunner().invoke(
        main, ["tail", product.ref.id, "--late", "--metadata", *flags(product)]
    )
    assert shown.exit_code == 0, shown.output
    [record] = [orjson.loads(line) for line in shown.stdout.splitlines()]
    assert record["topic"] == f"{product.ref.topic}.late"
    assert record["value"] == play(0)
    assert record["headers"][LATE_PRODUCT] == "player.hourly_play_sessions.v1"
    assert record["headers"][LATE_SOURCE] == f"{product.ref.topic}[0]@0"


@pytest.mark.timeout(60)
def test_tail_late_without_late_records_says_so(product: Product) -> None:
    """No late topic yet is a normal state, not an error (exit 0, a note on stderr)."""
    shown = CliRunner().invoke(main, ["tail", product.ref.id, "--late", *flags(product)])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == ""
    assert f"no late events yet (topic {product.ref.topic}.late does not exist)" in shown.stderr
    assert "Traceback" not in shown.output


@pytest.mark.timeout(60)
def test_tail_dead_letters_without_any_says_so(product: Product) -> None:
    shown = CliRunner().invoke(main, ["tail", product.ref.id, "--dead-letters", *flags(product)])
    assert shown.exit_code == 0, shown.output
    assert f"no dead letters yet (topic {product.ref.topic}.dlq does not exist)" in shown.stderr


@pytest.mark.timeout(90)
def test_side_topics_can_be_tailed_by_their_names(product: Product) -> None:
    """`mesh tail <topic>.late`, `<topic>.dlq` and `<topic>.late.dlq` read those topics: a user
    copies a topic's name from a log line. Undecodable late records go to `<topic>.late.dlq`,
    and that is readable too."""
    send(product, 1)
    [first] = product.read_raw()
    late = LateRecords(settings=product.settings, product="player.hourly_play_sessions.v1")
    late.send(first)
    late.close()
    raw = RawProducer({"bootstrap.servers": product.bootstrap})
    raw.produce(f"{product.ref.topic}.late", value=b"not avro", key=b"k9")
    assert raw.flush(10) == 0
    runner = CliRunner()

    by_name = runner.invoke(main, ["tail", f"{product.ref.topic}.late", *flags(product)])
    assert by_name.exit_code == 0, by_name.output
    assert [orjson.loads(line) for line in by_name.stdout.splitlines()] == [play(0)]
    assert f"cannot decode {product.ref.topic}.late[0]@1" in by_name.stderr

    dead_letter(product, late=True)

    letters = runner.invoke(main, ["tail", f"{product.ref.topic}.late.dlq", *flags(product)])
    assert letters.exit_code == 0, letters.output
    assert f"from {product.ref.topic}.late[0]@1" in letters.stdout
    assert "key: k9" in letters.stdout

    same = runner.invoke(
        main, ["tail", f"{product.ref.topic}.late", "--dead-letters", *flags(product)]
    )
    assert same.stdout == letters.stdout, same.output

    none = runner.invoke(main, ["tail", f"{product.ref.topic}.dlq", *flags(product)])
    assert none.exit_code == 0, none.output
    assert "no dead letters yet" in none.stderr


def test_a_side_topic_name_with_another_side_flag_is_refused() -> None:
    shown = CliRunner().invoke(main, ["tail", "a.b.v1.dlq", "--late"])
    assert shown.exit_code == 2
    assert "`mesh tail a.b.v1.dlq`" in shown.output


def test_tail_help_names_the_side_topics() -> None:
    shown = CliRunner().invoke(main, ["tail", "--help"])
    assert "--late" in shown.output
    assert "--dead-letters" in shown.output
    assert ".late" in shown.output
    assert ".dlq" in shown.output
    assert "--follow" in shown.output


def test_late_and_dead_letters_are_exclusive() -> None:
    shown = CliRunner().invoke(main, ["tail", "a.b", "--late", "--dead-letters"])
    assert shown.exit_code == 2
    assert "--late" in shown.output
    assert "--dead-letters" in shown.output


def test_a_binary_dead_letter_is_shown_in_hex_and_base64() -> None:
    from confluent_kafka import Message

    from streams.cli._tail import dead_letter_json, dead_letter_text
    from streams.kafka import Event
    from streams.kafka.sidetopic import DeadLetter

    value = b"\x00\x00\x00\x00\x07\x02abc"  # Confluent framed Avro: not text
    message = Message(
        topic="d.p.v1.dlq",
        partition=0,
        offset=3,
        key=None,
        value=value,
        headers=[("dlq.reason", b"corrupt"), ("dlq.error", b"bad")],
    )
    event = Event(message, DeadLetter.of(message))
    text = dead_letter_text(event).decode()
    assert "from an unknown origin (no dlq.original.* headers)" in text
    assert "value: 0x 00 00 00 00 07 02 61 62 63 (9 bytes)" in text
    assert "key: null" in text
    shown = orjson.loads(dead_letter_json(event))
    assert shown["value"] is None
    assert shown["value_base64"] == "AAAAAAcCYWJj"
    assert shown["original"] == {
        "topic": None,
        "partition": None,
        "offset": None,
        "timestamp_ms": None,
    }


@pytest.mark.timeout(60)
def test_a_product_that_does_not_exist_is_refused_with_close_names(product: Product) -> None:
    """tail said "not in the catalog, reading by the naming convention", then failed."""
    typo = product.ref.id[:-1]
    for command in (["tail", typo], ["produce", typo], ["tail", typo, "--dead-letters"]):
        shown = CliRunner().invoke(main, [*command, *flags(product)], input="")
        assert shown.exit_code == 1, shown.output
        assert f"no product {typo} (not in the catalog" in shown.stderr
        assert f"did you mean {product.ref.id}" in shown.stderr
        assert "naming convention" not in shown.stderr
    shown = CliRunner().invoke(main, ["tail", f"{typo}.v1", *flags(product)])
    assert shown.exit_code == 1, shown.output
    assert f"did you mean {product.ref.topic}" in shown.stderr


@pytest.mark.timeout(90)
def test_tail_is_read_only_and_shows_undecodable_records_where_they_are(product: Product) -> None:
    """tail moved undecodable records to the dead-letter topic: a viewer wrote to the mesh."""
    send(product, 1)
    raw = RawProducer({"bootstrap.servers": product.bootstrap})
    raw.produce(product.ref.topic, value=b"not avro", key=b"k1")
    assert raw.flush(10) == 0
    send(product, 1)
    shown = CliRunner().invoke(main, ["tail", product.ref.id, "--from-beginning", *flags(product)])
    assert shown.exit_code == 0, shown.output
    assert [orjson.loads(line) for line in shown.stdout.splitlines()] == [play(0), play(0)]
    assert f"cannot decode {product.ref.topic}[0]@1: " in shown.stderr
    assert "(reason not-framed); key: k1, value: not avro" in shown.stderr
    assert "1 of 3 records could not be decoded" in shown.stderr
    assert product.read_raw(f"{product.ref.topic}.dlq") == []  # nothing written there


@pytest.mark.timeout(60)
def test_tail_dead_letters_of_an_empty_dead_letter_topic_says_so(product: Product) -> None:
    """The dead-letter topic exists (mesh product apply creates it) but holds nothing: tail
    printed nothing at all."""
    create_topic(product.bootstrap, f"{product.ref.topic}.dlq")
    shown = CliRunner().invoke(main, ["tail", product.ref.id, "--dead-letters", *flags(product)])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == ""
    assert f"no dead letters: {product.ref.topic}.dlq is empty" in shown.stderr


class _SlowStart:
    """A consumer whose broker answers only at the fourth fetch (a slow connection)."""

    def __init__(self) -> None:
        self.calls = 0

    @property
    def at_end(self) -> bool:
        return self.calls > 4

    def consume(self, max_events: int = 500, timeout: float = 1.0) -> list[Event[Any]]:
        self.calls += 1
        return [Event(Message(topic="t.p.v1", value=b""), "event")] if self.calls == 4 else []


def test_idle_timeout_does_not_count_the_wait_for_the_first_fetch() -> None:
    """With --idle-timeout 3 or less tail printed nothing while the broker was slow to answer."""
    from streams.cli._tail import _loop, _Shown

    printed: list[object] = []

    def printer(event: Event[Any]) -> None:
        printed.append(event.value)

    consumer = _SlowStart()
    shown = _Shown(printer, print)
    _loop(consumer, follow=True, limit=None, idle_timeout=0.0, shown=shown)
    assert printed == ["event"]
    assert consumer.calls == 5  # then one idle fetch past the timeout


@pytest.mark.timeout(60)
def test_tail_reads_a_retired_products_retained_history(product: Product) -> None:
    """The trial: `mesh tail <retired> --from-beginning` printed `reading ...`, then refused it;
    retirement stops producing, a read-only viewer still shows what the topic retains."""
    send(product, 2)
    retired = descriptor(
        product.ref.domain,
        status="retired",
        deprecation={"note": "signups moved", "replacedBy": f"{product.ref.domain}.other.v2"},
    )
    with CatalogStore(settings=product.settings) as store:
        store.publish(entry(retired))
    shown = CliRunner().invoke(main, ["tail", product.ref.id, "--from-beginning", *flags(product)])
    assert shown.exit_code == 0, shown.output
    assert [orjson.loads(line) for line in shown.stdout.splitlines()] == [play(0), play(1)]
    assert own_lines(shown.stderr) == [
        f"{product.ref.topic} is retired: signups moved; replaced by "
        f"{product.ref.domain}.other.v2; reading its retained history"
    ]
    catalog = _catalog(product)  # the library still refuses it: consumers must move on
    with pytest.raises(ConfigError, match="is retired and no longer served"):
        Consumer(product.ref.id, group_id=None, settings=product.settings, directory=catalog)


def _catalog(product: Product) -> Catalog:
    with CatalogStore(settings=product.settings) as store:
        return Catalog(store.read())
