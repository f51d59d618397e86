"""Every policy: a failing case and a passing case, on descriptors built in temporary folders."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from streams.governance import POLICIES, Violation, lint
from tests.catalog._repo import (
    DELETE,
    PLAY_EVENT,
    line_of,
    make_repo,
    product,
    write_product,
    write_schema,
)

Setup = Callable[[Path], None]


def _ids(violations: list[Violation]) -> set[str]:
    return {item.rule_id for item in violations}


def _aggregate(**changes: object) -> dict[str, object]:
    return product(
        name="hourly",
        kind="aggregate",
        inputPorts=[{"product": "player.play_events", "version": 1}],
        **changes,
    )


def _consumer(*inputs: str) -> dict[str, object]:
    return product(
        name="mixes",
        kind="consumer-aligned",
        outputPort__compatibility="BACKWARD",
        inputPorts=[{"product": item} for item in inputs],
    )


def _undocumented(root: Path) -> None:
    record = json.loads(json.dumps(PLAY_EVENT))
    del record["fields"][4]["doc"]
    make_repo(root)
    write_schema(root, "player", record)


def _foreign_schema(root: Path) -> None:
    make_repo(root, product(outputPort__schema="schemas/listeners/PlayEvent.avsc"))
    write_schema(root, "listeners", PLAY_EVENT)


def _renamed_schema(root: Path) -> None:
    make_repo(root, product(outputPort__schema="schemas/player/Play.avsc"))
    (root / "schemas" / "player" / "PlayEvent.avsc").rename(root / "schemas/player/Play.avsc")


def _policy_file(text: str, *docs: dict[str, object]) -> Setup:
    def setup(root: Path) -> None:
        make_repo(root, *docs)
        (root / "governance.yaml").write_text(text)

    return setup


def _misplaced(root: Path) -> None:
    make_repo(root, product(name="skips"))
    write_product(root, product(), root / "products" / "listeners" / "play_events.yaml")


def _misnamed(root: Path) -> None:
    make_repo(root, product(name="skips"))
    write_product(root, product(), root / "products" / "player" / "plays.yaml")


def _duplicate(root: Path) -> None:
    make_repo(root)
    write_product(root, product(), root / "products" / "player" / "play_events.v1.yaml")


def _typo_logical_type(root: Path) -> None:
    record = json.loads(json.dumps(PLAY_EVENT))
    record["fields"][0]["type"] = {"type": "string", "logicalType": "uiid"}
    make_repo(root)
    write_schema(root, "player", record)


def _legacy_pii(root: Path) -> None:
    record = json.loads(json.dumps(PLAY_EVENT))
    record["fields"][2]["pii"] = True
    make_repo(root)
    write_schema(root, "player", record)


def _repo(*docs: dict[str, object]) -> Setup:
    def setup(root: Path) -> None:
        make_repo(root, *docs)

    return setup


FAILING: list[tuple[str, str, Setup]] = [
    ("GOV001-required", "no owner", _repo(product(owner=DELETE))),
    ("GOV001-required", "no description", _repo(product(description=DELETE))),
    ("GOV001-required", "no classification", _repo(product(classification=DELETE))),
    ("GOV001-required", "no outputPort.retention", _repo(product(outputPort__retention=DELETE))),
    ("GOV001-required", "no guarantees", _repo(product(guarantees=DELETE))),
    ("GOV002-naming", "invalid product name", _repo(product(name="PlayEvents"))),
    ("GOV002-naming", "invalid domain name", _repo(product(domain="Player"))),
    ("GOV002-naming", "carries a version", _repo(product(name="play_events_v2"))),
    ("GOV003-location", "products/listeners/", _misplaced),
    ("GOV003-location", "declared in 'plays.yaml'", _misnamed),
    ("GOV004-schema-location", "belongs at 'schemas/player/PlayEvent.avsc'", _foreign_schema),
    ("GOV004-schema-location", "holds record 'PlayEvent'", _renamed_schema),
    ("GOV005-field-docs", "field 'ms_played' has no doc", _undocumented),
    (
        "GOV006-pii",
        "too low for personal data (user_id)",
        _repo(product(classification="internal")),
    ),
    (
        "GOV006-pii",
        "retention 365d keeps personal data (user_id)",
        _repo(product(outputPort__retention="365d")),
    ),
    (
        "GOV007-classification",
        "'restricted' is not allowed",
        _policy_file(
            "allowedClassifications: [public, confidential]\n", product(classification="restricted")
        ),
    ),
    (
        "GOV008-partitions",
        "100 partitions is outside 1..64",
        _repo(product(outputPort__partitions=100)),
    ),
    ("GOV009-retention", "exceeds the maximum 7d", _policy_file("maxRetention: 7d\n")),
    (
        "GOV010-compatibility",
        "FORWARD is weaker than BACKWARD",
        _repo(product(outputPort__compatibility="FORWARD")),
    ),
    (
        "GOV010-compatibility",
        "an aggregate consumed by player.mixes needs at least BACKWARD_TRANSITIVE",
        _repo(product(), _aggregate(outputPort__compatibility="FULL"), _consumer("player.hourly")),
    ),
    (
        "GOV011-kind-inputs",
        "a aggregate product declares no inputs",
        _repo(product(kind="aggregate")),
    ),
    (
        "GOV011-kind-inputs",
        "a source-aligned product declares inputs",
        _repo(product(), product(name="skips", inputPorts=[{"product": "player.play_events"}])),
    ),
    (
        "GOV012-inputs",
        "input player.nope version 1 does not exist",
        _repo(_consumer("player.nope")),
    ),
    (
        "GOV012-inputs",
        "lists itself as an input",
        _repo(product(kind="aggregate", inputPorts=[{"product": "player.play_events"}])),
    ),
    (
        "GOV012-inputs",
        "input player.play_events.v1 is retired: gone",
        _repo(product(status="retired", deprecation={"note": "gone"}), _aggregate()),
    ),
    (
        "GOV013-fields",
        "key 'account_id' is not a field",
        _repo(product(outputPort__key="account_id")),
    ),
    (
        "GOV013-fields",
        "event-time field 'ms_played' is not a timestamp",
        _repo(product(outputPort__eventTime="ms_played")),
    ),
    (
        "GOV013-fields",
        "event-time field 'ended_at' is not a field",
        _repo(product(outputPort__eventTime="ended_at")),
    ),
    (
        "GOV013-fields",
        "not_null rule field 'track_id' is not a field",
        _repo(product(quality=[{"rule": "not_null", "field": "track_id"}])),
    ),
    (
        "GOV013-fields",
        "range rule on 'device', which is not a number",
        _repo(product(quality=[{"rule": "range", "field": "device", "min": 0}])),
    ),
    (
        "GOV013-fields",
        "values ['TV'] are not symbols of enum",
        _repo(product(quality=[{"rule": "allowed_values", "field": "device", "values": ["TV"]}])),
    ),
    (
        "GOV014-lifecycle",
        "status is 'deprecated' but no 'deprecation'",
        _repo(product(status="deprecated")),
    ),
    (
        "GOV014-lifecycle",
        "an active product has a 'deprecation' block",
        _repo(product(deprecation={"note": "x"})),
    ),
    ("GOV015-duplicate", "player.play_events.v1 is also declared in", _duplicate),
    ("GOV021-logical-type", "field 'event_id' has logicalType 'uiid'", _typo_logical_type),
    ("GOV023-pii-protection", "field 'user_id' is marked \"pii\": true", _legacy_pii),
    ("GOV000-descriptor", "unknown field 'owners'", _repo(product(owners="x"))),
    ("GOV000-descriptor", "maxPartitions", _policy_file("minPartitions: 10\nmaxPartitions: 5\n")),
]


@pytest.mark.parametrize(
    ("rule_id", "message", "setup"),
    FAILING,
    ids=[f"{rule_id}:{message[:40]}" for rule_id, message, _ in FAILING],
)
def test_policy_fails(tmp_path: Path, rule_id: str, message: str, setup: Setup) -> None:
    setup(tmp_path)
    found = [item for item in lint(tmp_path) if item.rule_id == rule_id]
    assert any(message in item.message for item in found), found
    for item in found:
        assert item.hint
        assert item.path is not None
        assert item.line is not None
        assert item.line >= 1
        assert item.severity == "error"


WARNING: list[tuple[str, str, Setup]] = [
    (
        "GOV022-placeholder",
        "'description.usage' is a placeholder: 'TODO: who reads it.'",
        _repo(product(description__usage="TODO: who reads it.")),
    ),
]
"""Policies that only ever warn: what they find is reported, and ``lint`` still passes."""


@pytest.mark.parametrize(
    ("rule_id", "message", "setup"),
    WARNING,
    ids=[f"{rule_id}:{message[:40]}" for rule_id, message, _ in WARNING],
)
def test_policy_warns(tmp_path: Path, rule_id: str, message: str, setup: Setup) -> None:
    setup(tmp_path)
    found = [item for item in lint(tmp_path) if item.rule_id == rule_id]
    assert any(message in item.message for item in found), found
    for item in found:
        assert item.hint
        assert item.path is not None
        assert item.line is not None
        assert item.severity == "warning"


def test_every_policy_has_a_failing_case() -> None:
    numbered = {policy.__doc__.split(":")[0] for policy in POLICIES if policy.__doc__}
    assert numbered <= {rule_id for rule_id, _, _ in [*FAILING, *WARNING]}
    assert len(numbered) == len(POLICIES)


def test_clean_repository_passes_every_policy(tmp_path: Path) -> None:
    make_repo(tmp_path, product(), _aggregate(), _consumer("player.hourly", "player.play_events"))
    assert lint(tmp_path) == []


def test_violation_points_at_the_key(tmp_path: Path) -> None:
    make_repo(tmp_path, product(outputPort__partitions=100))
    (found,) = lint(tmp_path)
    path = tmp_path / "products" / "player" / "play_events.yaml"
    assert found.line == line_of(path, "partitions: 100")
    assert found.location.endswith(f"play_events.yaml:{found.line}")


def test_field_docs_point_into_the_schema(tmp_path: Path) -> None:
    _undocumented(tmp_path)
    (found,) = lint(tmp_path)
    schema = tmp_path / "schemas" / "player" / "PlayEvent.avsc"
    assert found.path is not None
    assert found.path.endswith("schemas/player/PlayEvent.avsc")
    assert found.line == line_of(schema, '"name": "ms_played"')


def test_deprecated_input_is_a_warning(tmp_path: Path) -> None:
    deprecated = product(
        status="deprecated", deprecation={"note": "use v2", "sunset": "2030-01-01"}
    )
    make_repo(tmp_path, deprecated, _aggregate())
    (found,) = lint(tmp_path)
    assert (found.rule_id, found.severity) == ("GOV012-inputs", "warning")
    assert "input player.play_events.v1 is deprecated: use v2" in found.message


def test_deprecated_without_sunset_is_a_warning(tmp_path: Path) -> None:
    make_repo(tmp_path, product(status="deprecated", deprecation={"note": "use v2"}))
    (found,) = lint(tmp_path)
    assert (found.rule_id, found.severity) == ("GOV014-lifecycle", "warning")


def test_superseded_version_may_live_next_to_the_current_one(tmp_path: Path) -> None:
    old = product(status="deprecated", deprecation={"note": "use v2", "sunset": "2030-01-01"})
    make_repo(tmp_path, product(version=2))
    write_product(tmp_path, old, tmp_path / "products" / "player" / "play_events.v1.yaml")
    assert lint(tmp_path) == []


def test_thresholds_come_from_the_policy_file(tmp_path: Path) -> None:
    make_repo(tmp_path, product(outputPort__partitions=100))
    (tmp_path / "governance.yaml").write_text("maxPartitions: 128\n")
    assert lint(tmp_path) == []


def test_lint_one_file_still_sees_the_others(tmp_path: Path) -> None:
    make_repo(tmp_path, product(owner=DELETE), _aggregate())
    hourly = tmp_path / "products" / "player" / "hourly.yaml"
    assert lint(hourly) == []
    assert _ids(lint(tmp_path)) == {"GOV001-required"}


def test_empty_repository_warns(tmp_path: Path) -> None:
    (found,) = lint(tmp_path)
    assert (found.rule_id, found.severity) == ("GOV000-descriptor", "warning")


def test_a_logical_type_typo_names_the_schema_line_and_the_fix(tmp_path: Path) -> None:
    _typo_logical_type(tmp_path)
    (found,) = lint(tmp_path)
    assert found.rule_id == "GOV021-logical-type"
    assert found.path is not None
    assert found.path.endswith("schemas/player/PlayEvent.avsc")
    assert found.line == line_of(tmp_path / "schemas/player/PlayEvent.avsc", '"event_id"')
    assert found.hint.startswith('did you mean "uuid"?')


def test_known_logical_types_anywhere_in_a_field_pass(tmp_path: Path) -> None:
    record = json.loads(json.dumps(PLAY_EVENT))
    record["fields"][4]["type"] = {
        "type": "array",
        "items": ["null", {"type": "int", "logicalType": "date"}],
    }
    make_repo(tmp_path, product(quality=[]))
    write_schema(tmp_path, "player", record)
    assert lint(tmp_path) == []
    record["fields"][4]["type"]["items"][1]["logicalType"] = "dates"
    write_schema(tmp_path, "player", record)
    assert [item.message for item in lint(tmp_path)] == [
        "field 'ms_played' has logicalType 'dates', which Avro does not know: readers would "
        "ignore it and see the plain base type"
    ]


@pytest.mark.parametrize("written", ["1.0", "2.0", "true"])
def test_a_version_that_is_not_a_whole_number_is_refused(tmp_path: Path, written: str) -> None:
    make_repo(tmp_path)
    path = tmp_path / "products/player/play_events.yaml"
    path.write_text(path.read_text().replace("version: 1\n", f"version: {written}\n"))
    (found,) = lint(tmp_path)
    assert found.rule_id == "GOV000-descriptor"
    assert found.line == line_of(path, "version:")
    assert found.message == (
        "version: the major version is a whole number: write e.g. 'version: 1', not "
        f"{written} (a minor change keeps the major version; a breaking one takes the next)"
    )


@pytest.mark.parametrize(
    ("name", "file"),
    [("PlayEvents", "play_events.yaml"), ("play-events", "play_events.yaml")],
)
def test_the_location_hint_names_a_valid_file(tmp_path: Path, name: str, file: str) -> None:
    make_repo(tmp_path, product(name="skips"))
    write_product(tmp_path, product(name=name), tmp_path / "products" / "player" / "plays.yaml")
    (found,) = [item for item in lint(tmp_path) if item.rule_id == "GOV003-location"]
    assert f"products/player/{file} and rename 'name: {file[:-5]}' (GOV002)" in found.hint
    assert name not in found.hint.split("rename")[0]


def test_a_superseded_version_keeps_its_own_schema(tmp_path: Path) -> None:
    """After a breaking change, v1 stays (to be deprecated, then retired) with its schema."""
    old = json.loads(json.dumps(PLAY_EVENT))
    new = json.loads(json.dumps(PLAY_EVENT))
    new["fields"][4]["type"] = "string"  # ms_played: long -> string, a breaking change
    make_repo(tmp_path, product(version=2, quality=[]))
    write_schema(tmp_path, "player", new)
    (tmp_path / "schemas/player/PlayEvent.v1.avsc").write_text(json.dumps(old, indent=2))
    v1 = product(
        status="deprecated",
        deprecation={"note": "v2 types ms_played as text", "sunset": "2030-01-01"},
        outputPort__schema="schemas/player/PlayEvent.v1.avsc",
    )
    descriptor = tmp_path / "products/player/play_events.v1.yaml"
    write_product(tmp_path, v1, descriptor)
    assert lint(tmp_path) == []
    # The copy must carry the version it serves.
    v1["outputPort"]["schema"] = "schemas/player/PlayEvent.v3.avsc"  # type: ignore[index]
    (tmp_path / "schemas/player/PlayEvent.v3.avsc").write_text(json.dumps(old))
    write_product(tmp_path, v1, descriptor)
    (found,) = lint(tmp_path)
    assert found.rule_id == "GOV004-schema-location"
    assert "schemas/player/PlayEvent.v1.avsc to keep the schema of superseded version 1" in (
        found.hint
    )
