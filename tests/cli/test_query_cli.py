"""``mesh query`` without a platform: usage errors, the missing extra, an unreachable registry."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner

from streams.cli import EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE, main
from streams.cli import query as query_cli
from streams.cli.query import SHOWN

AT = datetime.datetime(2026, 11, 30, 10, tzinfo=datetime.UTC)


def test_parquet_needs_a_file_and_a_file_needs_a_format(runner: CliRunner) -> None:
    result = runner.invoke(main, ["query", "SELECT 1", "--output", "parquet"])
    assert result.exit_code == EXIT_USAGE
    assert "--out FILE.parquet" in result.output
    result = runner.invoke(main, ["query", "SELECT 1", "--out", "x.csv"])
    assert result.exit_code == EXIT_USAGE
    assert "--output csv" in result.output


@pytest.mark.parametrize("module", ["duckdb", "pyarrow"])
def test_without_the_query_extra_it_says_which_to_install(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    result = runner.invoke(main, ["query", "SELECT 1"])
    assert result.exit_code == EXIT_FAILED
    assert f"needs {module}, which is not installed" in result.stderr
    assert "pip install 'streams[query]'" in result.stderr


def test_an_unreachable_registry_exits_3(runner: CliRunner, closed_url: str) -> None:
    result = runner.invoke(
        main,
        ["query", "SELECT 1", "--registry-url", closed_url, "--bootstrap-servers", "127.0.0.1:1"],
    )
    assert result.exit_code == EXIT_UNREACHABLE, result.output
    assert "cannot be reached" in result.stderr


@pytest.fixture
def answer(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``mesh query`` answered without a platform: the SQL it ran is recorded."""
    asked: list[str] = []

    def fake_sql(text: str, **_options: Any) -> pa.Table:
        asked.append(text)
        rows = [{"device": "[red]WEB", "plays": 3, "at": AT, "ctx": {"a": [1]}}] * (SHOWN + 1)
        return pa.Table.from_pylist(rows)

    monkeypatch.setattr(query_cli, "connection_settings", lambda **_kwargs: None)
    monkeypatch.setattr(query_cli, "sql", fake_sql)
    return asked


def test_a_table_shows_values_as_text_and_says_how_many_rows(
    runner: CliRunner, answer: list[str]
) -> None:
    result = runner.invoke(main, ["query", "SELECT 1"])
    assert result.exit_code == 0, result.output
    assert answer == ["SELECT 1"]
    assert "[red]WEB" in result.stdout  # data, not markup
    assert "2026-11-30 10:00:00+00:00" in result.stdout
    assert result.stdout.count("[red]WEB") == SHOWN
    assert f"{SHOWN + 1} row(s), the first {SHOWN} shown" in result.stderr
    assert "do not fit" not in result.stderr  # 4 short columns fit in 80


def test_a_table_too_wide_for_the_terminal_says_so(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    wide = pa.Table.from_pylist([{f"column_{n}": "x" * 30 for n in range(8)}])
    monkeypatch.setattr(query_cli, "connection_settings", lambda **_kwargs: None)
    monkeypatch.setattr(query_cli, "sql", lambda text, **_options: wide)
    result = runner.invoke(main, ["query", "SELECT *"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "8 columns do not fit in 80 characters" in result.stderr
    assert "--output json or csv gives them whole" in result.stderr


def test_csv_and_json_carry_every_row_nested_values_as_json(
    runner: CliRunner, answer: list[str], tmp_path: Path
) -> None:
    result = runner.invoke(main, ["query", "SELECT 1", "--output", "csv"])
    lines = result.stdout.splitlines()
    assert lines[0] == '"device","plays","at","ctx"'
    assert lines[1] == '"[red]WEB",3,2026-11-30 10:00:00.000000Z,"{""a"":[1]}"'
    assert len(lines) == SHOWN + 2
    out = tmp_path / "rows.json"
    result = runner.invoke(main, ["query", "SELECT 1", "--output", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())
    assert rows[0] == {
        "device": "[red]WEB",
        "plays": 3,
        "at": "2026-11-30T10:00:00+00:00",
        "ctx": {"a": [1]},
    }
    assert len(rows) == SHOWN + 1
    assert f"wrote {SHOWN + 1} row(s) to {out}" in result.stderr
