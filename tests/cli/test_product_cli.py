"""``mesh product lint`` and ``mesh product export`` through click's runner."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from rich.console import Console

from streams.catalog import problems
from streams.cli import main
from streams.cli.product_apply import violation_table
from streams.governance import lint as lint_products
from tests.catalog._repo import (
    DELETE,
    PLAY_EVENT,
    REPO,
    line_of,
    make_repo,
    product,
    write_product,
    write_schema,
)


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
    assert "1 error(s), 0 warning(s)" in result.stderr


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
    servers = ["--bootstrap-servers", "kafka.example:9092"]
    odcs = runner.invoke(main, [*args, "--format", "odcs", *servers])
    assert odcs.exit_code == 0, odcs.output
    contract = yaml.safe_load(odcs.stdout)
    assert problems("odcs", contract) == []
    assert (contract["kind"], contract["id"]) == ("DataContract", "player.play_events.v1")
    assert contract["servers"][0]["host"] == "kafka.example:9092"
    assert {"schema", "slaProperties", "apiVersion"} <= set(contract)
    odps = runner.invoke(main, [*args[:2], "player.play_events.v1", *args[3:], "--format", "odps"])
    assert odps.exit_code == 0, odps.output
    document = yaml.safe_load(odps.stdout)
    assert problems("odps", document) == []
    assert document["kind"] == "DataProduct"
    as_json = runner.invoke(main, [*args, "--format", "odcs", *servers, "--output", "json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == contract


def test_export_unknown_product_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["product", "export", "player.nope", "--format", "odps", "--root", str(REPO)]
    )
    assert result.exit_code == 1
    assert "no product 'player.nope'" in result.stderr


def test_export_needs_a_format(runner: CliRunner) -> None:
    result = runner.invoke(main, ["product", "export", "player.play_events"])
    assert result.exit_code == 2


def test_lint_takes_a_folder_inside_the_repository(runner: CliRunner, tmp_path: Path) -> None:
    """`mesh product lint products/` found nothing and reported success."""
    make_repo(
        tmp_path,
        product(owner=DELETE),
        product(domain="radio", name="stations"),  # its schema is another domain's
    )
    for folder in ("products", "products/player"):
        result = runner.invoke(main, ["product", "lint", str(tmp_path / folder)])
        assert result.exit_code == 1, result.output
        assert "GOV001-required" in result.stdout
        assert "play_events.yaml" in result.stdout
    # Only the descriptors below PATH are reported (radio's schema is another domain's).
    player = runner.invoke(main, ["product", "lint", str(tmp_path / "products/player")])
    assert "stations.yaml" not in player.stdout
    everything = runner.invoke(main, ["product", "lint", str(tmp_path / "products")])
    assert "stations.yaml" in everything.stdout


def test_lint_from_a_folder_without_descriptors_warns(runner: CliRunner, tmp_path: Path) -> None:
    make_repo(tmp_path)
    result = runner.invoke(main, ["product", "lint", str(tmp_path / "schemas")])
    assert result.exit_code == 0, result.output
    assert "no product descriptors found" in result.stdout


def test_lint_into_a_pipe_prints_one_line_per_violation(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ruff and mypy: `file:line: RULE message`, never wrapped, whatever the width."""
    make_repo(tmp_path, product(owner=DELETE, classification=DELETE))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["product", "lint", "products"], env={"COLUMNS": "80"})
    assert result.exit_code == 1, result.output
    path = tmp_path / "products/player/play_events.yaml"
    lines = result.stdout.splitlines()
    owner = f"products/player/play_events.yaml:{line_of(path, 'name:')}: GOV001-required "
    assert [line for line in lines if "GOV001" in line] == [
        f"products/player/play_events.yaml:{line_of(path, 'name:')}: GOV001-required "
        "product declares no classification; add 'classification:' with one of public, "
        "internal, confidential, restricted",
        owner + "product declares no owner; add 'owner:' with 'team:' and 'contact:' "
        "(a team e-mail address)",
    ]
    assert len(lines) == 2  # the summary is not a violation: it goes to stderr
    assert result.stderr.splitlines()[-1] == "2 error(s), 0 warning(s)"


_LINE = re.compile(r"^(?P<path>[^\s:]+):(?P<line>\d+): (?P<rule>GOV\d{3}-[a-z-]+) ")


