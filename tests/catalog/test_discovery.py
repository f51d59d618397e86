"""The catalog read from entries: filters, search over field docs, show, resolve (no network)."""

from __future__ import annotations

import json

import pytest

from streams.catalog import Catalog, CatalogEntry, SchemaField
from streams.catalog.discovery import schema_fields
from streams.errors import ConfigError
from streams.kafka.directory import ProductStatus
from streams.naming import ProductRef
from tests.catalog._entries import SCHEMA, descriptor, domain, entry


def catalog_of(*entries: CatalogEntry) -> Catalog:
    return Catalog({item.key: item for item in entries})


@pytest.fixture
def dom() -> str:
    return domain()


@pytest.fixture
def catalog(dom: str) -> Catalog:
    other = domain()
    return catalog_of(
        entry(
            descriptor(
                dom,
                status="deprecated",
                deprecation={"note": "v2 adds bitrate", "replacedBy": f"{dom}.play_events.v2"},
            )
        ),
        entry(descriptor(dom, version=2, tags=["playback", "core"])),
        entry(
            descriptor(
                dom,
                name="sessions",
                kind="aggregate",
                classification="internal",
                tags=["sessions"],
                description={"purpose": "Hourly listening sessions.", "usage": "Dashboards."},
                inputPorts=[{"product": f"{dom}.play_events", "version": 2}],
            ),
            schema={"type": "record", "name": "Session", "fields": []},
        ),
        entry(
            descriptor(other, name="charts", kind="consumer-aligned", classification="public"),
            schema={"type": "record", "name": "Chart", "fields": []},
        ),
        entry(
            descriptor(
                other,
                name="retired_feed",
                status="retired",
                inputPorts=[{"product": f"{dom}.play_events"}],
            )
        ),
    )


def keys(entries: list[CatalogEntry]) -> list[str]:
    return [item.key for item in entries]


def test_list_everything_sorted_by_product_and_version(catalog: Catalog, dom: str) -> None:
    found = keys(catalog.list(domain=dom))
    assert found == [f"{dom}.play_events.v1", f"{dom}.play_events.v2", f"{dom}.sessions.v1"]
    assert len(catalog.list()) == len(catalog) == 5


def test_list_by_kind(catalog: Catalog, dom: str) -> None:
    assert keys(catalog.list(kind="aggregate")) == [f"{dom}.sessions.v1"]
    assert [e.product.name for e in catalog.list(kind="consumer-aligned")] == ["charts"]


def test_list_by_tag(catalog: Catalog, dom: str) -> None:
    assert keys(catalog.list(tag="core")) == [f"{dom}.play_events.v2"]
    assert len(catalog.list(tag="playback")) == 4  # all but sessions
    assert catalog.list(tag="nothing") == []


def test_list_by_classification(catalog: Catalog, dom: str) -> None:
    assert keys(catalog.list(classification="internal")) == [f"{dom}.sessions.v1"]
    assert [e.product.name for e in catalog.list(classification="public")] == ["charts"]


def test_filters_combine(catalog: Catalog, dom: str) -> None:
    assert keys(catalog.list(domain=dom, tag="playback", classification="confidential")) == [
        f"{dom}.play_events.v1",
        f"{dom}.play_events.v2",
    ]
    assert catalog.list(domain=dom, kind="consumer-aligned") == []


def test_text_searches_names_descriptions_and_field_docs(catalog: Catalog, dom: str) -> None:
    assert keys(catalog.list(text="HOURLY listening")) == [f"{dom}.sessions.v1"]
    assert keys(catalog.list(domain=dom, text="sessions")) == [f"{dom}.sessions.v1"]
    # "moodboard" appears only in the doc of a nested record's field.
    moodboard = keys(catalog.list(domain=dom, text="MoodBoard"))
    assert moodboard == [f"{dom}.play_events.v1", f"{dom}.play_events.v2"]
    assert catalog.list(text=dom) == catalog.list(domain=dom)
    assert catalog.list(text="no such words anywhere") == []


def test_show_latest_version_with_versions_consumers_and_fields(catalog: Catalog, dom: str) -> None:
    view = catalog.show(f"{dom}.play_events")
    assert view.entry.key == f"{dom}.play_events.v2"
    assert [(v.version, v.status) for v in view.versions] == [(1, "deprecated"), (2, "active")]
    assert view.consumers == (f"{dom}.sessions.v1",)
    assert view.owner is not None
    assert view.owner.team == "player-platform"
    assert view.guarantees is not None
    assert view.guarantees.freshness == 60
    assert view.status == "active"
    assert view.deprecation is None
    assert SchemaField("user_id", "string", "The listener.", pii=True) in view.fields
    assert SchemaField("context", "null | Context", "Where playback started.", False) in view.fields
    assert SchemaField("context.playlist_id", "string", "Curated moodboard id.", False) in (
        view.fields
    )
    assert SchemaField("event_time", "timestamp-millis", "When the playback ended.", False) in (
        view.fields
    )


def test_show_one_version(catalog: Catalog, dom: str) -> None:
    view = catalog.show(f"{dom}.play_events.v1")
    assert view.status == "deprecated"
    assert view.deprecation is not None
    assert view.deprecation.note == "v2 adds bitrate"
    assert [key.split(".", 1)[1] for key in view.consumers] == ["retired_feed.v1"]
    assert len(view.versions) == 2


