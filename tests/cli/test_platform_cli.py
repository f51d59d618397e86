"""``mesh up`` / ``mesh status`` / ``mesh down`` through click's runner."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.local import stop
from streams.local._state import state_path
from tests.local.test_platform import _fake_state


def test_up_status_down(runner: CliRunner, tmp_path: Path) -> None:
    state = ["--state-dir", str(tmp_path)]
    try:
        result = runner.invoke(main, ["up", "--free-ports", *state])
        assert result.exit_code == 0, result.output
        recorded = json.loads(state_path(tmp_path).read_text())
        assert f"broker    {recorded['bootstrap_servers']}" in result.stdout
        assert f"registry  {recorded['registry_url']}" in result.stdout
        assert f"monitor   pid {recorded['monitor']['pid']}" in result.stdout
        assert "ready" in result.stderr

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
