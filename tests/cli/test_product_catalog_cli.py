"""``mesh product list`` and ``mesh product show`` against the catalog topic of the test broker.

Every test publishes its products in its own uuid domain; the topic is shared by the session, so
assertions look at that domain only.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from streams.catalog import CatalogStore
from streams.cli import main
from streams.config import Settings
from tests.catalog._entries import descriptor, domain, entry

SESSION: dict[str, Any] = {
    "type": "record",
    "name": "Session",
    "fields": [{"name": "minutes", "type": "long", "doc": "Minutes listened."}],
}


@pytest.fixture
def dom(settings: Settings) -> str:
    """A domain with play_events v1 (deprecated) and v2, and an aggregate reading v2."""
    name = domain()
    with CatalogStore(settings=settings) as store:
        store.publish(
            entry(
                descriptor(
                    name,
                    status="deprecated",
                    deprecation={"note": "use v2", "replacedBy": f"{name}.play_events.v2"},
                )
            )
        )
        store.publish(entry(descriptor(name, version=2, tags=["core"])))
        store.publish(
            entry(
                descriptor(
                    name,
                    name="sessions",
                    kind="aggregate",
                    classification="internal",
                    description={"purpose": "Hourly sessions.", "usage": "Dashboards."},
                    inputPorts=[{"product": f"{name}.play_events", "version": 2}],
                ),
                schema=SESSION,
            )
        )
    return name


@pytest.fixture
def runner(settings: Settings) -> CliRunner:
    """Reading the catalog checks who signed each entry, with the keys the registry publishes."""
    return CliRunner(env={"STREAMS_REGISTRY__URL": settings.registry.url})


def invoke(runner: CliRunner, settings: Settings, *args: str) -> Any:
    result = runner.invoke(
        main,
        [
            "product",
            *args,
            "--output",
            "json",
            "--bootstrap-servers",
            settings.kafka.bootstrap_servers,
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_json_filters_by_domain(runner: CliRunner, settings: Settings, dom: str) -> None:
    found = invoke(runner, settings, "list", "--domain", dom)
    assert [item["key"] for item in found] == [
        f"{dom}.play_events.v1",
        f"{dom}.play_events.v2",
        f"{dom}.sessions.v1",
    ]
    assert found[0]["status"] == "deprecated"
    assert found[1]["topic"] == f"{dom}.play_events.v2"
    assert found[1]["subject"] == f"{dom}.play_events.v2-value"


def test_list_json_other_filters(runner: CliRunner, settings: Settings, dom: str) -> None:
    def keys(*args: str) -> list[object]:
        return [item["key"] for item in invoke(runner, settings, "list", "--domain", dom, *args)]

    assert keys("--kind", "aggregate") == [f"{dom}.sessions.v1"]
    assert keys("--tag", "core") == [f"{dom}.play_events.v2"]
    assert keys("--classification", "internal") == [f"{dom}.sessions.v1"]
    assert keys("--search", "MOODBOARD") == [f"{dom}.play_events.v1", f"{dom}.play_events.v2"]
    # Without --domain, the search still finds this domain's products by id.
    everywhere = invoke(runner, settings, "list", "--search", f"{dom}.sessions")
    assert [item["key"] for item in everywhere] == [f"{dom}.sessions.v1"]


def test_list_text(runner: CliRunner, settings: Settings, dom: str) -> None:
    result = runner.invoke(
        main,
        [
            "product",
            "list",
            "--domain",
            dom,
            "--bootstrap-servers",
            settings.kafka.bootstrap_servers,
        ],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    assert f"{dom}.sessions.v1" in result.stdout
    assert "deprecated" in result.stdout
    assert "3 product version(s)" in result.stdout


def test_show_json(runner: CliRunner, settings: Settings, dom: str) -> None:
    view = invoke(runner, settings, "show", f"{dom}.play_events")
    assert view["key"] == f"{dom}.play_events.v2"
    assert view["consumers"] == [f"{dom}.sessions.v1"]
    assert [v["version"] for v in view["versions"]] == [1, 2]
    fields = {f["name"]: f for f in view["schema"]["fields"]}
    assert fields["user_id"]["pii"] is True
    assert fields["context.playlist_id"]["doc"] == "Curated moodboard id."
    assert view["owner"] == {"team": "player-platform", "contact": "player@tunewave.example"}


def test_show_version_text(runner: CliRunner, settings: Settings, dom: str) -> None:
    result = runner.invoke(
        main,
        [
            "product",
            "show",
            f"{dom}.play_events.v1",
            "--bootstrap-servers",
            settings.kafka.bootstrap_servers,
        ],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    assert "deprecated: use v2" in result.stdout
    assert f"(use {dom}.play_events.v2)" in result.stdout
    assert "Curated moodboard id." in result.stdout
    assert "v1 (deprecated), v2 (active)" in result.stdout
    assert "validity not measured, max dead letters 0" in result.stdout


def test_show_unknown_exits_1_with_suggestion(
    runner: CliRunner, settings: Settings, dom: str
) -> None:
    result = runner.invoke(
        main,
        [
            "product",
            "show",
            f"{dom}.sesions",
            "--bootstrap-servers",
            settings.kafka.bootstrap_servers,
        ],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 1, result.output
    assert f"did you mean {dom}.sessions" in result.stderr


def text_at_80(runner: CliRunner, settings: Settings, *args: str) -> str:
    result = runner.invoke(
        main,
        ["product", *args, "--bootstrap-servers", settings.kafka.bootstrap_servers],
        env={"COLUMNS": "80"},
    )
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout, result.stdout  # no cell cut short
    return result.stdout


def test_list_reads_at_80_columns(runner: CliRunner, settings: Settings, dom: str) -> None:
    shown = text_at_80(runner, settings, "list", "--domain", dom)
    lines = shown.splitlines()
    assert max(len(line) for line in lines) <= 80, shown
    for key, status in (
        (f"{dom}.play_events.v1", "deprecated"),
        (f"{dom}.play_events.v2", "active"),
        (f"{dom}.sessions.v1", "active"),
    ):
        # The key and its status whole, on one line.
        assert any(key in line and status in line for line in lines), shown
    assert "aggregate" in shown
    assert "player-platform" in shown


def test_show_reads_at_80_columns(runner: CliRunner, settings: Settings, dom: str) -> None:
    shown = text_at_80(runner, settings, "show", f"{dom}.play_events")
    assert f"{dom}.play_events.v2" in shown
    table = shown[shown.index("schema\n") : shown.index("observed")]
    assert max(len(line) for line in table.splitlines()) <= 80, shown
    for field in ("event_id", "user_id", "context.playlist_id", "event_time"):
        assert any(line.lstrip().startswith(field) for line in shown.splitlines()), shown
