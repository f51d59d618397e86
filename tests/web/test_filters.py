"""The list's search and filters: any query string is safe, unknown values match nothing."""

from __future__ import annotations

from streams.web import Filters, build_snapshot
from streams.web._filters import MAX_TEXT, select, unknown_values
from tests.web._mesh import NOW_MS, mesh

PRODUCTS = build_snapshot(**mesh(6, domains=3), now_ms=NOW_MS).products


def ids(**query: str) -> list[str]:
    return [p["id"] for p in select(PRODUCTS, Filters.from_query(query))]


def test_no_filter_is_everything() -> None:
    assert len(ids()) == len(PRODUCTS)
    assert not Filters.from_query({"unrelated": "x"}).active


def test_each_filter_narrows() -> None:
    assert ids(domain="dom1") == ["dom1.events_1", "dom1.events_4", "dom1.hourly"]
    assert ids(kind="aggregate") == ["dom0.hourly", "dom1.hourly", "dom2.hourly"]
    assert ids(tag="v2") == ["dom0.events_0"]
    assert set(ids(classification="internal")) == {
        "dom1.events_1",
        "dom0.events_3",
        "dom2.events_5",
    }
    assert ids(state="breached") == ["dom2.events_2"]
    assert ids(state="at_risk") == ["dom1.events_1", "dom1.events_4"]
    assert ids(domain="dom2", state="breached") == ["dom2.events_2"]


def test_search_is_case_insensitive_over_names_purposes_owners_and_tags() -> None:
    assert ids(q="EVENTS_4") == ["dom1.events_4"]
    assert len(ids(q="player-platform")) == len(PRODUCTS)
    assert ids(q="v2") == ["dom0.events_0"]


def test_unknown_values_and_hostile_text_match_nothing() -> None:
    assert ids(domain="nope") == []
    assert ids(state="<script>") == []
    assert ids(q="x" * 10_000) == []
    assert len(Filters.from_query({"q": "y" * 10_000}).q) == MAX_TEXT


def test_a_filter_value_nobody_can_match_is_named_with_the_allowed_ones() -> None:
    facets = build_snapshot(**mesh(6, domains=3), now_ms=NOW_MS).facets()
    assert unknown_values(Filters.from_query({"state": "met"}), facets) == []
    assert unknown_values(Filters.from_query({"state": "breached", "domain": "dom1"}), facets) == []
    (notice,) = unknown_values(Filters.from_query({"state": "bogus"}), facets)
    assert notice == (
        "unknown state 'bogus': use one of breached, at_risk, met, unobserved (or none)"
    )
    notices = unknown_values(Filters.from_query({"domain": "nope", "kind": "x"}), facets)
    assert notices == [
        "unknown domain 'nope': use one of dom0, dom1, dom2 (or none)",
        "unknown kind 'x': use one of source-aligned, aggregate, consumer-aligned (or none)",
    ]
    # A closed set's value that no product has now is valid: zero products, no notice.
    assert unknown_values(Filters.from_query({"classification": "restricted"}), facets) == []
