"""GOV023-pii-protection: the "pii" marks of a value schema say a protection emit can apply."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from streams.governance import Violation, lint
from tests.catalog._repo import PLAY_EVENT, line_of, make_repo, write_schema

RULE = "GOV023-pii-protection"


def _lint(root: Path, *fields: dict[str, Any], **record: Any) -> list[Violation]:
    schema = copy.deepcopy(PLAY_EVENT)
    schema["fields"] += list(fields)
    schema.update(record)
    make_repo(root)
    write_schema(root, "player", schema)
    return [item for item in lint(root) if item.rule_id == RULE]


def _field(name: str, kind: Any, pii: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "doc": f"The {name}.", "pii": pii}


def test_protected_fields_with_one_subject_pass(tmp_path: Path) -> None:
    found = _lint(
        tmp_path,
        _field("email", "string", "encrypt"),
        _field("nickname", ["null", "string"], "encrypt"),
        _field("photo", "bytes", "encrypt"),
    )
    assert found == []


def test_true_is_refused_with_the_fix_at_the_fields_line(tmp_path: Path) -> None:
    (found,) = _lint(tmp_path, _field("email", "string", True))
    assert found.message == "field 'email' is marked \"pii\": true, which says no protection"
    assert '"pii": "pseudonymize"' in found.hint
    assert '"pii": "encrypt"' in found.hint
    assert found.path is not None
    assert found.path.endswith("schemas/player/PlayEvent.avsc")
    schema = tmp_path / "schemas/player/PlayEvent.avsc"
    assert found.line == line_of(schema, '"name": "email"')


@pytest.mark.parametrize("mark", ["yes", False, "hash", 1])
def test_an_unknown_value_is_refused(tmp_path: Path, mark: object) -> None:
    (found,) = _lint(tmp_path, _field("email", "string", mark))
    assert found.message == f"field 'email' has an unknown \"pii\" value {mark!r}"


def test_a_protection_the_policy_does_not_allow_is_refused(tmp_path: Path) -> None:
    (tmp_path / "governance.yaml").write_text("allowedPiiProtections: [encrypt]\n")
    found = _lint(tmp_path, _field("email", "string", "encrypt"), **{"pii.subject": "user_id"})
    assert [item.message for item in found] == [
        "field 'user_id' asks for 'pseudonymize', which the mesh does not allow"
    ]
    assert "allowedPiiProtections" in found[0].hint


@pytest.mark.parametrize(
    ("kind", "protection", "problem"),
    [
        ("double", "encrypt", "its type is 'double', not string or bytes"),
        ("long", "encrypt", "its type is 'long', not string or bytes"),
        ("boolean", "pseudonymize", "its type is 'boolean', not string or long or int"),
        (["null", "int", "string"], "encrypt", "a union of several types"),
        (
            {"type": "string", "logicalType": "uuid"},
            "encrypt",
            "its logicalType 'uuid' would not hold the protected value",
        ),
        (
            {"type": "long", "logicalType": "timestamp-millis"},
            "pseudonymize",
            "its logicalType 'timestamp-millis'",
        ),
    ],
)
def test_the_type_must_hold_the_protected_value(
    tmp_path: Path, kind: Any, protection: str, problem: str
) -> None:
    (found,) = _lint(tmp_path, _field("secret", kind, protection))
    verb = "pseudonymized" if protection == "pseudonymize" else "encrypted"
    assert found.message.startswith(f"field 'secret' cannot be {verb}: {problem}")
    assert found.hint


def test_pseudonymized_uuids_and_integers_pass(tmp_path: Path) -> None:
    found = _lint(
        tmp_path,
        _field("device_id", {"type": "string", "logicalType": "uuid"}, "pseudonymize"),
        _field("account", ["null", "long"], "pseudonymize"),
        _field("pin", "int", "pseudonymize"),
    )
    assert found == []


def test_encrypted_fields_need_a_subject(tmp_path: Path) -> None:
    schema_less = _lint(
        tmp_path,
        _field("email", "string", "encrypt"),
        _field("device_id", "string", "pseudonymize"),
    )
    (found,) = schema_less
    assert found.message == (
        "encrypted fields (email) need a data subject, whose key encrypts them; the record has "
        "2 pseudonymized fields (user_id, device_id)"
    )
    assert '"pii.subject": "<field>"' in found.hint


def test_a_nullable_pseudonymized_subject_is_refused(tmp_path: Path) -> None:
    schema = copy.deepcopy(PLAY_EVENT)
    schema["fields"][2]["type"] = ["null", "string"]
    schema["fields"][2]["default"] = None
    schema["fields"].append(_field("email", "string", "encrypt"))
    make_repo(tmp_path)
    write_schema(tmp_path, "player", schema)
    (found,) = [item for item in lint(tmp_path) if item.rule_id == RULE]
    assert found.message.startswith("the data subject 'user_id', whose key encrypts email, is")


def test_a_record_level_subject_picks_one(tmp_path: Path) -> None:
    found = _lint(
        tmp_path,
        _field("email", "string", "encrypt"),
        _field("device_id", "string", "pseudonymize"),
        **{"pii.subject": "user_id"},
    )
    assert found == []


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        ("nobody", "\"pii.subject\": 'nobody' is not a top-level field of the record"),
        ("context", "\"pii.subject\" field 'context' is not a string, long or int"),
        ("email", "the data subject 'email' is itself encrypted"),
    ],
)
def test_a_wrong_subject_is_refused(tmp_path: Path, subject: str, message: str) -> None:
    (found,) = _lint(tmp_path, _field("email", "string", "encrypt"), **{"pii.subject": subject})
    assert found.message.startswith(message)


def test_protection_inside_a_nested_record_is_refused(tmp_path: Path) -> None:
    schema = copy.deepcopy(PLAY_EVENT)
    schema["fields"][5]["type"][1]["fields"][0]["pii"] = "encrypt"
    make_repo(tmp_path)
    write_schema(tmp_path, "player", schema)
    (found,) = [item for item in lint(tmp_path) if item.rule_id == RULE]
    assert found.message.startswith("field 'context.playlist_id' is protected inside a nested")


def test_the_repositorys_own_schemas_are_clean() -> None:
    root = Path(__file__).parents[2]
    assert [item for item in lint(root) if item.rule_id == RULE] == []
