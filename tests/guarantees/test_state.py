"""The monitor's per-product checkpoints round-trip, and corrupt ones are named."""

from __future__ import annotations

import uuid
import zlib

import orjson
import pytest

from streams.config import Settings
from streams.errors import StateError
from streams.guarantees.state import ProductState, StateStore


def _state(topic: str = "player.play_events.v1") -> ProductState:
    return ProductState(
        topic=topic,
        measures=b"\x00\x01opaque",
        offsets={topic: {0: 10, 3: 7}, f"{topic}.dlq": {0: 1}},
        ends={0: 10, 3: 9},
        times={0: [[0, 5], [1000, 2000]]},
        previous={"freshness": {"state": "met"}},
    )


def test_a_state_round_trips() -> None:
    state = _state()
    assert ProductState.decode(state.encode(), source="x") == state
    assert "windows" not in orjson.loads(zlib.decompress(state.encode()))  # as before
    aggregate = _state()
    aggregate.windows = b"\x01window check"
    assert ProductState.decode(aggregate.encode(), source="x") == aggregate


def test_corrupt_and_foreign_records_are_named() -> None:
    with pytest.raises(StateError, match=r"^t\[0\]@5: a corrupt monitor state record"):
        ProductState.decode(b"junk", source="t[0]@5")
    future = zlib.compress(orjson.dumps({"format": 99}))
    with pytest.raises(StateError, match="format 99 is not 1; delete the record"):
        ProductState.decode(future, source="t[0]@6")


def test_the_last_record_per_product_wins_and_a_tombstone_forgets(settings: Settings) -> None:
    store = StateStore(settings=settings, topic=f"_mesh.test.{uuid.uuid4().hex[:8]}")
    try:
        store.ensure_topic()
        first, other = _state("a.b.v1"), _state("c.d.v1")
        store.write([first, other])
        first.ends = {0: 99}
        store.write([first])
        store.remove(["c.d.v1"])
        found = store.read()
    finally:
        store.close()
    assert list(found) == ["a.b.v1"]
    assert found["a.b.v1"].ends == {0: 99}
