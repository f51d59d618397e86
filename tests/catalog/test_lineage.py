"""The lineage graph names product versions as every command does (no network)."""

from __future__ import annotations

from streams.catalog import Catalog, CatalogEntry
from streams.catalog.lineage import LineageGraph
from tests.catalog._entries import descriptor, domain, entry


def test_a_bare_name_is_the_latest_active_version() -> None:
    """v2 is published but not active yet (deprecated until its backfill is done)."""
    dom = domain()
    entries: list[CatalogEntry] = [
        entry(descriptor(dom)),
        entry(descriptor(dom, version=2, status="deprecated", deprecation={"note": "not yet"})),
    ]
    catalog = Catalog({item.key: item for item in entries})
    graph = LineageGraph.build(catalog, [])
    assert graph.resolve(f"{dom}.play_events", known=catalog.entries) == f"{dom}.play_events.v1"
    assert graph.resolve(f"{dom}.play_events.v2", known=catalog.entries) == (
        f"{dom}.play_events.v2"
    )
    # Versions only known by name (agents' runs) count as active.
    assert graph.resolve(f"{dom}.play_events", known=[f"{dom}.play_events.v3"]) == (
        f"{dom}.play_events.v3"
    )


def test_an_unknown_name_suggests_the_close_ones() -> None:
    import pytest

    from streams.errors import ConfigError

    dom = domain()
    catalog = Catalog({item.key: item for item in [entry(descriptor(dom))]})
    graph = LineageGraph.build(catalog, [])
    with pytest.raises(ConfigError) as caught:
        graph.resolve(f"{dom}.play_event", known=catalog.entries)
    assert f"did you mean {dom}.play_events?" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        graph.resolve("elsewhere.zzz", known=catalog.entries)
    assert "did you mean" not in str(caught.value)
