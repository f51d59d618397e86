"""The definition API: what a domain writes, and how its module is found and loaded."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from streams.agents.definition import (
    DerivedProduct,
    Hopping,
    InputPort,
    Session,
    Tumbling,
    Window,
    definition_path,
    load_definition,
)
from streams.errors import ConfigError
from streams.naming import ProductRef

ROOT = Path(__file__).parents[2]


class Count:
    def init(self) -> int:
        return 0

    def add(self, acc: int, event: Mapping[str, Any]) -> int:
        return acc + 1

    def result(self, acc: int, key: str, window: Window) -> dict[str, Any]:
        return {"n": acc}


def make(**changes: Any) -> DerivedProduct:
    fields: dict[str, Any] = {
        "product": "player.counts",
        "version": 1,
        "inputs": (InputPort("player.play_events", 1),),
        "key": "user_id",
        "window": Tumbling(timedelta(minutes=5)),
        "allowed_lateness": timedelta(0),
        "aggregation": Count(),
    }
    fields.update(changes)
    return DerivedProduct(**fields)


def test_a_definition_knows_its_topic_and_durations() -> None:
    product = make(allowed_lateness=timedelta(minutes=2), idle_timeout=timedelta(seconds=5))
    assert product.ref == ProductRef("player", "counts", 1)
    assert product.ref.topic == "player.counts.v1"
    assert product.lateness_ms == 120_000
    assert product.idle_timeout_s == 5.0
    assert product.inputs[0].ref.topic == "player.play_events.v1"
    assert not product.merges


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"product": "Player.counts"}, "invalid domain name 'Player'"),
        ({"inputs": ()}, "player.counts: inputs must be a non-empty tuple"),
        ({"inputs": [InputPort("player.play_events")]}, "inputs must be a non-empty tuple"),
        (
            {"inputs": (InputPort("player.a"), InputPort("player.a"))},
            "an input is listed twice",
        ),
        ({"key": ""}, "key must name an input field"),
        ({"window": timedelta(hours=1)}, "window must be Tumbling, Hopping or Session"),
        ({"allowed_lateness": timedelta(seconds=-1)}, "allowed_lateness must be zero or positive"),
        ({"idle_timeout": timedelta(0)}, "idle_timeout must be positive"),
        ({"aggregation": object()}, "lacks init/add/result methods"),
    ],
)
def test_a_bad_definition_is_refused_with_what_to_fix(
    changes: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(")):
        make(**changes)


def test_windows_refuse_sizes_that_make_no_sense() -> None:
    with pytest.raises(ConfigError, match="Tumbling size must be positive"):
        Tumbling(timedelta(0))
    with pytest.raises(ConfigError, match="advance 2:00:00 is longer than its size 1:00:00"):
        Hopping(timedelta(hours=1), timedelta(hours=2))
    with pytest.raises(ConfigError, match=r"Session gap must be a datetime\.timedelta, not int"):
        Session(30)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="version 0"):
        InputPort("player.play_events", 0)


def test_a_merging_aggregation_is_recognised() -> None:
    class Merging(Count):
        def merge(self, a: int, b: int) -> int:
            return a + b

    assert make(aggregation=Merging(), window=Session(timedelta(minutes=30))).merges


def test_the_worked_example_loads() -> None:
    path = definition_path(ROOT, ProductRef("player", "hourly_play_sessions", 1))
    product = load_definition(path)
    assert product.product == "player.hourly_play_sessions"
    assert product.inputs == (InputPort("player.play_events", 1),)
    assert product.window == Tumbling(timedelta(hours=1))


def test_loading_names_the_file_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.py"
    with pytest.raises(ConfigError, match=r"nothing\.py: no such file"):
        load_definition(missing)
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match=r"broken\.py: importing it failed with RuntimeError"):
        load_definition(broken)
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(ConfigError, match=r"empty\.py: no module-level 'product'; bind"):
        load_definition(empty)
    wrong = tmp_path / "wrong.py"
    wrong.write_text("product = 'player.x'\n")
    with pytest.raises(ConfigError, match=r"wrong\.py: 'product' is 'player.x'"):
        load_definition(wrong)
    invalid = tmp_path / "invalid.py"
    invalid.write_text(
        "from datetime import timedelta\n"
        "from streams.agents.definition import Tumbling\n"
        "window = Tumbling(timedelta(0))\n"
    )
    with pytest.raises(ConfigError, match=r"invalid\.py: Tumbling size must be positive"):
        load_definition(invalid)


def test_a_product_without_code_is_named_as_such(tmp_path: Path) -> None:
    folder = tmp_path / "playlists"
    folder.mkdir()
    (folder / "generated.yaml").write_text("name: generated\nkind: consumer-aligned\n")
    with pytest.raises(ConfigError, match="a consumer-aligned product without code") as info:
        load_definition(folder / "generated.py")
    assert "source-aligned" not in str(info.value)
    with pytest.raises(ConfigError, match="lives next to its descriptor") as info:
        load_definition(folder / "nothing.py")
    assert "did you mean" not in str(info.value)


def test_a_misspelt_product_gets_a_suggestion(tmp_path: Path) -> None:
    folder = tmp_path / "player"
    folder.mkdir()
    (folder / "hourly_play_sessions.yaml").write_text("name: hourly_play_sessions\n")
    (folder / "hourly_play_sessions.v2.yaml").write_text("name: hourly_play_sessions\n")
    with pytest.raises(ConfigError, match=r"did you mean player\.hourly_play_sessions\?"):
        load_definition(folder / "hourly_play_session.py")
