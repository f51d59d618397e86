"""The one value validator, on its own (the codec's use of it is in tests/serialization)."""

from __future__ import annotations

import datetime
import decimal
import json
from typing import Any

import pytest

from streams.avro import compile_validator, parse_schema
from streams.avro.validate import InvalidValueError


def _validator(kind: Any) -> Any:
    record = {"type": "record", "name": "R", "fields": [{"name": "f", "type": kind}]}
    return compile_validator(parse_schema(json.dumps(record)))


@pytest.mark.parametrize(
    ("kind", "value", "path", "hint"),
    [
        ({"type": "map", "values": "int"}, {1: 1}, "f[1]", ""),
        (
            {"type": "map", "values": {"type": "array", "items": "int"}},
            {"k": [1, "2"]},
            "f['k'][1]",
            "",
        ),
        (
            {"type": "long", "logicalType": "local-timestamp-millis"},
            datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
            "f",
            "naive",
        ),
        (
            {"type": "int", "logicalType": "date"},
            datetime.datetime(2026, 1, 1),
            "f",
            "datetime.date",
        ),
        (
            {"type": "int", "logicalType": "time-millis"},
            datetime.time(1, tzinfo=datetime.UTC),
            "f",
            "datetime.time",
        ),
        (
            {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2},
            decimal.Decimal("1.234"),
            "f",
            "after the point",
        ),
        (
            {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2},
            decimal.Decimal("123.4"),
            "f",
            "before the point",
        ),
        ({"type": "fixed", "name": "F", "size": 2}, b"abc", "f", "exactly 2 bytes"),
        (["null", "int"], ("string", "x"), "f", ""),
        (["null", "int"], (1, 2), "f", "(branch, value)"),
        ({"type": "enum", "name": "E", "symbols": ["A"]}, "B", "f", ""),
    ],
)
def test_explain_names_path_and_hint(kind: Any, value: Any, path: str, hint: str) -> None:
    problem = _validator(kind).explain({"f": value})
    assert problem is not None
    assert problem.path == path
    assert hint in problem.hint


def test_tuple_notation_selects_a_union_branch() -> None:
    validator = _validator(["null", "int", {"type": "record", "name": "S", "fields": []}])
    validator.check({"f": ("int", 5)})
    assert validator.explain({"f": ("int", 5)}) is None
    with pytest.raises(InvalidValueError):
        validator.check({"f": ("int", 5.5)})


@pytest.mark.parametrize(
    "union",
    [
        [{"type": "array", "items": "null"}, {"type": "fixed", "name": "Z", "size": 0}],
        [{"type": "array", "items": "int"}, "bytes"],
    ],
)
def test_bytes_an_earlier_array_branch_would_take(union: list[Any]) -> None:
    """fastavro writes the first branch it accepts, and bytes are a sequence of ints to it:
    they would be written as the array and read back as a list (found by hypothesis)."""
    validator = _validator(union)
    value = b"" if union[0]["items"] == "null" else b"\x01\x02"
    with pytest.raises(InvalidValueError) as refused:
        validator.check({"f": value})
    assert "array branch" in (refused.value.hint or ""), refused.value
    problem = validator.explain({"f": value})
    assert problem is not None
    assert "array branch" in problem.hint
    label = "Z" if union[1] != "bytes" else "bytes"
    validator.check({"f": (label, value)})  # the branch named: written as bytes
    assert _validator(list(reversed(union))).explain({"f": value}) is None  # bytes first: fine


def test_recursive_records_are_checked_at_depth() -> None:
    node = {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "n", "type": "int"},
            {"name": "kids", "type": {"type": "array", "items": "Node"}},
            {"name": "next", "type": ["null", "Node"], "default": None},
        ],
    }
    validator = compile_validator(parse_schema(json.dumps(node)))
    good = {"n": 1, "kids": [{"n": 2, "kids": []}]}
    validator.check(good)
    bad = {"n": 1, "kids": [{"n": 2, "kids": [{"n": 2.5, "kids": []}]}]}
    with pytest.raises(InvalidValueError) as caught:
        validator.check(bad)
    assert caught.value.where() == "kids[0].kids[0].n"
    # Inside a union fastavro validates strictly itself; the explanation still finds it.
    problem = validator.explain({"n": 1, "kids": [], "next": {"n": 2.5, "kids": []}})
    assert problem is not None
    assert problem.path == "next.n"


def test_missing_and_unknown_fields_are_explained() -> None:
    validator = _validator("string")
    missing = validator.explain({})
    assert missing is not None
    assert (missing.path, missing.missing) == ("f", True)
    assert missing.describe() == "missing required field 'f' (string, no default); add it"
    unknown = validator.explain({"f": "x", "g": 1})
    assert unknown is not None
    assert (unknown.path, unknown.expected.startswith("no such")) == ("g", True)


def test_a_missing_field_is_not_described_as_a_none_value() -> None:
    """The message said "got None (NoneType)" for a field the event did not have at all."""
    record = {
        "type": "record",
        "name": "R",
        "fields": [
            {
                "name": "inner",
                "type": {"type": "record", "name": "I", "fields": [{"name": "n", "type": "long"}]},
            },
        ],
    }
    validator = compile_validator(parse_schema(json.dumps(record)))
    missing = validator.explain({"inner": {}})
    assert missing is not None
    assert missing.describe() == "missing required field 'inner.n' (long, no default); add it"
    assert "NoneType" not in missing.describe()
    present = validator.explain({"inner": {"n": None}})  # there, but null: a wrong value
    assert present is not None
    assert not present.missing
    assert present.describe() == (
        "field 'inner.n' expects long, got None (NoneType); fix the value or the schema"
    )


def test_the_hot_path_skips_what_fastavro_refuses_itself() -> None:
    # A number for a string is refused by fastavro; the hot path does not pay to check it.
    validator = _validator("string")
    validator.check({"f": 5})
    assert validator.explain({"f": 5}) is not None


def test_numpy_like_integers_are_accepted() -> None:
    class Int64:
        def __index__(self) -> int:
            return 7

        def __int__(self) -> int:
            return 7

    import numbers

    numbers.Integral.register(Int64)
    _validator("long").check({"f": Int64()})


def test_a_time_without_a_zone_is_told_to_add_one() -> None:
    """`mesh produce` takes ISO 8601 times with a zone; one without said only "expects long"."""
    record = {
        "type": "record",
        "name": "R",
        "fields": [{"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}}],
    }
    validator = compile_validator(parse_schema(json.dumps(record)))
    problem = validator.explain({"at": "2026-12-01T06:00:00"})
    assert problem is not None
    assert "field 'at' expects long (timestamp-millis)" in problem.describe()
    assert "an ISO 8601 time with its zone, e.g. 2026-12-01T06:00:00Z" in problem.describe()
