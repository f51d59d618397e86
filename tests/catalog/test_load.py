"""Loading descriptors: the happy path and every error path, each with file:line and a fix."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.catalog import INFINITE, load_product, load_products
from streams.errors import DescriptorError
from tests.catalog._repo import DELETE, PLAY_EVENT, line_of, make_repo, product, write_product


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path) -> Iterator[None]:
    """Run in the temporary repository so messages show short relative paths."""
    old = Path.cwd()
    os.chdir(tmp_path)
    yield
    os.chdir(old)


def _descriptor(tmp_path: Path) -> Path:
    return tmp_path / "products" / "player" / "play_events.yaml"


def _error(path: Path) -> DescriptorError:
    with pytest.raises(DescriptorError) as caught:
        load_product(path)
    return caught.value


def test_loads_model_schema_and_positions(tmp_path: Path) -> None:
    make_repo(tmp_path)
    loaded = load_product(_descriptor(tmp_path))
    product = loaded.product
    assert product.id == "player.play_events"
    assert product.topic == "player.play_events.v1"
    assert product.ref.subject == "player.play_events.v1-value"
    assert product.guarantees is not None
    assert product.guarantees.freshness == 60
    assert product.guarantees.latency == 30
    assert product.output_port.retention == 30 * 86400
    assert product.output_port.retention_ms == 30 * 86400 * 1000
    assert loaded.root == tmp_path.resolve()
    assert loaded.schema.definition["name"] == "test.player.PlayEvent"
    assert loaded.line_of("guarantees", "freshness") == line_of(loaded.path, "freshness:")
    assert loaded.line_of("quality", 2, "min") == line_of(loaded.path, "min: 0")


def test_infinite_retention(tmp_path: Path) -> None:
    make_repo(tmp_path, product(outputPort__retention="infinite"))
    loaded = load_product(_descriptor(tmp_path))
    assert loaded.product.output_port.retention == INFINITE
    assert loaded.product.output_port.retention_ms == -1


def test_load_products_finds_every_descriptor(tmp_path: Path) -> None:
    make_repo(tmp_path, product(), product(name="skips"))
    assert [p.product.id for p in load_products(tmp_path)] == [
        "player.play_events",
        "player.skips",
    ]


def test_missing_file(tmp_path: Path) -> None:
    error = _error(tmp_path / "products" / "player" / "nope.yaml")
    assert error.line == 1
    assert "products/player/nope.yaml:1: no such product descriptor" in str(error)
    assert "create the file" in str(error)


def test_malformed_yaml(tmp_path: Path) -> None:
    make_repo(tmp_path)
    path = _descriptor(tmp_path)
    path.write_text("name: play_events\ndomain: player\n  version: 1\n")
    error = _error(path)
    assert error.path == "products/player/play_events.yaml"
    assert error.line == 3
    assert "products/player/play_events.yaml:3: not valid YAML" in str(error)
    assert "check the indentation" in str(error)


def test_key_written_twice(tmp_path: Path) -> None:
    make_repo(tmp_path)
    path = _descriptor(tmp_path)
    path.write_text(path.read_text() + "name: again\n")
    error = _error(path)
    assert error.line == line_of(path, "name: again")
    assert f"play_events.yaml:{error.line}: 'name' is written twice (also on line 1)" in str(error)
    assert "keep one" in str(error)


def test_not_a_mapping(tmp_path: Path) -> None:
    make_repo(tmp_path)
    path = _descriptor(tmp_path)
    path.write_text("- play_events\n")
    assert "play_events.yaml:1: a product descriptor must be a YAML mapping" in str(_error(path))


def test_unknown_field_suggests_the_right_one(tmp_path: Path) -> None:
    make_repo(tmp_path, product(guarantees__freshnes="5m"))
    path = _descriptor(tmp_path)
    error = _error(path)
    line = line_of(path, "freshnes: 5m")
    assert error.line == line
    assert f"play_events.yaml:{line}: unknown field 'freshnes' in guarantees" in str(error)
    assert "did you mean 'freshness'?" in str(error)


def test_unknown_field_in_a_quality_rule(tmp_path: Path) -> None:
    doc = product()
    doc["quality"][2]["mn"] = 0
    make_repo(tmp_path, doc)
    path = _descriptor(tmp_path)
    error = _error(path)
    assert f"play_events.yaml:{line_of(path, 'mn: 0')}: unknown field 'mn' in quality[2]" in str(
        error
    )
    assert "did you mean 'min'?" in str(error)


def test_topic_cannot_be_written(tmp_path: Path) -> None:
    make_repo(tmp_path, product(outputPort__topic="player.play_events.v1"))
    path = _descriptor(tmp_path)
    error = _error(path)
    assert f":{line_of(path, 'topic:')}: 'topic' cannot be written" in str(error)
    assert "derived from domain, name and version" in str(error)


def test_wrong_type(tmp_path: Path) -> None:
    make_repo(tmp_path, product(outputPort__partitions="many"))
    path = _descriptor(tmp_path)
    error = _error(path)
    line = line_of(path, "partitions: many")
    assert error.line == line
    assert f"play_events.yaml:{line}: outputPort.partitions: Input should be a valid integer" in (
        str(error)
    )
    assert "write e.g. 'partitions: 6'" in str(error)


def test_bad_duration(tmp_path: Path) -> None:
    make_repo(tmp_path, product(guarantees__latency=30))
    path = _descriptor(tmp_path)
    error = _error(path)
    assert f":{line_of(path, 'latency: 30')}: guarantees.latency: 30 is not a duration" in str(
        error
    )
    assert "e.g. '30s'" in str(error)


def test_bad_enum_value(tmp_path: Path) -> None:
    make_repo(tmp_path, product(classification="secret"))
    path = _descriptor(tmp_path)
    error = _error(path)
    assert f":{line_of(path, 'classification:')}: classification: Input should be" in str(error)
    assert "'confidential'" in str(error)


def test_missing_field(tmp_path: Path) -> None:
    make_repo(tmp_path, product(outputPort__partitions=DELETE))
    path = _descriptor(tmp_path)
    error = _error(path)
    assert f":{line_of(path, 'outputPort:')}: missing field 'partitions' in outputPort" in str(
        error
    )
    assert "add it, e.g. 'partitions: 6'" in str(error)


def test_unknown_quality_rule(tmp_path: Path) -> None:
    doc = product()
    doc["quality"][0]["rule"] = "uniq"
    make_repo(tmp_path, doc)
    path = _descriptor(tmp_path)
    error = _error(path)
    assert f":{line_of(path, 'rule: uniq')}: quality[0].rule: 'uniq' is not a quality rule" in (
        str(error)
    )
    assert "not_null, range, allowed_values, unique" in str(error)


def test_every_problem_is_listed(tmp_path: Path) -> None:
    make_repo(tmp_path, product(kind="sauce", outputPort__partitions="x"))
    error = _error(_descriptor(tmp_path))
    assert len(error.problems) == 2
    assert [line for line, _ in error.problems] == sorted(line for line, _ in error.problems)


def test_missing_schema_file(tmp_path: Path) -> None:
    make_repo(tmp_path, product(outputPort__schema="schemas/player/Nope.avsc"))
    path = _descriptor(tmp_path)
    error = _error(path)
    line = line_of(path, "schema: schemas/player/Nope.avsc")
    assert error.line == line
    assert (
        f"play_events.yaml:{line}: value schema file 'schemas/player/Nope.avsc' does not exist"
        in (str(error))
    )
    assert "create it or fix the path" in str(error)


def test_schema_outside_the_repository(tmp_path: Path) -> None:
    make_repo(tmp_path, product(outputPort__schema="/etc/PlayEvent.avsc"))
    assert "must be a path inside the repository" in str(_error(_descriptor(tmp_path)))


def test_invalid_schema_names_the_file(tmp_path: Path) -> None:
    make_repo(tmp_path)
    (tmp_path / "schemas" / "player" / "PlayEvent.avsc").write_text('{"type": "record"}')
    path = _descriptor(tmp_path)
    error = _error(path)
    line = line_of(path, "schema:")
    assert f":{line}: value schema file 'schemas/player/PlayEvent.avsc' is not valid Avro" in str(
        error
    )


def test_schema_must_be_a_record(tmp_path: Path) -> None:
    make_repo(tmp_path)
    (tmp_path / "schemas" / "player" / "PlayEvent.avsc").write_text('"string"')
    assert "must be an Avro record" in str(_error(_descriptor(tmp_path)))


def test_range_rule_needs_a_bound(tmp_path: Path) -> None:
    doc = product()
    doc["quality"][2] = {"rule": "range", "field": "ms_played"}
    make_repo(tmp_path, doc)
    assert "a range rule needs 'min', 'max' or both" in str(_error(_descriptor(tmp_path)))


def test_input_written_with_version(tmp_path: Path) -> None:
    doc = product(kind="aggregate", inputPorts=[{"product": "player.play_events.v1"}])
    make_repo(tmp_path, doc)
    error = _error(_descriptor(tmp_path))
    assert "write the product id without version, e.g. 'player.play_events'" in str(error)


def test_root_found_outside_the_layout(tmp_path: Path) -> None:
    make_repo(tmp_path)
    elsewhere = write_product(tmp_path, product(), tmp_path / "drafts" / "play_events.yaml")
    assert load_product(elsewhere).root == tmp_path.resolve()
    assert PLAY_EVENT["name"] == "PlayEvent"


def test_validity_and_dead_letter_guarantees_are_optional(tmp_path: Path) -> None:
    make_repo(tmp_path)
    guarantees = load_product(_descriptor(tmp_path)).product.guarantees
    assert guarantees is not None
    assert guarantees.validity is None
    assert guarantees.max_dead_letters is None


def test_validity_and_dead_letter_guarantees(tmp_path: Path) -> None:
    make_repo(tmp_path, product(guarantees__validity=0.99, guarantees__maxDeadLetters=3))
    guarantees = load_product(_descriptor(tmp_path)).product.guarantees
    assert guarantees is not None
    assert guarantees.validity == 0.99
    assert guarantees.max_dead_letters == 3
    assert guarantees.model_dump()["maxDeadLetters"] == 3


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("validity", 1.5, "guarantees.validity: Input should be less than or equal to 1"),
        ("maxDeadLetters", -1, "guarantees.maxDeadLetters: Input should be greater than or equal"),
        ("maxDeadLetters", 0.5, "guarantees.maxDeadLetters: Input should be a valid integer"),
    ],
)
def test_bad_validity_and_dead_letter_guarantees(
    tmp_path: Path, key: str, value: float, problem: str
) -> None:
    make_repo(tmp_path, product(**{f"guarantees__{key}": value}))
    path = _descriptor(tmp_path)
    error = _error(path)
    assert f":{line_of(path, f'{key}: {value}')}: {problem}" in str(error)
