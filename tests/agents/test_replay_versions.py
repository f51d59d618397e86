"""The README's worked example: a v2 descriptor next to v1, filled by `mesh replay --into-version`.

`products/<domain>/hourly_play_sessions.v2.yaml` (version: 2) sits next to the v1 descriptor;
`mesh product apply` publishes both; the one code file `hourly_play_sessions.py` (version=1)
computes v1 live, and `mesh replay --into-version 2` runs it into the v2 topic.
"""

from __future__ import annotations

import json
import random
import shutil
import uuid
from pathlib import Path

import orjson
from click.testing import CliRunner
from confluent_kafka.admin import AdminClient

from streams.cli import main
from streams.config import Settings
from streams.kafka import Consumer, Producer
from tests.agents.test_hourly_play_sessions import START, play_events
from tests.helpers.kafka import drain

ROOT = Path(__file__).parents[2]


def repository(root: Path, domain: str) -> None:
    """The player example under a fresh domain, with a v2 descriptor of the aggregate."""
    folder = root / "products" / domain
    folder.mkdir(parents=True)
    for name in ("play_events.yaml", "hourly_play_sessions.yaml", "hourly_play_sessions.py"):
        text = (ROOT / "products/player" / name).read_text()
        text = text.replace("domain: player\n", f"domain: {domain}\n")
        text = text.replace("schemas/player/", f"schemas/{domain}/")
        text = text.replace("product: player.play_events", f"product: {domain}.play_events")
        text = text.replace('"player.hourly_play_sessions"', f'"{domain}.hourly_play_sessions"')
        text = text.replace('"player.play_events"', f'"{domain}.play_events"')
        (folder / name).write_text(text)
    v1 = (folder / "hourly_play_sessions.yaml").read_text()
    (folder / "hourly_play_sessions.v2.yaml").write_text(
        v1.replace("\nversion: 1\n", "\nversion: 2\n")
    )
    shutil.copytree(ROOT / "schemas/player", root / "schemas" / domain)
    shutil.copytree(ROOT / "schemas/player", root / "schemas/player")  # the code reads it
    shutil.copy(ROOT / "governance.yaml", root / "governance.yaml")


def test_a_v2_descriptor_is_applied_and_filled_by_replay_into_version_2(
    tmp_path: Path, settings: Settings
) -> None:
    domain = f"t{uuid.uuid4().hex[:10]}"
    repository(tmp_path, domain)
    where = [
        "--bootstrap-servers",
        settings.kafka.bootstrap_servers,
        "--registry-url",
        settings.registry.url,
    ]
    runner = CliRunner()
    lint = runner.invoke(main, ["product", "lint", str(tmp_path)])
    assert lint.exit_code == 0, lint.output
    applied = runner.invoke(main, ["product", "apply", str(tmp_path), *where])
    assert applied.exit_code == 0, applied.output
    assert f"{domain}.hourly_play_sessions.v2" in applied.stdout

    # In event-time order: nothing is late, so every user has windows in v2.
    events = sorted(play_events(random.Random(7), 40), key=lambda e: e["event_time"])
    with Producer(settings=settings) as producer:
        for event in events:
            producer.emit(f"{domain}.play_events", event, key=event["user_id"])

    replayed = runner.invoke(
        main,
        [
            "replay",
            f"{domain}.hourly_play_sessions",
            "--from",
            str(START),
            "--into-version",
            "2",
            "--root",
            str(tmp_path),
            "--output",
            "json",
            *where,
        ],
    )
    assert replayed.exit_code == 0, replayed.output
    summary = json.loads(replayed.stdout)
    assert summary["topic"] == f"{domain}.hourly_play_sessions.v2"
    assert summary["read"] == 40
    assert summary["outputs"] > 0

    shown = runner.invoke(
        main, ["tail", f"{domain}.hourly_play_sessions.v2", "--from-beginning", *where]
    )
    assert shown.exit_code == 0, shown.output
    records = [orjson.loads(line) for line in shown.stdout.splitlines()]
    assert len(records) == summary["outputs"]
    # PlayEvent pseudonymizes user_id ("pii"): the sessions carry the pseudonyms emit wrote.
    source = Consumer(
        f"{domain}.play_events", group_id=None, settings=settings, from_beginning=True
    )
    try:
        written = {str(event.value["user_id"]) for event in drain(source, len(events))}
    finally:
        source.close()
    assert len(written) == len({e["user_id"] for e in events})
    assert {r["user_id"] for r in records} == written

    # The aggregate's own .late topic does not exist (not an error): tail points at its input's.
    # The bare name is the latest active version, v2 (both are active here).
    late = runner.invoke(main, ["tail", f"{domain}.hourly_play_sessions", "--late", *where])
    assert late.exit_code == 0, late.output
    assert f"reading {domain}.hourly_play_sessions.v2" in late.stderr
    assert (
        f"no late events yet (topic {domain}.hourly_play_sessions.v2.late does not" in late.stderr
    )
    assert f"`mesh tail {domain}.play_events.v1 --late`" in late.stderr

    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    made = [t for t in admin.list_topics(timeout=10).topics if t.startswith(f"{domain}.")]
    for future in admin.delete_topics(made).values():
        future.result(10)
