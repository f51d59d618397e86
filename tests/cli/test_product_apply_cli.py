"""``mesh product plan`` / ``mesh product apply`` through click's runner."""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path

from click.testing import CliRunner
from confluent_kafka.admin import AdminClient

from streams.cli import main
from streams.config import Settings
from tests.catalog._repo import DELETE, PLAY_EVENT, product, write_product, write_schema


def make(root: Path, **changes: object) -> str:
    domain = f"t{uuid.uuid4().hex[:10]}"
    write_schema(root, domain, PLAY_EVENT)
    doc = product(domain=domain, outputPort__schema=f"schemas/{domain}/PlayEvent.avsc", **changes)
    write_product(root, doc)
    return f"{domain}.play_events.v1"


def connect(settings: Settings) -> list[str]:
    return [
        "--bootstrap-servers",
        settings.kafka.bootstrap_servers,
        "--registry-url",
        settings.registry.url,
    ]


def test_plan_json_is_empty_after_apply(
    runner: CliRunner, tmp_path: Path, settings: Settings
) -> None:
    topic = make(tmp_path)
    flags = [str(tmp_path), "--output", "json", *connect(settings)]

    before = runner.invoke(main, ["product", "plan", *flags])
    assert before.exit_code == 0, before.output
    planned = json.loads(before.stdout)
    assert {item["action"] for item in planned} == {
        "create-topic",
        "set-compatibility",
        "register-schema",
        "publish-descriptor",
    }
    assert all(
        set(item) == {"product", "action", "target", "detail", "blocking"} for item in planned
    )
    assert {item["product"] for item in planned} == {topic}

    applied = runner.invoke(main, ["product", "apply", *flags])
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.stdout) == planned

    after = runner.invoke(main, ["product", "plan", *flags])
    assert after.exit_code == 0, after.output
    assert json.loads(after.stdout) == []

    again = runner.invoke(main, ["product", "apply", str(tmp_path), *connect(settings)])
    assert again.exit_code == 0, again.output
    assert "no changes" in again.stdout

    # The broker keeps everything in memory for the whole session: drop what we made.
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    for future in admin.delete_topics([topic, f"{topic}.dlq"]).values():
        future.result(10)


def test_plan_text_lists_changes(runner: CliRunner, tmp_path: Path, settings: Settings) -> None:
    topic = make(tmp_path)
    result = runner.invoke(main, ["product", "plan", str(tmp_path), *connect(settings)])
    assert result.exit_code == 0, result.output
    assert "create-topic" in result.stdout
    assert topic in result.stdout


def test_apply_refuses_governance_errors(
    runner: CliRunner, tmp_path: Path, settings: Settings
) -> None:
    make(tmp_path, owner=DELETE)
    result = runner.invoke(main, ["product", "apply", str(tmp_path), *connect(settings)])
    assert result.exit_code == 1
    assert "GOV001-required" in result.stderr
    assert "nothing was changed" in result.stderr


def test_unreachable_kafka_exits_3(runner: CliRunner, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    make(tmp_path)
    result = runner.invoke(
        main,
        [
            "product",
            "plan",
            str(tmp_path),
            "--bootstrap-servers",
            f"127.0.0.1:{port}",
            "--registry-url",
            f"http://127.0.0.1:{port}",
        ],
    )
    assert result.exit_code == 3, result.output
    assert "mesh up" in result.stderr
