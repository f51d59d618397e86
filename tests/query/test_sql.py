"""Product names in SQL: found with DuckDB's tokenizer, rewritten, run over in-memory tables."""

from __future__ import annotations

import dataclasses
import datetime

import pyarrow as pa
import pytest

from streams.catalog import Catalog
from streams.config import Settings
from streams.errors import ConfigError, QueryError
from streams.query._arrow import layout_of
from streams.query._sql import Bound, bind, run
from tests.catalog._entries import descriptor, entry
from tests.catalog._repo import REPO


def catalog() -> Catalog:
    entries = [
        entry(descriptor("player", "play_events")),
        entry(descriptor("player", "play_events", version=2)),
        entry(descriptor("player", "hourly_play_sessions", kind="aggregate")),
        entry(descriptor("listeners", "registrations")),
    ]
    return Catalog({e.key: e for e in entries})


def test_product_names_become_quoted_identifiers_and_name_their_version() -> None:
    bound = bind(
        "SELECT p.user_id, r.country FROM player.play_events p "
        "JOIN listeners.registrations.v1 AS r ON p.user_id = r.user_id "
        "WHERE p.note <> 'player.hourly_play_sessions' -- player.nothing\n",
        catalog(),
    )
    assert bound.text == (
        'SELECT p.user_id, r.country FROM "player.play_events" p '
        'JOIN "listeners.registrations.v1" AS r ON p.user_id = r.user_id '
        "WHERE p.note <> 'player.hourly_play_sessions' -- player.nothing\n"
    )
    assert {name: e.key for name, e in bound.tables.items()} == {
        "player.play_events": "player.play_events.v2",
        "listeners.registrations.v1": "listeners.registrations.v1",
    }


def test_a_column_qualified_by_its_product_keeps_its_column() -> None:
    bound = bind(
        "SELECT player.hourly_play_sessions.plays FROM player.hourly_play_sessions", catalog()
    )
    assert bound.text == (
        'SELECT "player.hourly_play_sessions".plays FROM "player.hourly_play_sessions"'
    )


def test_a_quoted_whole_name_is_a_product_too() -> None:
    bound = bind('SELECT count(*) FROM "player.play_events.v1"', catalog())
    assert bound.text == 'SELECT count(*) FROM "player.play_events.v1"'
    assert bound.tables["player.play_events.v1"].key == "player.play_events.v1"


def test_an_unknown_product_is_named_with_its_close_matches() -> None:
    with pytest.raises(ConfigError, match=r"no product 'player\.play_event'.*player\.play_events"):
        bind("SELECT * FROM player.play_event", catalog())
    with pytest.raises(ConfigError, match=r"no product 'plyer\.play_events'.*player\.play_events"):
        bind("SELECT * FROM x JOIN plyer.play_events ON true", catalog())
    with pytest.raises(ConfigError, match=r"player\.play_events has no version 3.*v1.*v2"):
        bind("SELECT * FROM player.play_events.v3", catalog())


def test_other_dotted_names_are_left_to_duckdb() -> None:
    bound = bind("SELECT t.a FROM information_schema.tables t", catalog())
    assert bound.text == "SELECT t.a FROM information_schema.tables t"
    assert bound.tables == {}


def test_run_registers_the_tables_and_joins_them() -> None:
    bound = bind(
        "SELECT r.country, sum(p.ms) AS ms FROM player.play_events p "
        "JOIN listeners.registrations r USING (user_id) GROUP BY ALL ORDER BY ms DESC",
        catalog(),
    )
    plays = pa.table({"user_id": ["a", "b", "a"], "ms": [1, 2, 3]})
    people = pa.table({"user_id": ["a", "b"], "country": ["DE", "FR"]})
    found = run(bound, {"player.play_events": plays, "listeners.registrations": people})
    assert found.to_pylist() == [{"country": "DE", "ms": 4}, {"country": "FR", "ms": 2}]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("SELEC 1", r"syntax error at or near \"SELEC\""),
        ('SELECT nope FROM "t.p"', r"column \"nope\" not found"),
        ("SELECT * FROM nothing", r"nothing does not exist; products are named"),
        ("SELECT * FROM read_csv('/etc/passwd')", r"disabled"),
    ],
)
def test_duckdb_errors_name_the_problem(text: str, problem: str) -> None:
    with pytest.raises(QueryError, match=problem) as caught:
        run(Bound(text, {}), {"t.p": pa.table({"a": [1]})})
    assert caught.value.query == text


def test_names_that_are_sql_keywords_are_products_too() -> None:
    entries = [entry(descriptor("web", "session")), entry(descriptor("web", "order"))]
    bound = bind(
        "SELECT * FROM web.session JOIN web.order USING (id)", Catalog({e.key: e for e in entries})
    )
    assert bound.text == 'SELECT * FROM "web.session" JOIN "web.order" USING (id)'


DEMO_QUERY = (
    "SELECT device, count(*) AS listener_hours, sum(plays) AS plays, sum(skips) AS skips, "
    "round(sum(total_ms_played) / 3600000.0, 1) AS hours_played "
    "FROM player.hourly_play_sessions GROUP BY device ORDER BY plays DESC LIMIT 5"
)
"""The query the demo prints at its end (and the lead's README points to): it must run against
the real HourlyPlaySession schema."""


def test_the_demo_query_runs_on_the_real_schema() -> None:
    schema = (REPO / "schemas/player/HourlyPlaySession.avsc").read_text()
    hourly = entry(descriptor("player", "hourly_play_sessions", kind="aggregate"))
    hourly = dataclasses.replace(hourly, schema=schema)
    bound = bind(DEMO_QUERY, Catalog({hourly.key: hourly}))
    start = datetime.datetime(2026, 11, 30, 10, tzinfo=datetime.UTC)
    rows = [
        {
            "window_start": start,
            "window_end": start + datetime.timedelta(hours=1),
            "event_time": start,
            "user_id": f"u{n}",
            "plays": 2 + n,
            "skips": 1,
            "total_ms_played": 1_800_000,
            "distinct_tracks": 2,
            "offline_plays": 0,
            "device": device,
            "final": True,
        }
        for n, device in enumerate(["IOS", "WEB", "IOS"])
    ]
    table = layout_of(schema).table(rows)
    found = run(bound, {"player.hourly_play_sessions": table})
    assert found.to_pylist() == [
        {"device": "IOS", "listener_hours": 2, "plays": 6, "skips": 2, "hours_played": 1.0},
        {"device": "WEB", "listener_hours": 1, "plays": 3, "skips": 1, "hours_played": 0.5},
    ]


def test_a_syntax_error_is_found_before_any_product_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from streams.query import _sql

    def read_nothing(*args: object, **kwargs: object) -> pa.Table:
        raise AssertionError("a product was read for a query that does not parse")

    monkeypatch.setattr(_sql, "table_of", read_nothing)
    with pytest.raises(QueryError, match=r"syntax error at or near \"SELEC\""):
        _sql.sql("SELEC * FROM player.play_events", catalog=catalog(), settings=Settings())
