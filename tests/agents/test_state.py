"""Accumulators and checkpoints survive encoding exactly; anything else is refused by name."""

from __future__ import annotations

import math
import zlib
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.agents.state import (
    Checkpoint,
    WindowState,
    decode_checkpoint,
    decode_state,
    dump,
    encode_checkpoint,
    encode_state,
    load,
)
from streams.errors import StateError

HASHABLE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.frozensets(inner, max_size=3) | st.tuples(inner, inner),
    max_leaves=8,
)
PLAIN = st.recursive(
    HASHABLE | st.floats(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        | st.dictionaries(HASHABLE, inner, max_size=3)
        | st.sets(HASHABLE, max_size=3)
    ),
    max_leaves=12,
)


def roundtrip(value: Any) -> Any:
    tree = dump(value, product="p.x.v1", key="k", window=(0, 1))
    return load(decode_state(encode_state(tree), source="test"))


@given(PLAIN)
def test_plain_data_comes_back_equal_and_of_the_same_types(value: Any) -> None:
    back = roundtrip(value)
    assert back == value
    assert repr(type(back)) == repr(type(value))


def test_tags_cover_what_json_lacks() -> None:
    value = {
        "$literal": 1,
        "ids": {"a"},
        "frozen": frozenset({1}),
        "pair": (1, "x"),
        "by_int": {3: "three"},
        "huge": 2**70,
        "inf": math.inf,
    }
    back = roundtrip(value)
    assert back == value
    assert isinstance(back["pair"], tuple)
    assert isinstance(back["frozen"], frozenset)
    assert math.isnan(roundtrip(math.nan))


def test_a_dump_is_a_copy() -> None:
    acc = {"ids": {"a"}}
    tree = dump(acc, product="p.x.v1", key="k", window=(0, 1))
    acc["ids"].add("b")
    assert load(tree) == {"ids": {"a"}}


def test_anything_else_is_refused_naming_product_key_and_window() -> None:
    with pytest.raises(StateError) as caught:
        dump({"at": object()}, product="player.x.v1", key="u1", window=(0, 3_600_000))
    message = str(caught.value)
    assert "player.x.v1: the accumulator of key 'u1'" in message
    assert "[1970-01-01T00:00:00Z, 1970-01-01T01:00:00Z)" in message
    assert "builtins.object" in message
    assert caught.value.key == "u1"


def test_a_checkpoint_roundtrips() -> None:
    checkpoint = Checkpoint(
        product="player.x.v1",
        task=2,
        offsets={("player.a.v1", 2): 10},
        watermarks={("player.a.v1", 2): 5_000},
        watermark=4_000,
        windows=(WindowState("u1", 0, 3_600_000, [1, {"$set": ["t"]}]),),
        counters={"events": 10},
        quiet={("player.a.v1", 2): 1.5},
    )
    assert decode_checkpoint(encode_checkpoint(checkpoint), source="t") == checkpoint


def test_corrupt_or_foreign_records_are_refused_with_their_source() -> None:
    with pytest.raises(StateError, match=r"checkpoint at topic\[0\]@7 is corrupt"):
        decode_state(b"not zlib", source="topic[0]@7")
    future = zlib.compress(orjson.dumps({"format": 99, "state": {}}))
    with pytest.raises(StateError, match="has format 99, this version reads format 1"):
        decode_state(future, source="x")
    with pytest.raises(StateError, match="is not a checkpoint"):
        decode_checkpoint(encode_state({"task": 1}), source="x")
