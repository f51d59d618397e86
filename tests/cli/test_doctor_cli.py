"""``mesh doctor``: one line per check, exit codes 0 / 3, JSON output, profiles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.catalog.doctor import Finding
from streams.cli import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, main
from streams.cli.doctor import exit_code
from streams.local import PlatformInfo


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STREAMS_LOCAL__STATE_DIR", str(tmp_path / "no-platform"))


def test_all_ok_on_the_platform(runner: CliRunner, platform: PlatformInfo) -> None:
    result = runner.invoke(
        main,
        [
            "doctor",
            "--bootstrap-servers",
            platform.bootstrap_servers,
            "--registry-url",
            platform.registry_url,
            "--timeout",
            "10",
        ],
    )
    assert result.exit_code == EXIT_OK, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert all(line.startswith("ok ") for line in lines)


def test_a_profile_points_doctor_at_closed_ports(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "mesh.toml").write_text(
        '[profiles.down.kafka]\nbootstrap_servers = "127.0.0.1:1"\n'
        '[profiles.down.registry]\nurl = "http://127.0.0.1:1"\n'
    )
    result = runner.invoke(
        main, ["doctor", "--profile", "down", "--timeout", "1", "--output", "json"]
    )
    assert result.exit_code == EXIT_UNREACHABLE, result.output
    findings = json.loads(result.stdout)
    assert [(f["check"], f["outcome"]) for f in findings] == [
        ("broker", "unreachable"),
        ("topics", "skipped"),
        ("catalog", "skipped"),
        ("registry", "unreachable"),
        ("compatibility", "skipped"),
    ]
    assert "127.0.0.1:1" in findings[0]["detail"]


def test_text_output_is_one_line_per_check_with_the_fix(runner: CliRunner) -> None:
    result = runner.invoke(
        main,
        [
            "doctor",
            "--bootstrap-servers",
            "127.0.0.1:1",
            "--registry-url",
            "http://127.0.0.1:1",
            "--timeout",
            "1",
        ],
    )
    assert result.exit_code == EXIT_UNREACHABLE
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("unreachable")
    assert "fix: check kafka.bootstrap_servers" in lines[0]


def test_an_unknown_profile_is_one_error_line(runner: CliRunner) -> None:
    result = runner.invoke(main, ["doctor", "--profile", "nope"])
    assert result.exit_code == EXIT_FAILED
    assert "profile 'nope' not found" in result.stderr


def test_exit_code_prefers_unreachable_over_failed() -> None:
    failed = Finding("topics", "failed", "denied", "grant")
    down = Finding("registry", "unreachable", "down", "start it")
    ok = Finding("broker", "ok", "fine")
    assert exit_code([ok]) == EXIT_OK
    assert exit_code([ok, failed]) == EXIT_FAILED
    assert exit_code([failed, down]) == EXIT_UNREACHABLE
