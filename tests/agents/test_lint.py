"""``mesh product lint`` on derived products' code: file:line, rule id, and the fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from streams.agents.lint import lint_code
from streams.cli import main

ROOT = Path(__file__).parents[2]
CODE = "products/player/hourly_play_sessions.py"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for part in ("products", "schemas"):
        shutil.copytree(ROOT / part, tmp_path / part)
    shutil.copy(ROOT / "governance.yaml", tmp_path / "governance.yaml")
    return tmp_path


def edit(repo: Path, old: str, new: str) -> int:
    """Replace ``old`` in the example's code; return the line it was on."""
    path = repo / CODE
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return text[: text.index(old)].count("\n") + 1


def errors(output: str) -> list[dict[str, Any]]:
    """The errors of `mesh product lint --output json` (new products' TODO docs are warnings)."""
    return [item for item in json.loads(output) if item["severity"] == "error"]


def found(repo: Path) -> list[tuple[str, str, int | None, str]]:
    return [
        (v.rule_id, (v.path or "").rpartition("/")[2], v.line, v.message) for v in lint_code(repo)
    ]


def test_the_repository_code_agrees_with_its_descriptors(repo: Path) -> None:
    assert lint_code(repo) == []
    assert lint_code(repo / CODE) == []


def test_code_that_does_not_import_is_reported_at_its_line(repo: Path) -> None:
    line = edit(repo, "SKIPS = frozenset", "SKIPS = undefined_name or frozenset")
    ((rule, file, at, message),) = found(repo)
    assert (rule, file, at) == ("GOV016-derived-code", "hourly_play_sessions.py", line)
    assert "NameError" in message


def test_another_product_or_version_in_the_code_is_refused(repo: Path) -> None:
    line = edit(repo, "    version=1,\n", "    version=2,\n")
    ((rule, _, at, message),) = found(repo)
    assert (rule, at) == ("GOV016-derived-code", line - 1)
    assert (
        "defines player.hourly_play_sessions v2, the descriptor player.hourly_play_sessions v1"
        in (message)
    )


def test_inputs_must_agree_with_input_ports(repo: Path) -> None:
    edit(
        repo,
        'inputs=(InputPort("player.play_events", 1),)',
        'inputs=(InputPort("player.play_events", 1), InputPort("player.player_errors", 1))',
    )
    partitions, violation = [v for v in lint_code(repo) if v.rule_id == "GOV017-derived-inputs"]
    assert violation.path is not None
    assert violation.path.endswith("hourly_play_sessions.yaml")
    assert violation.line == 26  # 'inputPorts:' in the descriptor
    assert "only in the code: player.player_errors.v1; only in the descriptor: none" in (
        violation.message
    )
    assert "the inputs are not co-partitioned (player.play_events.v1: 12, " in partitions.message


def test_the_key_and_event_time_must_be_fields_of_every_input(repo: Path) -> None:
    line = edit(repo, 'key="user_id"', 'key="listener_id"')
    ((rule, _, at, message),) = found(repo)
    assert (rule, at) == ("GOV018-derived-fields", line)
    assert "key 'listener_id' is not a field of player.play_events.v1" in message
    edit(repo, 'key="listener_id"', 'key="user_id", event_time="ms_played"')
    ((rule, _, _, message),) = found(repo)
    assert rule == "GOV018-derived-fields"
    assert "event_time 'ms_played' of player.play_events.v1 is 'long', not a timestamp-millis" in (
        message
    )


def test_session_windows_need_merge(repo: Path) -> None:
    edit(repo, "    def merge(", "    def not_merge(")
    line = edit(
        repo, "window=Tumbling(timedelta(hours=1))", "window=Session(timedelta(minutes=30))"
    )
    edit(
        repo,
        "import DerivedProduct, InputPort, Tumbling",
        "import DerivedProduct, InputPort, Session",
    )
    ((rule, _, at, message),) = found(repo)
    assert (rule, at) == ("GOV019-derived-window", line)
    assert "HourlyPlaySessions has no merge(a, b) method" in message


def test_mesh_product_lint_reports_code_violations(repo: Path) -> None:
    edit(repo, 'key="user_id"', 'key="listener_id"')
    result = CliRunner().invoke(main, ["product", "lint", str(repo), "--output", "json"])
    assert result.exit_code == 1, result.output
    (item,) = errors(result.stdout)
    assert item["rule_id"] == "GOV018-derived-fields"
    assert item["path"].endswith(CODE)


DESCRIPTOR = "products/player/hourly_play_sessions.yaml"


def test_an_aggregate_without_code_is_an_error(repo: Path) -> None:
    """The trial's aggregate descriptor passed lint with no code: no agent could compute it."""
    (repo / CODE).unlink()
    ((rule, file, at, message),) = found(repo)
    assert (rule, file, at) == ("GOV016-derived-code", "hourly_play_sessions.yaml", 5)  # kind
    assert "products/player/hourly_play_sessions.py" in message
    (violation,) = lint_code(repo / DESCRIPTOR)
    assert violation.severity == "error"
    assert "product = DerivedProduct(" in violation.hint
    assert "version=1" in violation.hint
    assert "example" in violation.hint


def test_mesh_product_lint_fails_for_an_aggregate_without_code(repo: Path) -> None:
    (repo / CODE).unlink()
    result = CliRunner().invoke(main, ["product", "lint", str(repo), "--output", "json"])
    assert result.exit_code == 1, result.output
    (item,) = errors(result.stdout)
    assert item["rule_id"] == "GOV016-derived-code"
    assert item["path"].endswith(DESCRIPTOR)


def test_products_derived_elsewhere_need_no_code(repo: Path) -> None:
    """generated_playlists is consumer-aligned with inputPorts: an ML job computes it."""
    assert not (repo / "products/playlists/generated_playlists.py").exists()
    assert [v for v in lint_code(repo) if "generated_playlists" in (v.path or "")] == []


def test_a_v2_descriptor_shares_the_code_of_its_product(repo: Path) -> None:
    """products/<domain>/<name>.v2.yaml next to <name>.yaml: one code file, <name>.py."""
    text = (repo / DESCRIPTOR).read_text()
    assert "\nversion: 1\n" in text
    v2 = repo / "products/player/hourly_play_sessions.v2.yaml"
    v2.write_text(text.replace("\nversion: 1\n", "\nversion: 2\n"))
    assert lint_code(repo) == []
    (repo / CODE).unlink()
    assert sorted((v.rule_id, Path(v.path or "").name) for v in lint_code(repo)) == [
        ("GOV016-derived-code", "hourly_play_sessions.v2.yaml"),
        ("GOV016-derived-code", "hourly_play_sessions.yaml"),
    ]


def test_after_the_flip_name_yaml_is_the_version_the_code_computes(repo: Path) -> None:
    """README 'Versions': code version=2 is checked against <name>.yaml, v1 moved aside."""
    folder = repo / "products/player"
    v1 = (folder / "hourly_play_sessions.yaml").read_text()
    (folder / "hourly_play_sessions.v2.yaml").write_text(
        v1.replace("\nversion: 1\n", "\nversion: 2\n")
    )
    edit(repo, "    version=1,\n", "    version=2,\n")
    assert [v.rule_id for v in lint_code(repo)] == ["GOV016-derived-code"]  # code v2, yaml v1
    (folder / "hourly_play_sessions.yaml").rename(folder / "hourly_play_sessions.v1.yaml")
    (folder / "hourly_play_sessions.v2.yaml").rename(folder / "hourly_play_sessions.yaml")
    assert lint_code(repo) == []
