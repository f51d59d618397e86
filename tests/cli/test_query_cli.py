"""``mesh query`` without a platform: usage errors, the missing extra, an unreachable registry."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from streams.cli import EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE, main


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
