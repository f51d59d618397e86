"""Recursive schemas and deep values: an error, never a crash (each case runs in a subprocess,
so a segfault fails the test instead of killing pytest)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from streams.errors import DeserializationError, InvalidSchemaError, SerializationError
from streams.serialization import AvroDecoder, AvroEncoder, header

LINKED = {"type": "record", "name": "L", "fields": [{"name": "next", "type": ["null", "L"]}]}
TREE = {
    "type": "record",
    "name": "Node",
    "fields": [{"name": "children", "type": {"type": "array", "items": "Node"}}],
}


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _linked(depth: int) -> dict[str, object]:
    value: dict[str, object] = {"next": None}
    for _ in range(depth - 1):
        value = {"next": value}
    return value


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_deep_message_of_recursive_schema_is_dead_lettered_not_a_crash(depth: int) -> None:
    done = _run(
        f"""
        from streams.errors import DeserializationError
        from streams.serialization import AvroDecoder, header
        schema = {LINKED!r}
        framed = header(7) + b"\\x02" * {depth} + b"\\x00"
        try:
            AvroDecoder(schema, schema_id=7)(framed)
        except DeserializationError as exc:
            print("ERROR", exc.reason, exc)
        """
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ERROR too-deep"), done.stdout
    assert "schema id 7" in done.stdout


def test_deep_value_of_recursive_schema_is_refused_not_a_crash() -> None:
    done = _run(
        f"""
        import time
        from streams.errors import SerializationError
        from streams.serialization import AvroEncoder
        value = {{"next": None}}
        for _ in range(20_000):
            value = {{"next": value}}
        started = time.perf_counter()
        try:
            AvroEncoder({LINKED!r}, schema_id=7)(value)
        except SerializationError as exc:
            print("ERROR", exc)
        """
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ERROR"), done.stdout
    assert "nest" in done.stdout
    assert "next.next.next" in done.stdout


def test_values_at_the_depth_limit_round_trip() -> None:
    from streams.avro.validate import MAX_VALUE_DEPTH

    for schema, value in (
        (LINKED, _linked(MAX_VALUE_DEPTH)),
        (TREE, _tree(MAX_VALUE_DEPTH // 2)),
    ):
        data = AvroEncoder(schema, schema_id=3)(value)
        assert AvroDecoder(schema, schema_id=3)(data) == value


def test_one_level_over_the_limit_is_refused_with_the_path() -> None:
    from streams.avro.validate import MAX_VALUE_DEPTH

    with pytest.raises(SerializationError, match=r"next\.next") as caught:
        AvroEncoder(LINKED, schema_id=3)(_linked(MAX_VALUE_DEPTH + 1))
    assert str(MAX_VALUE_DEPTH) in str(caught.value)
    with pytest.raises(SerializationError, match=r"children\[0\]\.children"):
        AvroEncoder(TREE, schema_id=3)(_tree(MAX_VALUE_DEPTH))


def test_recursive_schema_decodes_with_a_reader_schema() -> None:
    data = AvroEncoder(LINKED, schema_id=3)(_linked(5))
    assert AvroDecoder(LINKED, schema_id=3, reader=LINKED)(data) == _linked(5)
    with pytest.raises(DeserializationError, match="trailing"):
        AvroDecoder(LINKED, schema_id=3)(data + b"\x00")
    assert data.startswith(header(3))


def _tree(depth: int) -> dict[str, object]:
    value: dict[str, object] = {"children": []}
    for _ in range(depth - 1):
        value = {"children": [value]}
    return value


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ({"type": "record", "name": "R", "fields": [{"name": "a", "type": "R"}]}, "'a'"),
        (  # mutual recursion: R needs a B, which needs an R
            {
                "type": "record",
                "name": "R",
                "fields": [
                    {"name": "n", "type": "int"},
                    {
                        "name": "b",
                        "type": {
                            "type": "record",
                            "name": "B",
                            "fields": [{"name": "r", "type": ["R"]}],
                        },
                    },
                ],
            },
            "'b'",
        ),
    ],
)
def test_an_encoder_for_a_record_no_finite_value_fits_is_refused(
    schema: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidSchemaError, match="can never hold a value") as caught:
        AvroEncoder(schema, schema_id=9, product="d.p")
    assert f"record 'R' can never hold a value: its field {field}" in str(caught.value)
    assert '["null", ...]' in str(caught.value)
    assert "Schema id 9 of d.p" in str(caught.value)


@pytest.mark.parametrize(
    "field_type",
    [
        ["null", "R"],
        ["R", "null"],
        {"type": "array", "items": "R"},
        {"type": "map", "values": "R"},
        ["null", {"type": "record", "name": "B", "fields": [{"name": "r", "type": "R"}]}],
    ],
)
def test_a_recursive_record_with_a_way_out_gets_an_encoder(field_type: object) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "a", "type": field_type}]}
    AvroEncoder(schema, schema_id=9)


def test_the_depth_limit_is_the_one_the_readme_promises() -> None:
    from streams.avro.validate import MAX_VALUE_DEPTH

    assert MAX_VALUE_DEPTH == 100