def test_show_inputs_and_json(catalog: Catalog, dom: str) -> None:
    data = catalog.show(f"{dom}.sessions").to_dict()
    assert data["inputs"] == [f"{dom}.play_events.v2"]
    assert data["ports"]["output"]["topic"] == f"{dom}.sessions.v1"
    assert data["ports"]["output"]["subject"] == f"{dom}.sessions.v1-value"
    assert data["kind"] == "aggregate"
    assert data["schema"]["fields"] == []
    assert data["guarantees"]["maxDuplicateShare"] == 0.001
    assert data["versions"][0]["published_at"].startswith("2025-01-02T03:04:05")


def test_unknown_product_suggests_close_names(catalog: Catalog, dom: str) -> None:
    with pytest.raises(ConfigError, match="did you mean") as caught:
        catalog.show(f"{dom}.play_event")
    assert f"{dom}.play_events" in str(caught.value)
    assert "_mesh.products" in str(caught.value)
    with pytest.raises(ConfigError, match=r"no product 'zz\.nothing_like_it'"):
        catalog.show("zz.nothing_like_it")


def test_unknown_version_lists_published_ones(catalog: Catalog, dom: str) -> None:
    with pytest.raises(ConfigError, match=r"has no version 3.*v1 \(deprecated\), v2 \(active\)"):
        catalog.show(f"{dom}.play_events.v3")


def test_malformed_name_is_a_config_error(catalog: Catalog) -> None:
    with pytest.raises(ConfigError, match="invalid product"):
        catalog.show("no-dots-here")


def test_resolve_implements_the_directory(catalog: Catalog, dom: str) -> None:
    assert catalog.resolve(ProductRef(dom, "play_events", 2)) == ProductStatus(
        topic=f"{dom}.play_events.v2", status="active", key="user_id"
    )
    assert catalog.resolve(ProductRef(dom, "play_events", 1)) == ProductStatus(
        topic=f"{dom}.play_events.v1",
        status="deprecated",
        note="v2 adds bitrate",
        replaced_by=f"{dom}.play_events.v2",
        key="user_id",  # the descriptor's outputPort.key: what producers key events by
    )
    assert catalog.resolve(ProductRef(dom, "play_events", 9)) is None


def test_schema_fields_tolerates_odd_schemas() -> None:
    assert schema_fields("not json") == []
    assert schema_fields('"string"') == []
    recursive = {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "tags", "type": {"type": "map", "values": "string"}},
            {"name": "next", "type": ["null", "Node"], "doc": "Next node."},
            {
                "name": "kids",
                "type": {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "Kid",
                        "fields": [{"name": "age", "type": "int"}],
                    },
                },
            },
        ],
    }
    names = [(f.name, f.type) for f in schema_fields(json.dumps(recursive))]
    assert names == [
        ("tags", "map<string>"),
        ("next", "null | Node"),
        ("kids", "array<Kid>"),
        ("kids.age", "int"),
    ]
    assert [f.name for f in schema_fields(json.dumps(SCHEMA))][:2] == ["event_id", "user_id"]


def test_a_bare_name_means_the_latest_active_version(dom: str) -> None:
    """v3 is being rolled out (not yet active), v1 deprecated: the bare name is v2."""
    rolling = catalog_of(
        entry(descriptor(dom, status="deprecated", deprecation={"note": "use v2"})),
        entry(descriptor(dom, version=2)),
        entry(descriptor(dom, version=3, status="deprecated", deprecation={"note": "not yet"})),
    )
    assert rolling.pick(f"{dom}.play_events") == ProductRef(dom, "play_events", 2)
    assert rolling.show(f"{dom}.play_events").entry.key == f"{dom}.play_events.v2"
    assert rolling.pick(f"{dom}.play_events", version=3).major == 3
    assert rolling.show(f"{dom}.play_events", version=1).entry.key == f"{dom}.play_events.v1"


def test_without_an_active_version_the_latest_served_one_is_meant(dom: str) -> None:
    old = catalog_of(
        entry(descriptor(dom, status="retired", deprecation={"note": "gone"})),
        entry(descriptor(dom, version=2, status="deprecated", deprecation={"note": "going"})),
        entry(descriptor(dom, version=3, status="retired", deprecation={"note": "gone"})),
    )
    assert old.pick(f"{dom}.play_events").major == 2
    gone = catalog_of(
        entry(descriptor(dom, status="retired", deprecation={"note": "gone"})),
        entry(descriptor(dom, version=2, status="retired", deprecation={"note": "gone"})),
    )
    assert gone.pick(f"{dom}.play_events").major == 2


def test_pick_refuses_an_unpublished_or_contradicting_version(catalog: Catalog, dom: str) -> None:
    with pytest.raises(ConfigError, match=r"has no version 5 .*known versions: v1"):
        catalog.pick(f"{dom}.play_events", version=5)
    with pytest.raises(ConfigError, match="names version 1 but version 2 was asked for"):
        catalog.pick(f"{dom}.play_events.v1", version=2)


def test_pick_reads_an_unknown_product_by_the_naming_convention(catalog: Catalog) -> None:
    assert catalog.pick("zz.unpublished") == ProductRef("zz", "unpublished", 1)
    assert catalog.pick("zz.unpublished", version=4) == ProductRef("zz", "unpublished", 4)
