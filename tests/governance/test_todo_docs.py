"""GOV005-field-docs: a placeholder doc (``TODO``) is a warning, a missing doc an error.

``mesh product new`` writes TODO docs for the fields it cannot know the meaning of: the product
is lint-clean (it can be applied) but the warnings say what is left to write.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from streams.governance import lint
from streams.scaffold import new_product
from tests.catalog._repo import PLAY_EVENT, PRODUCT, line_of, make_repo, product, write_schema
from tests.scaffold._copy import copy_repo


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


# --- the record's doc and the descriptor's texts (`mesh product new` writes TODO there too) ---


def test_a_todo_record_doc_is_a_warning_at_its_line(tmp_path: Path) -> None:
    record = json.loads(json.dumps(PLAY_EVENT))
    record["doc"] = "TODO: what one PlayEvent record says."
    make_repo(tmp_path)
    schema = write_schema(tmp_path, "player", record)
    (found,) = lint(tmp_path)
    assert (found.rule_id, found.severity) == ("GOV005-field-docs", "warning")
    assert found.path is not None
    assert found.path.endswith("schemas/player/PlayEvent.avsc")
    assert found.line == line_of(schema, '"doc": "TODO')
    assert "record 'PlayEvent'" in found.message
    assert "TODO" in found.message


def test_a_todo_nested_record_doc_is_a_warning_too(tmp_path: Path) -> None:
    record = json.loads(json.dumps(PLAY_EVENT))
    record["fields"][5]["type"][1]["doc"] = "TBD"
    make_repo(tmp_path)
    write_schema(tmp_path, "player", record)
    (found,) = lint(tmp_path)
    assert (found.rule_id, found.severity) == ("GOV005-field-docs", "warning")
    assert "record 'Context'" in found.message


@pytest.mark.parametrize(
    ("changes", "key", "where"),
    [
        ({"description__purpose": "TODO: what it records"}, "purpose:", "description.purpose"),
        ({"description__usage": "  todo"}, "usage:", "description.usage"),
        ({"description__limitations": "FIXME: late"}, "limitations:", "description.limitations"),
        (
            {"status": "deprecated", "deprecation": {"note": "TBD", "sunset": "2030-01-01"}},
            "note:",
            "deprecation.note",
        ),
    ],
    ids=["purpose", "usage", "limitations", "deprecation note"],
)
def test_a_placeholder_text_in_the_descriptor_is_a_warning_at_its_line(
    tmp_path: Path, changes: dict[str, object], key: str, where: str
) -> None:
    make_repo(tmp_path, product(**changes))
    descriptor = tmp_path / "products" / "player" / "play_events.yaml"
    (found,) = lint(tmp_path)
    assert (found.rule_id, found.severity) == ("GOV022-placeholder", "warning")
    assert found.path is not None
    assert found.path.endswith("products/player/play_events.yaml")
    assert found.line == line_of(descriptor, key)
    assert f"{where!r}" in found.message
    assert "placeholder" in found.message


def test_a_placeholder_quality_rule_description_is_a_warning(tmp_path: Path) -> None:
    rules = json.loads(json.dumps(PRODUCT["quality"]))
    rules[2]["description"] = "TODO why this range"
    make_repo(tmp_path, product(quality=rules))
    (found,) = lint(tmp_path)
    assert (found.rule_id, found.severity) == ("GOV022-placeholder", "warning")
    assert "'quality[2].description'" in found.message


def test_descriptor_texts_that_mention_todo_later_are_fine(tmp_path: Path) -> None:
    make_repo(tmp_path, product(description__usage="Charts; a TODO list app reads it too."))
    assert lint(tmp_path) == []


def test_a_new_product_reports_every_placeholder_it_wrote(tmp_path: Path) -> None:
    """`mesh product new` writes TODO texts in the descriptor and the record doc: all reported,
    as warnings (the product still applies)."""
    root = copy_repo(tmp_path / "repo")
    made = new_product(root, "partners.signups")
    found = lint(made.descriptor)
    assert {v.severity for v in found} == {"warning"}
    placeholders = {
        (Path(v.path or "").name, v.rule_id, re.split(r" (?:is|has) a placeholder", v.message)[0])
        for v in found
    }
    assert {
        ("signups.yaml", "GOV022-placeholder", "'description.purpose'"),
        ("signups.yaml", "GOV022-placeholder", "'description.usage'"),
        ("Signup.avsc", "GOV005-field-docs", "record 'Signup'"),
    } <= placeholders
