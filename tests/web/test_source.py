"""A snapshot read from a real platform (both brokers): the signed catalog, the monitor's
observations and the registry's grants, then served over HTTP."""

from __future__ import annotations

import datetime
import socket
import time
import uuid

import httpx
from click.testing import CliRunner

from streams.agents.lineage import KafkaLineageSink
from streams.catalog import CatalogStore
from streams.catalog.agents import AgentRunRecord
from streams.cli import main
from streams.cli.lineage import load_runs
from streams.config import Settings
from streams.guarantees import ObservationPublisher
from streams.local import PlatformInfo
from streams.web import WebServer, read_snapshot
from tests.catalog._entries import descriptor, domain, entry
from tests.web._mesh import hours, observation
from tests.web.conftest import Served


def test_snapshot_of_a_real_platform_served_over_http(settings: Settings) -> None:
    dom = domain()
    published = entry(descriptor(dom, tags=["web-test"]))
    with CatalogStore(settings=settings) as store:
        store.ensure_topic()
        store.publish(published)
    now_ms = int(time.time() * 1000)
    measured = observation(
        published.key,
        "freshness",
        "breached",
        measured_at_ms=now_ms,
        details={"hours": hours()},
    )
    with ObservationPublisher(settings=settings) as publisher:
        publisher.publish([measured])

    snapshot = read_snapshot(settings)

    assert snapshot.problems == ()  # catalog, observations, runs and grants were all read
    detail = snapshot.details[f"{dom}.play_events"]
    assert detail["owner"]["team"] == "player-platform"
    assert detail["state"] == "breached"
    assert detail["access"] == []  # the registry answered: nobody asked for access yet
    assert any(p["id"] == f"{dom}.play_events" for p in snapshot.products)
    served = Served(WebServer(lambda: read_snapshot(settings), port=0, refresh_s=3600))
    try:
        with httpx.Client(base_url=served.url, trust_env=False, timeout=10) as client:
            page = client.get(f"/products/{dom}.play_events").text
            listed = client.get("/api/products", params={"tag": "web-test", "q": dom}).json()
    finally:
        served.stop()
    assert "breached" in page
    assert "Every playback." in page
    assert [p["id"] for p in listed["products"]] == [f"{dom}.play_events"]


def test_a_stopped_agent_is_completed_in_the_catalog_as_in_mesh_lineage(
    settings: Settings,
) -> None:
    dom = domain()
    source = entry(descriptor(dom, name="events"))
    inputs = [{"product": f"{dom}.events", "version": 1}]
    derived = entry(descriptor(dom, name="hourly", kind="aggregate", inputPorts=inputs))
    with CatalogStore(settings=settings) as store:
        store.ensure_topic()
        store.publish(source)
        store.publish(derived)
    run_id = str(uuid.uuid4())
    started = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=2)
    sink = KafkaLineageSink(settings=settings)
    for kind, at in (("START", started), ("COMPLETE", started + datetime.timedelta(minutes=1))):
        sink.send(
            derived.key,
            {
                "eventType": kind,
                "eventTime": at.isoformat(),
                "run": {"runId": run_id, "facets": {}},
                "job": {
                    "namespace": "streams",
                    "name": derived.key,
                    "facets": {"jobType": {"processingType": "STREAMING"}},
                },
                "outputs": [{"namespace": "kafka", "name": derived.key}],
            },
        )
    sink.record(
        AgentRunRecord(
            job=derived.key,
            inputs=(source.key,),
            outputs=(derived.key,),
            agent_version="sha256:0123456789abcdef",
            processing="STREAMING",
            run_id=run_id,
            started_at=started,
        )
    )

    snapshot = read_snapshot(settings)

    nodes = {n["id"]: n for n in snapshot.lineage["nodes"]}
    now = datetime.datetime.now(datetime.UTC)
    (shown,) = load_runs(settings, derived.key)  # what mesh lineage lists
    assert shown.status(now) == "completed"
    assert nodes[f"agent:{derived.key}"]["status"] == "completed"
    assert [r["status"] for r in snapshot.details[derived.key]["runs"]] == ["completed"]


def test_mesh_web_on_a_taken_port_says_which_and_how_to_fix_it(platform: PlatformInfo) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        where = ["--bootstrap-servers", platform.bootstrap_servers]
        where += ["--registry-url", platform.registry_url]
        result = CliRunner().invoke(main, ["web", "--port", str(port), *where])
    assert result.exit_code == 1, result.output
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.output
