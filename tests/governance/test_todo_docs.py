"""GOV005-field-docs: a placeholder doc (``TODO``) is a warning, a missing doc an error.

``mesh product new`` writes TODO docs for the fields it cannot know the meaning of: the product
is lint-clean (it can be applied) but the warnings say what is left to write.
"""

from __future__ import annotations

import json
from pathlib import Path

from streams.governance import lint
from tests.catalog._repo import PLAY_EVENT, line_of, make_repo, write_schema


def _with_doc(root: Path, doc: str) -> Path:
    record = json.loads(json.dumps(PLAY_EVENT))
    record["fields"][4]["doc"] = doc
    make_repo(root)
    write_schema(root, "player", record)
    return root / "schemas" / "player" / "PlayEvent.avsc"


def test_a_todo_doc_is_a_warning_at_its_field(tmp_path: Path) -> None:
    schema = _with_doc(tmp_path, "TODO: what ms_played means, its unit and when it is null.")
    (found,) = lint(tmp_path)
    assert (found.rule_id, found.severity) == ("GOV005-field-docs", "warning")
    assert found.path is not None
    assert found.path.endswith("schemas/player/PlayEvent.avsc")
    assert found.line == line_of(schema, '"ms_played"')
    assert "ms_played" in found.message
    assert "TODO" in found.message
    assert "replace" in found.hint


def test_todo_is_recognised_in_any_case_and_with_fixme(tmp_path: Path) -> None:
    for doc in ("todo", "  TODO", "FIXME: later", "TBD"):
        _with_doc(tmp_path, doc)
        assert [(v.rule_id, v.severity) for v in lint(tmp_path)] == [
            ("GOV005-field-docs", "warning")
        ], doc


def test_a_doc_that_mentions_todo_later_is_fine(tmp_path: Path) -> None:
    _with_doc(tmp_path, "Milliseconds heard (a TODO list app counts them too).")
    assert lint(tmp_path) == []
