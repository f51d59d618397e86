"""``mesh product lint`` and ``mesh product export`` through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from streams.cli import main
from tests.catalog._repo import DELETE, REPO, make_repo, product


def test_lint_clean_repository_exits_0(runner: CliRunner) -> None:
    result = runner.invoke(main, ["product", "lint", str(REPO)])
    assert result.exit_code == 0, result.output
    # A product just made by `mesh product new` leaves TODO docs: warnings, not errors.
    listed = runner.invoke(main, ["product", "lint", str(REPO), "--output", "json"])
    assert listed.exit_code == 0, listed.output
    assert [item for item in json.loads(listed.stdout) if item["severity"] == "error"] == []


def test_lint_errors_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    make_repo(tmp_path, product(owner=DELETE))
    result = runner.invoke(main, ["product", "lint", str(tmp_path)], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert "GOV001-required" in result.stdout
    assert "play_events.yaml:1" in result.stdout
    assert "1 error(s), 0 warning(s)" in result.stdout


def test_lint_json(runner: CliRunner, tmp_path: Path) -> None:
    make_repo(tmp_path, product(outputPort__partitions="x"))
    result = runner.invoke(main, ["product", "lint", str(tmp_path), "--output", "json"])
    assert result.exit_code == 1, result.output
    (found,) = json.loads(result.stdout)
    assert found["rule_id"] == "GOV000-descriptor"
    assert found["path"].endswith("products/player/play_events.yaml")
    assert found["line"] > 1
    assert "outputPort.partitions" in found["message"]


def test_lint_warnings_only_exit_0(runner: CliRunner, tmp_path: Path) -> None:
    make_repo(tmp_path, product(status="deprecated", deprecation={"note": "use v2"}))
    result = runner.invoke(main, ["product", "lint", str(tmp_path), "--output", "json"])
    assert result.exit_code == 0, result.output
    assert [item["severity"] for item in json.loads(result.stdout)] == ["warning"]


def test_export_odcs_and_odps(runner: CliRunner) -> None:
    args = ["product", "export", "player.play_events", "--root", str(REPO)]
    odcs = runner.invoke(main, [*args, "--format", "odcs"])
    assert odcs.exit_code == 0, odcs.output
    contract = yaml.safe_load(odcs.stdout)
    assert (contract["kind"], contract["id"]) == ("DataContract", "player.play_events.v1")
    assert {"schema", "slaProperties", "apiVersion"} <= set(contract)
    odps = runner.invoke(main, [*args[:2], "player.play_events.v1", *args[3:], "--format", "odps"])
    assert odps.exit_code == 0, odps.output
    assert yaml.safe_load(odps.stdout)["kind"] == "DataProduct"


def test_export_unknown_product_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["product", "export", "player.nope", "--format", "odps", "--root", str(REPO)]
    )
    assert result.exit_code == 1
    assert "no product 'player.nope'" in result.stderr


def test_export_needs_a_format(runner: CliRunner) -> None:
    result = runner.invoke(main, ["product", "export", "player.play_events"])
    assert result.exit_code == 2
