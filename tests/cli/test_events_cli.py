"""mesh produce / mesh tail on the embedded platform."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from streams.catalog import CatalogStore
from streams.cli import main
from tests.catalog._entries import descriptor, entry
from tests.helpers.kafka import PLAY_V1, PLAY_V2, Product, flags, play


def test_produce_then_tail(product: Product) -> None:
    lines = "\n".join(json.dumps(play(n)) for n in range(3)) + "\n"
    runner = CliRunner()
    sent = runner.invoke(
        main, ["produce", product.ref.id, "--key-field", "user_id", *flags(product)], input=lines
    )
    assert sent.exit_code == 0, sent.output
    assert "sent 3 events" in sent.stderr

    shown = runner.invoke(
        main,
        ["tail", product.ref.id, "--from-beginning", "--max", "3", "--metadata", *flags(product)],
    )
    assert shown.exit_code == 0, shown.output
    # Not published with `mesh product apply`: tail says so and reads by naming convention.
    assert f"{product.ref.id} is not in the catalog" in shown.stderr
    records = [orjson.loads(line) for line in shown.stdout.splitlines()]
    assert [r["value"] for r in records] == [play(n) for n in range(3)]
    assert records[0]["key"] == "user-0"
    assert records[0]["offset"] == 0


def test_produce_names_the_bad_line_and_field(product: Product) -> None:
    lines = json.dumps(play(1)) + "\n" + json.dumps(play(2, ms_played="long")) + "\n"
    result = CliRunner().invoke(main, ["produce", product.ref.id, *flags(product)], input=lines)
    assert result.exit_code == 1
    assert "stdin:2: invalid event for" in result.stderr
    assert "field 'ms_played' expects long, got 'long'" in result.stderr
    assert len(product.read_raw()) == 1  # the good line before it was sent


def test_produce_keeps_big_integers_exact(product: Product) -> None:
    """orjson reads an integer beyond 64 bits as a float: the error showed 1.18e+21 (float)."""
    lines = json.dumps(play(1, ms_played=2**70)) + "\n"
    result = CliRunner().invoke(main, ["produce", product.ref.id, *flags(product)], input=lines)
    assert result.exit_code == 1
    assert f"field 'ms_played' expects long, got {2**70} (int)" in result.stderr


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_produce_rejects_non_standard_json_numbers(product: Product, constant: str) -> None:
    line = json.dumps(play(1))[:-1] + f', "extra": {constant}}}\n'
    result = CliRunner().invoke(main, ["produce", product.ref.id, *flags(product)], input=line)
    assert result.exit_code == 1
    assert "stdin:1: not valid JSON" in result.stderr


def test_produce_rejects_non_json(product: Product) -> None:
    result = CliRunner().invoke(main, ["produce", product.ref.id, *flags(product)], input="{oops\n")
    assert result.exit_code == 1
    assert "stdin:1: not valid JSON" in result.stderr


def test_tail_shows_tombstones_and_joins_no_group(product: Product) -> None:
    from confluent_kafka import Producer as RawProducer
    from confluent_kafka.admin import AdminClient

    runner = CliRunner()
    sent = runner.invoke(
        main, ["produce", product.ref.id, *flags(product)], input=json.dumps(play(0)) + "\n"
    )
    assert sent.exit_code == 0, sent.output
    raw = RawProducer({"bootstrap.servers": product.settings.kafka.bootstrap_servers})
    raw.produce(product.ref.topic, value=None, key=b"user-0")
    assert raw.flush(10) == 0

    shown = runner.invoke(
        main,
        ["tail", product.ref.id, "--from-beginning", "--max", "2", "--metadata", *flags(product)],
    )
    assert shown.exit_code == 0, shown.output
    records = [orjson.loads(line) for line in shown.stdout.splitlines()]
    assert [r["value"] for r in records] == [play(0), None]  # the deletion is shown, not moved
    assert "dead-letter" not in shown.stderr
    admin = AdminClient({"bootstrap.servers": product.settings.kafka.bootstrap_servers})
    groups = admin.list_consumer_groups().result(timeout=10).valid
    assert not [g.group_id for g in groups if g.group_id.startswith("mesh-tail")]


def test_produce_names_a_line_that_is_not_utf8(product: Product) -> None:
    good = json.dumps(play(1)).encode() + b"\n"
    result = CliRunner().invoke(
        main, ["produce", product.ref.id, *flags(product)], input=good + b"\xff\xfe{}\n"
    )
    assert result.exit_code == 1
    assert "stdin:2: not valid UTF-8" in result.stderr
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a UnicodeDecodeError
    assert len(product.read_raw()) == 1  # the good line before it was sent


def test_tail_reports_an_event_too_deep_for_json_and_goes_on() -> None:
    from confluent_kafka import Message

    from streams.cli.events import json_line
    from streams.kafka import Event

    deep: dict[str, object] = {}
    node = deep
    for _ in range(600):
        node["n"] = {}
        node = node["n"]  # type: ignore[assignment]
    message = Message(topic="t.p.v1", partition=2, offset=7, value=b"")
    notices: list[str] = []
    assert json_line(Event(message, deep), metadata=False, notice=notices.append) is None
    assert notices == ["t.p.v1 partition 2 offset 7: cannot print as JSON: nested too deeply"]
    shallow = json_line(Event(message, {"a": 1}), metadata=True, notice=notices.append)
    assert shallow is not None
    assert orjson.loads(shallow)["offset"] == 7


def publish(product: Product, **output_port: str) -> None:
    """Publish ``product`` in the catalog (as `mesh product apply` would), key ``user_id``."""
    dom = product.ref.domain
    port = {**descriptor(dom).model_dump(mode="json", by_alias=True)["outputPort"], **output_port}
    with CatalogStore(settings=product.settings) as store:
        store.publish(entry(descriptor(dom, outputPort=port)))


def test_produce_keys_by_the_descriptors_key_field(product: Product) -> None:
    """Derived products count each key in one partition: the key must be the key field."""
    publish(product)
    lines = "".join(json.dumps(play(n)) + "\n" for n in range(3))
    runner = CliRunner()
    sent = runner.invoke(main, ["produce", product.ref.id, *flags(product)], input=lines)
    assert sent.exit_code == 0, sent.output
    assert "without a key" not in sent.stderr
    override = ["produce", product.ref.id, "--key-field", "track_id", *flags(product)]
    sent = runner.invoke(main, override, input=json.dumps(play(3)) + "\n")
    assert sent.exit_code == 0, sent.output
    keys = [m.key() for m in product.read_raw()]
    assert keys == [b"user-0", b"user-1", b"user-2", b"track-3"]


def test_produce_names_the_line_of_an_event_without_its_key(product: Product) -> None:
    product.register(PLAY_V2)
    publish(product, key="country")
    lines = json.dumps(play(1, country="SE")) + "\n" + json.dumps(play(2, country=None)) + "\n"
    result = CliRunner().invoke(main, ["produce", product.ref.id, *flags(product)], input=lines)
    assert result.exit_code == 1
    assert "stdin:2: the event has no value for 'country', the key of" in result.stderr
    assert [m.key() for m in product.read_raw()] == [b"SE"]


def test_produce_says_when_it_cannot_key_a_product_missing_from_the_catalog(
    product: Product,
) -> None:
    result = CliRunner().invoke(
        main, ["produce", product.ref.id, *flags(product)], input=json.dumps(play(1)) + "\n"
    )
    assert result.exit_code == 0, result.output
    assert f"emitting to {product.ref.topic} without a key" in result.stderr
    assert [m.key() for m in product.read_raw()] == [None]


def test_produce_says_which_lines_were_sent_and_which_were_not(product: Product) -> None:
    """The trial saw "Nothing was sent." after line 1 had been delivered."""
    events = [play(1), play(2), play(3, ms_played="x"), play(4)]
    lines = "".join(json.dumps(event) + "\n" for event in events)
    result = CliRunner().invoke(main, ["produce", product.ref.id, *flags(product)], input=lines)
    assert result.exit_code == 1
    assert "stdin:3: invalid event for" in result.stderr
    assert "Nothing was sent" not in result.stderr
    assert "Sent lines 1-2 (2 events)" in result.stderr
    assert "Not sent: line 3 and every line after it" in result.stderr
    assert len(product.read_raw()) == 2


def test_produce_says_nothing_was_sent_when_the_first_line_is_bad(product: Product) -> None:
    lines = "{oops\n" + json.dumps(play(2)) + "\n"
    result = CliRunner().invoke(main, ["produce", product.ref.id, *flags(product)], input=lines)
    assert result.exit_code == 1
    assert "stdin:1: not valid JSON" in result.stderr
    assert "Nothing was sent: line 1 and every line after it were not." in result.stderr
    assert product.read_raw() == []


def test_produce_names_a_missing_field(product: Product) -> None:
    event = play(1)
    del event["ms_played"]
    result = CliRunner().invoke(
        main, ["produce", product.ref.id, *flags(product)], input=json.dumps(event) + "\n"
    )
    assert result.exit_code == 1
    assert "missing required field 'ms_played' (long, no default); add it" in result.stderr
    assert "NoneType" not in result.stderr


PLAY_AT = {
    **PLAY_V1,
    "fields": [
        *PLAY_V1["fields"],
        {
            "name": "at",
            "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}],
            "default": None,
            "doc": "When.",
        },
    ],
}


def test_tails_json_feeds_back_into_produce(product: Product) -> None:
    """tail prints timestamps as ISO 8601; produce refused them ("expects long")."""
    product.register(PLAY_AT)
    runner = CliRunner()
    first = json.dumps(play(1, at=1767322800123)) + "\n"
    sent = runner.invoke(main, ["produce", product.ref.id, *flags(product)], input=first)
    assert sent.exit_code == 0, sent.output
    tail = ["tail", product.ref.id, "--from-beginning", *flags(product)]
    shown = runner.invoke(main, tail)
    assert shown.exit_code == 0, shown.output
    assert orjson.loads(shown.stdout)["at"] == "2026-01-02T03:00:00.123000+00:00"

    again = runner.invoke(main, ["produce", product.ref.id, *flags(product)], input=shown.stdout)
    assert again.exit_code == 0, again.output
    twice = runner.invoke(main, tail)
    assert twice.stdout.splitlines() == [shown.stdout.strip()] * 2


def test_produce_help_says_which_timestamps_it_takes() -> None:
    shown = CliRunner().invoke(main, ["produce", "--help"])
    assert "ISO 8601" in shown.output
    assert "epoch milliseconds" in shown.output


def test_the_readmes_produce_error_is_what_produce_prints(
    product: Product, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README shows produce's errors as printed; this keeps the first one so."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    [shown] = [line for line in readme.splitlines() if line.startswith("error: bad.jsonl:2: ")]
    monkeypatch.chdir(tmp_path)
    events = [play(1), play(2, ms_played="1s"), play(3)]
    Path("bad.jsonl").write_text("".join(json.dumps(event) + "\n" for event in events))
    result = CliRunner().invoke(
        main, ["produce", product.ref.id, "--input", "bad.jsonl", *flags(product)]
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == shown.replace("player.play_events", product.ref.id)
