"""``mesh kafka fetch`` and ``mesh up --broker kafka`` / ``status`` / ``down`` through click."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from confluent_kafka.admin import AdminClient

from streams.cli import main
from streams.local import stop
from streams.local._kafka_dist import resolve_libs
from streams.local._state import state_path
from tests.helpers.brokers import kafka_settings
from tests.helpers.kafka import create_topic, recorded_conf


def test_fetch_prints_the_libs_folder_and_progress(runner: CliRunner, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mvn = bin_dir / "mvn"
    mvn.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do case "$arg" in -DoutputDirectory=*) out="${arg#*=}";; esac; done\n'
        'mkdir -p "$out" && touch "$out/kafka_2.13-4.2.0.jar"\n'
    )
    mvn.chmod(mvn.stat().st_mode | stat.S_IXUSR)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "STREAMS_LOCAL__KAFKA_CACHE_DIR": str(tmp_path)}
    result = runner.invoke(main, ["kafka", "fetch", "--version", "4.2.0"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "4.2.0" / "libs")
    assert "fetching Apache Kafka 4.2.0" in result.stderr
    again = runner.invoke(main, ["kafka", "fetch", "--version", "4.2.0"], env=env)
    assert "already fetched" in again.stderr


def test_up_without_jars_says_what_to_run(runner: CliRunner, tmp_path: Path) -> None:
    kafka_settings()  # Java must be there, or the message is about Java (tested in tests/local)
    env = {"STREAMS_LOCAL__KAFKA_CACHE_DIR": str(tmp_path / "empty")}
    result = runner.invoke(
        main, ["up", "--broker", "kafka", "--free-ports", "--state-dir", str(tmp_path)], env=env
    )
    assert result.exit_code == 1
    assert "run `mesh kafka fetch --version 4.4.0`" in result.stderr
    assert not state_path(tmp_path).exists()


def test_up_kafka_home_status_down_then_plain_up_keeps_topics(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mesh up --kafka-home`, status, down; then a plain `mesh up` starts Kafka again on the
    state dir's data (one test: each Kafka start costs the suite ~15 s)."""
    # As a new user: no identity configured, so `mesh up` writes the platform's admin credential.
    monkeypatch.delenv("STREAMS_IDENTITY__FILE", raising=False)
    home = resolve_libs(kafka_settings()).parent  # any folder holding libs/ will do
    state = ["--state-dir", str(tmp_path)]
    up = ["-v", "up", "--free-ports", "--kafka-home", str(home), "--output", "json", *state]
    try:
        result = runner.invoke(main, up)
        assert result.exit_code == 0, result.output
        info = json.loads(result.stdout)
        assert info["broker_kind"] == "kafka"
        assert "broker ready" in result.stderr
        # Authentication is on by default: platform.json says how to log in.
        assert (info["security_protocol"], info["sasl_mechanism"]) == (
            "SASL_PLAINTEXT",
            "SCRAM-SHA-256",
        )
        create_topic(recorded_conf(tmp_path), "kept.across.restarts")

        result = runner.invoke(main, ["up", "--broker", "tansu", "--free-ports", *state])
        assert result.exit_code == 1
        assert "a platform on kafka is already running" in result.stderr

        result = runner.invoke(main, ["status", *state])
        assert "on kafka" in result.stdout
        report = json.loads(runner.invoke(main, ["status", "--output", "json", *state]).stdout)
        assert (report["running"], report["broker_kind"]) == (True, "kafka")

        result = runner.invoke(main, ["down", *state])
        assert result.exit_code == 0, result.output
        assert "stopped" in result.stdout
        assert not state_path(tmp_path).exists()

        refused = runner.invoke(main, ["up", "--broker", "tansu", "--free-ports", *state])
        assert refused.exit_code == 1, refused.output
        assert "holds Apache Kafka's data" in refused.stderr
        assert not state_path(tmp_path).exists()

        result = runner.invoke(main, ["up", "--free-ports", *state])
        assert result.exit_code == 0, result.output
        assert "(kafka, SASL SCRAM-SHA-256)" in result.stdout
        assert "starting Apache Kafka" in result.stderr
        topics = AdminClient(recorded_conf(tmp_path)).list_topics(timeout=10).topics
        assert "kept.across.restarts" in topics
    finally:
        if state_path(tmp_path).exists():
            stop(tmp_path, timeout_s=15.0)


def test_kafka_home_must_exist(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["up", "--kafka-home", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
