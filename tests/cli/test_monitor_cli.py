"""``mesh monitor run``: starts, says it is ready, stops cleanly on SIGTERM; bad flags refused."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.config import Settings
from streams.guarantees.watched import MonitorOptions


def test_a_window_that_is_no_duration_is_refused(runner: CliRunner) -> None:
    result = runner.invoke(main, ["monitor", "run", "--window", "5 minutes"])
    assert result.exit_code == 2
    assert "'5 minutes' is not a duration" in result.output
    result = runner.invoke(main, ["monitor", "run", "--window", "2d"])
    assert result.exit_code == 2
    assert "longer than the 24 closed hours" in result.output


def test_it_runs_until_sigterm_and_says_what_it_did(settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "monitor.log"
    only = f"t{uuid.uuid4().hex[:8]}.nothing.v1"  # nothing to watch: only the loop is tested
    env = {
        **os.environ,
        "STREAMS_MONITOR__PUBLISH_EVERY_S": "0.5",  # from the settings when no flag is given
    }
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streams.cli",
                "monitor",
                "run",
                "--window",
                "10s",
                "--only",
                only,
                "--bootstrap-servers",
                settings.kafka.bootstrap_servers,
                "--registry-url",
                settings.registry.url,
            ],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 60
        while "monitor ready" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        os.kill(process.pid, signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == 0, log.read_text()
    assert out.decode().startswith("monitor stopped: 0 events of 0 products"), out


def test_the_window_grace_comes_from_the_settings(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = importlib.import_module("streams.cli.monitor")  # the package shadows it
    seen: list[MonitorOptions] = []

    def run(*, settings: Settings, options: MonitorOptions) -> str:
        seen.append(options)
        return "ran"

    monkeypatch.setattr(command, "run_monitor", run)
    monkeypatch.setenv("STREAMS_MONITOR__WINDOW_GRACE_S", "5")
    result = runner.invoke(main, ["monitor", "run"])
    assert result.exit_code == 0, result.output
    assert seen[0].window_grace_s == 5.0