def test_lint_from_products_prints_paths_that_open_from_there(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From products/ with no PATH: the schema was absolute, the descriptor relative; a
    one-line invalid file was reported at line 2; the summary was on stdout."""
    make_repo(tmp_path)
    record = json.loads(json.dumps(PLAY_EVENT))
    record["fields"][4]["doc"] = "TODO"
    write_schema(tmp_path, "player", record)
    (tmp_path / "products/player/broken.yaml").write_text("name: [x\n")
    monkeypatch.chdir(tmp_path / "products")
    result = runner.invoke(main, ["product", "lint"], env={"COLUMNS": "80"})
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    matches = [_LINE.match(line) for line in lines]
    assert all(matches), lines  # nothing but `file:line: RULE message` lines
    assert [(m["path"], m["line"], m["rule"]) for m in matches if m] == [
        (
            "../schemas/player/PlayEvent.avsc",
            str(line_of(tmp_path / "schemas/player/PlayEvent.avsc", '"ms_played"')),
            "GOV005-field-docs",
        ),
        ("player/broken.yaml", "1", "GOV000-descriptor"),
    ]
    assert result.stderr.splitlines()[-1] == "1 error(s), 1 warning(s)"


def test_lint_code_paths_are_shown_like_the_others(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An aggregate without its code (GOV016, from the code lint), linted from schemas/."""
    hourly = product(
        name="hourly",
        kind="aggregate",
        inputPorts=[{"product": "player.play_events", "version": 1}],
    )
    make_repo(tmp_path, product(), hourly)
    monkeypatch.chdir(tmp_path / "schemas")
    result = runner.invoke(main, ["product", "lint", "../products"])
    assert result.exit_code == 1, result.output
    paths = {m["path"] for m in map(_LINE.match, result.stdout.splitlines()) if m}
    assert paths == {"../products/player/hourly.yaml"}


def test_lint_without_violations_leaves_stdout_empty_in_a_pipe(
    runner: CliRunner, tmp_path: Path
) -> None:
    make_repo(tmp_path)
    result = runner.invoke(main, ["product", "lint", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "no violations" in result.stderr


def test_lint_summary_on_a_terminal_follows_the_table(runner: CliRunner, tmp_path: Path) -> None:
    make_repo(tmp_path, product(owner=DELETE))
    result = runner.invoke(
        main, ["product", "lint", str(tmp_path)], env={"FORCE_COLOR": "1", "COLUMNS": "80"}
    )
    assert result.exit_code == 1, result.output
    shown = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    assert "GOV001-required" in shown
    assert shown.splitlines()[-1] == "1 error(s), 0 warning(s)"


def test_lint_table_on_a_terminal_reads_at_80_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_repo(tmp_path, product(owner=DELETE, outputPort__partitions=500))
    monkeypatch.chdir(tmp_path)
    found = lint_products(Path("products"))
    console = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    console.print(violation_table(found))
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "…" not in shown
    assert max(len(line) for line in shown.splitlines()) <= 80
    lines = shown.splitlines()
    assert "products/player/play_events.yaml" in lines  # the file whole, as a heading
    words = [" ".join(line.split()) for line in lines]
    assert ":1 GOV001-required product declares no owner" in words
    assert any("GOV008-partitions 500 partitions is outside" in line for line in lines)


def test_export_picks_the_latest_active_version_or_the_one_asked(
    runner: CliRunner, tmp_path: Path
) -> None:
    """v2 is declared but not active yet: the bare name is v1, as in every other command."""
    not_yet = {"note": "v2 is being backfilled", "sunset": "2030-01-01"}
    make_repo(tmp_path, product())
    write_product(
        tmp_path,
        product(version=2, status="deprecated", deprecation=not_yet),
        tmp_path / "products/player/play_events.v2.yaml",
    )
    args = ["product", "export", "player.play_events", "--root", str(tmp_path), "--format", "odcs"]
    latest = runner.invoke(main, args)
    assert latest.exit_code == 0, latest.output
    assert yaml.safe_load(latest.stdout)["id"] == "player.play_events.v1"
    chosen = runner.invoke(main, [*args, "--version", "2"])
    assert chosen.exit_code == 0, chosen.output
    assert yaml.safe_load(chosen.stdout)["id"] == "player.play_events.v2"
    missing = runner.invoke(main, [*args, "--version", "3"])
    assert missing.exit_code == 1
    assert "has no version 3" in missing.stderr
