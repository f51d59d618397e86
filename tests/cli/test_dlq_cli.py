"""mesh dlq show / mesh dlq redrive: a product's dead letters, looked at and sent back."""

from __future__ import annotations

import json

import orjson
import pytest
from click.testing import CliRunner
from confluent_kafka import Producer as RawProducer

from streams.catalog import CatalogStore
from streams.cli import main
from streams.cli.dlq import parse_offsets
from streams.errors import DeserializationError
from streams.kafka import Consumer, DeadLetters
from streams.kafka.headers import DLQ_REDRIVEN_FROM
from tests.catalog._entries import descriptor, entry
from tests.helpers.kafka import Product, create_topic, flags, own_lines, play


def raw(product: Product, *records: tuple[bytes, bytes]) -> None:
    producer = RawProducer({"bootstrap.servers": product.bootstrap})
    for key, value in records:
        producer.produce(product.ref.topic, value=value, key=key)
    assert producer.flush(10) == 0


def dead_letter_all(product: Product) -> None:
    """Read the product to its end as a consumer does: what it cannot decode is dead-lettered."""
    with Consumer(
        product.ref.id, group_id=None, from_beginning=True, settings=product.settings
    ) as consumer:
        while not consumer.at_end:
            consumer.consume(100, timeout=0.5)


def dlq(product: Product, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["dlq", *args, product.ref.id, *flags(product)])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.timeout(90)
def test_show_prints_error_origin_time_and_payload(product: Product) -> None:
    raw(product, (b"k1", b"not avro"), (b"k2", b"\x00\x00\x0f\x42\x3f\x02ab"))
    dead_letter_all(product)

    code, out, err = dlq(product, "show")
    assert code == 0, err
    first, second = out.split("\n\n")
    head = first.splitlines()[0]
    assert head == f"{product.ref.topic}.dlq[0]@0 from {product.ref.topic}[0]@0"
    assert "\n  dead-lettered at 20" in first  # the .dlq record's time, not ambiguous "written"
    assert "\n  originally at 20" in first  # the original record's (dlq.original.timestamp)
    assert "copies" not in first  # one copy: nothing to say
    assert "  reason: not-framed\n" in first
    assert "  error: " in first
    assert "  key: k1\n  value: not avro\n" in first
    assert "  now: still fails: neither Confluent-framed Avro nor a JSON object" in first
    assert "reason: unknown-schema" in second
    assert "value: 0x 00 00 0f 42 3f 02 61 62 (8 bytes)" in second
    assert "now: still fails, with the same error" in second

    code, out, err = dlq(product, "show", "--output", "json")
    assert code == 0, err
    letters = json.loads(out)
    assert [letter["dlq"]["offset"] for letter in letters] == [0, 1]
    assert letters[0]["original"]["topic"] == product.ref.topic
    assert letters[0]["original"]["offset"] == 0
    assert letters[0]["original"]["timestamp_ms"] > 0
    assert letters[0]["value"] == "not avro"
    assert letters[1]["value_hex"] == "00000f423f026162"
    assert letters[1]["now"]["status"] == "fails"
    assert "schema id 999999" in letters[1]["now"]["why"]


@pytest.mark.timeout(90)
def test_redrive_sends_back_what_is_valid_now_once_and_names_the_rest(product: Product) -> None:
    raw(product, (b"k1", b"not avro"), (b"k2", json.dumps(play(2)).encode()))
    dead_letter_all(product)
    code, out, _ = dlq(product, "show")
    assert f"now: decodes ({orjson.dumps(play(2)).decode()}); `mesh dlq redrive`" in out

    code, out, err = dlq(product, "redrive")
    assert code == 1, err  # one still fails
    assert f"sent     {product.ref.topic}.dlq[0]@1 -> {product.ref.topic}[0]@2" in out
    assert f"failed   {product.ref.topic}.dlq[0]@0: neither Confluent-framed Avro" in out
    assert "1 of 2 dead letters sent back" in err
    copy = product.read_raw()[2]
    assert copy.key() == b"k2"
    assert dict(copy.headers())[DLQ_REDRIVEN_FROM] == f"{product.ref.topic}.dlq[0]@1".encode()
    shown = CliRunner().invoke(
        main, ["tail", product.ref.id, "--from-beginning", "--max", "3", *flags(product)]
    )
    assert [orjson.loads(line) for line in shown.stdout.splitlines()] == [play(2)]

    code, out, err = dlq(product, "redrive")  # again: nothing sent twice
    assert f"skipped  {product.ref.topic}.dlq[0]@1: sent back before, to " in out
    assert len(product.read_raw()) == 3
    assert len(product.read_raw(product.ref.dlq)) == 2  # the letters stay
    code, out, _ = dlq(product, "show", "--offsets", "1")
    assert out.count("\n  reason:") == 1
    assert f"now: sent back to {product.ref.topic}[0]@2 at " in out


