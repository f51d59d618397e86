"""Which field identifies an event, and its 64-bit hash."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.catalog import Product
from streams.guarantees.duplicates import id_field, id_hash

LOADED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a busy CI box


def product(quality: list[dict[str, Any]]) -> Product:
    return Product.model_validate(
        {
            "name": "play_events",
            "domain": "player",
            "version": 1,
            "kind": "source-aligned",
            "outputPort": {"schema": "s.avsc", "eventTime": "event_time", "partitions": 1},
            "quality": quality,
        }
    )


def test_the_id_is_the_unique_rules_field_else_event_id_when_the_schema_has_it() -> None:
    unique = product([{"rule": "not_null", "field": "x"}, {"rule": "unique", "field": "play_id"}])
    assert id_field(unique, ["event_id", "play_id"]) == "play_id"
    assert id_field(product([]), ["event_id", "event_time"]) == "event_id"
    assert id_field(product([]), None) == "event_id"
    assert id_field(product([]), ["event_time"]) is None


@LOADED
@given(st.uuids())
def test_a_uuid_hashes_to_its_first_eight_bytes(value: uuid.UUID) -> None:
    assert id_hash(value) == int.from_bytes(value.bytes[:8], "big")


@LOADED
@given(st.text() | st.binary() | st.integers() | st.tuples(st.integers()))
def test_any_other_id_hashes_to_64_bits_the_same_every_time(value: object) -> None:
    hashed = id_hash(value)
    assert 0 <= hashed < 2**64
    assert hashed == id_hash(value)


def test_distinct_strings_hash_apart() -> None:
    hashes = {id_hash(f"order-{n}") for n in range(10_000)}
    assert len(hashes) == 10_000
