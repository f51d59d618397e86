"""Which dead letters would be read now (no network: a fake schema source)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streams.errors import DeserializationError
from streams.kafka.redrive import Judge, Letter, Redriven, by_origin
from streams.kafka.schemas import SchemaSource
from streams.kafka.sidetopic import DeadLetter
from streams.naming import ProductRef
from streams.serialization import AvroEncoder
from tests.helpers.kafka import PLAY_V1, play

SCHEMA = json.dumps(PLAY_V1)


class _Schemas:
    def latest(self, subject: str) -> tuple[int, str]:
        return 7, SCHEMA

    def writer(self, schema_id: int) -> tuple[str, list[str]]:
        if schema_id != 7:
            raise DeserializationError(f"schema id {schema_id} is unknown", reason="unknown-schema")
        return SCHEMA, []


def _letter(
    value: bytes | None, reason: str = "not-framed", *, at: int = 5, origin: int = 3, **extra: Any
) -> Letter:
    dead = DeadLetter(reason, "the error", "d.p.v1", 0, origin, 1, b"k", value, {})
    return Letter("d.p.v1.dlq", 0, at, 1, dead, **extra)


def _judge(*, force: bool = False) -> Judge:
    fake: Any = _Schemas()
    source: SchemaSource = fake
    return Judge(ProductRef(domain="d", name="p"), source, force=force)


def test_a_framed_letter_that_decodes_goes_back_as_it_is() -> None:
    framed = AvroEncoder(SCHEMA, schema_id=7)(play(1))
    verdict = _judge()(_letter(framed, reason="unknown-schema"))
    assert (verdict.status, verdict.value) == ("decodable", framed)
    assert {k: str(v) for k, v in verdict.decoded.items()} == {
        k: str(v) for k, v in play(1).items()
    }


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (None, "a tombstone"),
        (b"not avro", "neither Confluent-framed Avro nor a JSON object"),
        (b"[1, 2]", "not a JSON object"),
        (b"\x00\x00\x00\x00\x08\x02", "schema id 8 is unknown"),
        (b"\x00\x00\x00\x00\x07\xff", "corrupt"),
        (
            json.dumps({k: v for k, v in play(1).items() if k != "ms_played"}).encode(),
            "missing required field 'ms_played' (long, no default)",
        ),
    ],
)
def test_what_still_fails_says_why(value: bytes | None, why: str) -> None:
    verdict = _judge()(_letter(value))
    assert verdict.status == "fails"
    assert why in verdict.why


def test_a_json_letter_the_schema_accepts_goes_back_as_avro() -> None:
    verdict = _judge()(_letter(json.dumps(play(2)).encode()))
    assert verdict.status == "decodable"
    assert verdict.value == AvroEncoder(SCHEMA, schema_id=7)(play(2))


def test_a_letter_a_consumer_refused_goes_back_only_when_forced() -> None:
    framed = AvroEncoder(SCHEMA, schema_id=7)(play(1))
    refused = _letter(framed, reason="not-keyed-by-user_id")
    verdict = _judge()(refused)
    assert verdict.status == "fails"
    assert "a consumer refused it (not-keyed-by-user_id: the error)" in verdict.why
    assert _judge(force=True)(refused).status == "decodable"


def test_a_letter_sent_back_before_is_not_judged_again() -> None:
    letter = _letter(b"x", redriven=Redriven("d.p.v1[0]@9", "2026-01-01T00:00:00+00:00"))
    assert _judge()(letter).status == "redriven"


def test_copies_of_one_origin_are_one_dead_letter() -> None:
    """Every consumer that cannot decode a record dead-letters it: the trial saw two readers
    write each bad record twice, and show/redrive treat each copy as another letter."""
    first, other, copy = _letter(b"x", at=0), _letter(b"y", at=1, origin=4), _letter(b"x", at=2)
    unknown = Letter("d.p.v1.dlq", 0, 3, 1, _no_origin())  # no dlq.original.* headers
    groups = by_origin([copy, other, first, unknown])
    assert [[letter.offset for letter in group] for group in groups] == [[0, 2], [1], [3]]


def _no_origin() -> DeadLetter:
    return DeadLetter("not-framed", "e", None, None, None, None, None, b"x", {})