@pytest.mark.timeout(90)
def test_a_letter_a_consumer_refused_goes_back_only_with_force(product: Product) -> None:
    sent = CliRunner().invoke(
        main, ["produce", product.ref.id, *flags(product)], input=json.dumps(play(1)) + "\n"
    )
    assert sent.exit_code == 0, sent.output
    [message] = product.read_raw()
    letters = DeadLetters(settings=product.settings)
    letters.send(message, DeserializationError("does not fit model Play", reason="model"))
    letters.close()

    code, out, _ = dlq(product, "redrive")
    assert code == 1
    assert "it decodes, but a consumer refused it (model: " in out
    code, out, _ = dlq(product, "redrive", "--force")
    assert code == 0, out
    assert f"sent     {product.ref.topic}.dlq[0]@0 -> {product.ref.topic}[0]@1" in out


@pytest.mark.timeout(60)
def test_show_says_when_there_are_no_dead_letters(product: Product) -> None:
    code, _, err = dlq(product, "show")
    assert code == 0
    assert f"no dead letters yet (topic {product.ref.topic}.dlq does not exist)" in err
    create_topic(product.bootstrap, product.ref.dlq)
    code, out, err = dlq(product, "show")
    assert (code, out) == (0, "")
    assert f"no dead letters: {product.ref.topic}.dlq is empty" in err
    code, out, _ = dlq(product, "redrive", "--output", "json")
    assert code == 0
    assert json.loads(out)["sent"] == []


def test_offsets_are_partition_offset_pairs_and_ranges() -> None:
    assert parse_offsets(None) is None
    assert parse_offsets("3, 5-7,2:4") == {(0, 3), (0, 5), (0, 6), (0, 7), (2, 4)}
    result = CliRunner().invoke(main, ["dlq", "show", "a.b", "--offsets", "x"])
    assert result.exit_code == 2
    assert "'x' is not an offset" in result.output


def test_dlq_help_names_both_commands() -> None:
    shown = CliRunner().invoke(main, ["dlq", "--help"])
    assert "show" in shown.output
    assert "redrive" in shown.output


@pytest.mark.timeout(60)
def test_redrive_to_a_retired_product_is_refused(product: Product) -> None:
    retired = descriptor(product.ref.domain, status="retired", deprecation={"note": "gone"})
    with CatalogStore(settings=product.settings) as store:
        store.publish(entry(retired))
    code, _, err = dlq(product, "redrive")
    assert code == 1
    assert f"product {product.ref.topic} is retired: its dead letters cannot be sent back" in err
    code, _, err = dlq(product, "show")  # still readable
    assert code == 0, err


@pytest.mark.timeout(120)
def test_copies_of_one_origin_are_shown_once_and_sent_back_once(product: Product) -> None:
    """The trial: two group-less readers each dead-lettered the same two records, and show and
    redrive treated every copy as another letter (redrive would send an event twice)."""
    raw(product, (b"k1", b"not avro"), (b"k2", json.dumps(play(2)).encode()))
    dead_letter_all(product)
    dead_letter_all(product)
    assert len(product.read_raw(product.ref.dlq)) == 4
    dlq_name = f"{product.ref.topic}.dlq"

    code, out, err = dlq(product, "show")
    assert code == 0, err
    first, second = out.split("\n\n")
    assert first.startswith(f"{dlq_name}[0]@0 from {product.ref.topic}[0]@0\n")
    assert "\n  copies: 2, at [0]@0 and [0]@2 (one per reader that met it)\n" in first
    assert "\n  copies: 2, at [0]@1 and [0]@3 (" in second
    code, out, err = dlq(product, "show", "--output", "json")
    shown = json.loads(out)
    assert [[c["offset"] for c in letter["copies"]] for letter in shown] == [[0, 2], [1, 3]]

    code, out, err = dlq(product, "redrive")
    assert code == 1, err  # the not-avro one still fails
    assert out.count("sent     ") == 1
    assert f"sent     {dlq_name}[0]@1 (2 copies: [0]@1, [0]@3) -> {product.ref.topic}[0]@2" in out
    assert out.count("failed   ") == 1
    assert "1 of 2 dead letters (4 records, with copies) sent back" in err
    assert len(product.read_raw()) == 3  # sent once, not once per copy

    code, out, err = dlq(product, "redrive", "--offsets", "3")  # a copy of the one sent back
    assert code == 0, err
    assert f"skipped  {dlq_name}[0]@3: sent back before, to {product.ref.topic}[0]@2" in out
    assert len(product.read_raw()) == 3


@pytest.mark.timeout(90)
def test_offsets_that_match_nothing_fail_and_say_how_to_list_them(product: Product) -> None:
    raw(product, (b"k1", b"not avro"))
    dead_letter_all(product)
    for command in ("redrive", "show"):
        code, out, err = dlq(product, command, "--offsets", "0:5")
        assert code == 1, (command, out, err)
        assert own_lines(err) == [
            f"error: no dead letters at offsets 0:5 of {product.ref.topic}.dlq; "
            f"list them with `mesh dlq show {product.ref.id}`"
        ]
