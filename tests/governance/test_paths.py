"""Where lint says a problem is: paths that open from the working directory, real lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.governance import lint
from tests.catalog._repo import PLAY_EVENT, make_repo, write_schema


def _todo_schema(root: Path) -> None:
    record = json.loads(json.dumps(PLAY_EVENT))
    record["fields"][4]["doc"] = "TODO"
    write_schema(root, "player", record)


def _broken(root: Path, text: str) -> Path:
    path = root / "products" / "player" / "broken.yaml"
    path.write_text(text)
    return path


def test_from_products_every_path_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schema is not below products/: it is ../schemas/..., not an absolute path."""
    make_repo(tmp_path)
    _todo_schema(tmp_path)
    _broken(tmp_path, "name: [x\n")
    monkeypatch.chdir(tmp_path / "products")
    found = lint(Path("."))
    assert [(v.path, v.rule_id) for v in found] == [
        ("../schemas/player/PlayEvent.avsc", "GOV005-field-docs"),
        ("player/broken.yaml", "GOV000-descriptor"),
    ]
    for item in found:
        assert (Path.cwd() / (item.path or "")).is_file()


def test_outside_the_repository_paths_are_relative_to_its_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo)
    _todo_schema(repo)
    _broken(repo, "name: [x\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert [v.path for v in lint(repo)] == [
        "products/player/broken.yaml",
        "schemas/player/PlayEvent.avsc",
    ]


def test_below_the_working_directory_paths_are_relative_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_repo(tmp_path / "repo")
    _todo_schema(tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    assert [v.path for v in lint(Path("repo"))] == ["repo/schemas/player/PlayEvent.avsc"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("name: [x\n", 1),
        ("name: [x", 1),
        ("name: play_events\ndomain: {player\n\n\n", 2),
        ("name: 'play_events\n", 1),
    ],
    ids=["one line", "no newline", "blank lines after", "open quote"],
)
def test_a_yaml_error_at_the_end_of_the_file_is_on_its_last_written_line(
    tmp_path: Path, text: str, line: int
) -> None:
    make_repo(tmp_path)
    _broken(tmp_path, text)
    (found,) = lint(tmp_path / "products" / "player" / "broken.yaml")
    assert found.rule_id == "GOV000-descriptor"
    assert "not valid YAML" in found.message
    assert found.line == line
