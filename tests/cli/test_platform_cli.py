"""``mesh up`` / ``mesh status`` / ``mesh down`` through click's runner."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from confluent_kafka.admin import AdminClient

from streams.cli import EXIT_UNREACHABLE, EXIT_USAGE, main
from streams.local import stop
from streams.local._state import state_path
from tests.helpers.kafka import create_topic
from tests.local.test_platform import _fake_state, _gone


def test_status_of_no_platform_lists_every_service_stopped_web_too(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(main, ["status", "--output", "json", "--state-dir", str(tmp_path)])
    assert result.exit_code == EXIT_UNREACHABLE, result.output
    report = json.loads(result.stdout)
    assert [(s["name"], s["state"]) for s in report["services"]] == [
        ("broker", "stopped"),
        ("registry", "stopped"),
        ("monitor", "stopped"),
        ("web", "stopped"),
    ]
    plain = runner.invoke(main, ["status", "--state-dir", str(tmp_path)]).stdout
    assert re.search(r"^web +stopped", plain, re.M), plain


def test_up_status_down(runner: CliRunner, tmp_path: Path) -> None:
    state = ["--state-dir", str(tmp_path)]
    try:
        result = runner.invoke(main, ["-v", "up", "--free-ports", *state])
        assert result.exit_code == 0, result.output
        recorded = json.loads(state_path(tmp_path).read_text())
        assert f"broker    {recorded['bootstrap_servers']}" in result.stdout
        assert f"registry  {recorded['registry_url']}" in result.stdout
        assert f"monitor   pid {recorded['monitor']['pid']}" in result.stdout
        assert "ready" in result.stderr  # INFO logs, with -v

        again = runner.invoke(main, ["up", "--free-ports", *state])
        assert again.exit_code == 0, again.output
        assert "already running" in again.stdout

        result = runner.invoke(main, ["status", "--output", "json", *state])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["running"] is True
        assert [(s["name"], s["state"], s["pid"]) for s in report["services"]] == [
            ("broker", "running", recorded["broker"]["pid"]),
            ("registry", "running", recorded["registry"]["pid"]),
            ("monitor", "running", recorded["monitor"]["pid"]),
        ]

        result = runner.invoke(main, ["status", *state])
        assert result.exit_code == 0, result.output
        assert "running" in result.stdout

        result = runner.invoke(main, ["down", *state])
        assert result.exit_code == 0, result.output
        assert "stopped" in result.stdout
        assert not state_path(tmp_path).exists()

        result = runner.invoke(main, ["status", "--output", "json", *state])
        assert json.loads(result.stdout)["running"] is False
        result = runner.invoke(main, ["down", *state])
        assert result.exit_code == 0
        assert "nothing to stop" in result.stderr
    finally:
        if state_path(tmp_path).exists():
            stop(tmp_path, timeout_s=5.0)


def test_up_json_output(runner: CliRunner, tmp_path: Path) -> None:
    try:
        result = runner.invoke(
            main, ["up", "--free-ports", "--state-dir", str(tmp_path), "--output", "json"]
        )
        assert result.exit_code == 0, result.output
        info = json.loads(result.stdout)
        assert info["already_running"] is False
        assert info["registry_url"].startswith("http://127.0.0.1:")
    finally:
        if state_path(tmp_path).exists():
            stop(tmp_path, timeout_s=5.0)


@pytest.mark.parametrize(
    "args",
    [
        ["up", "--broker-port", "not-a-number"],
        ["up", "--no-such-flag"],
        ["status", "--output", "yaml"],
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_2(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(main, args)
    assert result.exit_code == 2, result.output


def test_port_in_use_is_one_red_line_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = runner.invoke(
            main, ["up", "--broker-port", str(port), "--state-dir", str(tmp_path)]
        )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is in use; stop what uses it, pass --broker-port, "
        "or use --free-ports"
    )
    assert "Traceback" not in result.output


def test_debug_shows_the_exception(runner: CliRunner, tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = runner.invoke(
            main, ["--debug", "up", "--broker-port", str(port), "--state-dir", str(tmp_path)]
        )
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "PortInUseError"


def test_help_works_without_the_registry(runner: CliRunner) -> None:
    for args in (["--help"], ["registry", "serve", "--help"], ["up", "--help"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output


def test_status_of_a_dead_platform_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()
    _fake_state(tmp_path, broker_pid=finished.pid, registry_pid=finished.pid)
    for output in ("text", "json"):
        result = runner.invoke(main, ["status", "--output", output, "--state-dir", str(tmp_path)])
        assert result.exit_code == 1, result.output
        assert "dead-but-recorded" in result.stdout
    assert "exit 1" in runner.invoke(main, ["status", "--help"]).stdout


def test_up_without_the_monitor(runner: CliRunner, tmp_path: Path) -> None:
    state = ["--state-dir", str(tmp_path)]
    try:
        result = runner.invoke(main, ["up", "--free-ports", "--no-monitor", *state])
        assert result.exit_code == 0, result.output
        assert "monitor   not started (--no-monitor)" in result.stdout
        result = runner.invoke(main, ["status", "--output", "json", *state])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["running"] is True  # broker and registry: the monitor is optional
        assert [(s["name"], s["state"]) for s in report["services"]][2] == ("monitor", "stopped")
    finally:
        if state_path(tmp_path).exists():
            stop(tmp_path, timeout_s=5.0)


@pytest.mark.parametrize("flag", ["--broker-port", "--registry-port"])
def test_free_ports_with_an_explicit_port_is_a_usage_error(
    runner: CliRunner, tmp_path: Path, flag: str
) -> None:
    result = runner.invoke(
        main, ["up", "--free-ports", flag, "19092", "--state-dir", str(tmp_path)]
    )
    assert result.exit_code == EXIT_USAGE, result.output
    assert f"--free-ports and {flag} exclude each other" in result.stderr
    assert not state_path(tmp_path).exists()


def test_found_from_a_subdirectory_and_a_dead_registry_is_restarted(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [name for name in os.environ if name.startswith("STREAMS_")]:
        monkeypatch.delenv(name)
    repo, deep = tmp_path / "repo", tmp_path / "repo" / "products" / "player"
    deep.mkdir(parents=True)
    monkeypatch.chdir(repo)
    try:
        up = ["up", "--free-ports", "--no-monitor", "--no-web", "--output", "json"]
        result = runner.invoke(main, up)
        assert result.exit_code == 0, result.output
        assert result.stderr == ""  # INFO logs are off without -v
        info = json.loads(result.stdout)
        assert info["state_dir"] == str(repo / ".mesh")
        assert info["web_url"] is None  # --no-web: no web catalog
        assert info["web_pid"] is None

        # From a subdirectory: the same state directory, and commands find its addresses.
        monkeypatch.chdir(deep)
        report = runner.invoke(main, ["status", "--output", "json"])
        assert report.exit_code == 0, report.output
        assert json.loads(report.stdout)["state_dir"] == str(repo / ".mesh")
        doctor = runner.invoke(main, ["doctor", "--output", "json", "--timeout", "10"])
        assert doctor.exit_code == 0, doctor.output
        assert info["bootstrap_servers"] in json.loads(doctor.stdout)[0]["detail"]

        topic = f"kept-{uuid.uuid4().hex[:8]}"
        create_topic(info["bootstrap_servers"], topic)
        registry_pid = json.loads((repo / ".mesh" / "platform.json").read_text())["registry"]["pid"]
        os.kill(registry_pid, signal.SIGKILL)
        while not _gone(registry_pid):
            time.sleep(0.05)

        assert runner.invoke(main, ["status"]).exit_code == 1  # a service is down
        down = runner.invoke(main, ["guarantees"])
        assert down.exit_code == EXIT_UNREACHABLE, down.output
        assert down.stderr.count("\n") == 1, down.stderr
        assert "registry of the platform in" in down.stderr
        assert "`mesh up`" in down.stderr

        again = runner.invoke(main, ["-v", "up", "--no-monitor", "--no-web", "--output", "json"])
        assert again.exit_code == 0, again.output
        restarted = json.loads(again.stdout)
        assert restarted["registry_restarted"] is True
        assert restarted["registry_url"] == info["registry_url"]
        assert "starting it again" in again.stderr  # INFO with -v
        admin = AdminClient({"bootstrap.servers": info["bootstrap_servers"]})
        assert topic in admin.list_topics(timeout=10).topics  # the broker was left alone
        assert runner.invoke(main, ["status"]).exit_code == 0

        stopped = runner.invoke(main, ["down", "--output", "json"])
        assert stopped.exit_code == 0, stopped.output
        outcomes = json.loads(stopped.stdout)
        assert outcomes["state_dir"] == str(repo / ".mesh")
        assert [(s["name"], s["outcome"]) for s in outcomes["services"]] == [
            ("registry", "stopped"),
            ("broker", "stopped"),
        ]
        assert runner.invoke(main, ["status"]).exit_code == EXIT_UNREACHABLE  # nothing runs
    finally:
        if state_path(repo / ".mesh").exists():
            stop(repo / ".mesh", timeout_s=5.0)


def _status_of_a_recorded_platform(
    runner: CliRunner, tmp_path: Path, env: dict[str, str]
) -> tuple[Result, dict[str, Any]]:
    state_dir = tmp_path / ("a-long-state-directory-name-" * 3)
    state_dir.mkdir()
    finished = subprocess.Popen(["true"])
    finished.wait()
    _fake_state(state_dir, broker_pid=finished.pid, registry_pid=finished.pid)
    result = runner.invoke(main, ["status", "--state-dir", str(state_dir)], env=env)
    assert result.exit_code == 1, result.output  # dead, but recorded: every column is filled
    report = runner.invoke(main, ["status", "--output", "json", "--state-dir", str(state_dir)])
    return result, json.loads(report.stdout)


def test_status_into_a_pipe_prints_one_line_per_service(runner: CliRunner, tmp_path: Path) -> None:
    """Piped at 80 columns, the table wrapped addresses and log paths across lines."""
    result, report = _status_of_a_recorded_platform(runner, tmp_path, {"COLUMNS": "80"})
    lines = result.stdout.splitlines()
    for service in report["services"]:
        (line,) = [line for line in lines if line.split()[:1] == [service["name"]]]
        assert line.split()[1] == service["state"]
        if service["address"] is not None:
            assert service["address"] in line.split()
            assert str(service["pid"]) in line.split()
            assert line.split()[-1] == service["log"]
    assert "│" not in result.stdout  # plain lines, no table


def test_status_table_on_a_terminal_keeps_addresses_whole(
    runner: CliRunner, tmp_path: Path
) -> None:
    result, report = _status_of_a_recorded_platform(
        runner, tmp_path, {"COLUMNS": "80", "FORCE_COLOR": "1"}
    )
    shown = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    table = [line for line in shown.splitlines() if "│" in line]
    assert table
    assert max(len(line) for line in table) <= 80
    for service in report["services"]:
        if service["address"] is not None:
            (row,) = [line for line in table if f"│ {service['name']} " in line]
            assert f" {service['address']} " in row  # whole, on the service's row
            # The title names the state directory: the log is shown inside it, unwrapped.
            assert f" logs/{service['name']}.log " in row
