"""A replay's lineage on both brokers: OpenLineage events on ``_mesh.lineage``, ``mesh lineage``."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from confluent_kafka.admin import AdminClient, ConfigResource

from streams.agents.definition import InputPort
from streams.agents.replay import replay
from streams.cli import main
from streams.errors import ConfigError
from streams.kafka.topics import read_to_end
from tests.agents.test_replay import T1, Mesh, history, produce
from tests.agents.test_replay import mesh as mesh  # the fixture

LINEAGE = "_mesh.lineage"


def events_of(mesh: Mesh, key: str) -> list[dict[str, Any]]:
    return [
        orjson.loads(message.value())
        for message in read_to_end({"bootstrap.servers": mesh.bootstrap}, LINEAGE)
        if message.key() == key.encode()
    ]


def test_a_replay_is_a_batch_run_and_mesh_lineage_shows_its_input(mesh: Mesh) -> None:
    _, after = history(11)
    produce(mesh, [(T1 + i, event) for i, event in enumerate(after[:50])])
    replay(mesh.definition, settings=mesh.settings, start_ms=T1)

    key = f"run:streams/{mesh.output()}.replay"
    start, complete = events_of(mesh, key)
    assert (start["eventType"], complete["eventType"]) == ("START", "COMPLETE")
    assert start["run"]["runId"] == complete["run"]["runId"]
    namespace = f"kafka://{mesh.bootstrap.split(',')[0]}"
    for event in (start, complete):
        assert event["schemaURL"].startswith("https://openlineage.io/spec/2-0-2/OpenLineage.json")
        assert event["job"]["namespace"] == "streams"
        assert event["job"]["name"] == f"{mesh.output()}.replay"
        assert event["job"]["facets"]["jobType"]["processingType"] == "BATCH"
        assert event["inputs"] == [{"namespace": namespace, "name": mesh.input}]
        assert event["outputs"] == [{"namespace": namespace, "name": mesh.output()}]

    admin = AdminClient({"bootstrap.servers": mesh.bootstrap})
    resource = ConfigResource("topic", LINEAGE)
    configs = admin.describe_configs([resource])[resource].result(10)
    assert configs["cleanup.policy"].value == "delete"
    assert configs["retention.ms"].value == "604800000"

    product = f"{mesh.domain}.hourly_play_sessions"
    args = ["lineage", product, "--output", "json", "--bootstrap-servers", mesh.bootstrap]
    runner = CliRunner(env={"STREAMS_REGISTRY__URL": mesh.settings.registry.url})
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    graph = json.loads(result.stdout)
    assert graph["product"] == mesh.output()
    assert graph["upstream"] == [{"product": mesh.input, "children": []}]
    assert {"from": mesh.input, "to": mesh.output(), "via": ["agent"]} in graph["edges"]

    shown = runner.invoke(main, args[:2] + args[4:])
    assert shown.exit_code == 0, shown.output
    assert mesh.input in shown.stdout


def test_a_failed_replay_emits_fail_with_the_error(mesh: Mesh) -> None:
    broken = dataclasses.replace(
        mesh.definition, inputs=(InputPort(f"{mesh.domain}.missing_events", 1),)
    )
    with pytest.raises(ConfigError, match="does not exist"):
        replay(broken, settings=mesh.settings, start_ms=T1)
    start, fail = events_of(mesh, f"run:streams/{mesh.output()}.replay")
    assert (start["eventType"], fail["eventType"]) == ("START", "FAIL")
    message = fail["run"]["facets"]["errorMessage"]["message"]
    assert message.startswith("ConfigError: input topic ")
    assert "does not exist" in message
