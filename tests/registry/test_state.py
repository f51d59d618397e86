"""RegistryState.apply: every record any client can write is applied or skipped with a reason."""

from __future__ import annotations

import orjson
import pytest

from streams.registry.state import RegistryState, SchemaRecord, config_key, mode_key, schema_key


def _version(subject: str, version: int, schema_id: int, schema: str) -> tuple[bytes, bytes]:
    record = SchemaRecord(subject=subject, version=version, id=schema_id, schema=schema)
    return schema_key(subject, version), record.to_value()


GOOD = _version("a-value", 1, 1, '"string"')


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (b"not json", b"{}", "the key is not JSON"),
        (b"[1, 2]", b"{}", "the key is not a JSON object"),
        (schema_key("a-value", 2), b"\xff garbage", "is not JSON"),
        (schema_key("a-value", 2), b"[]", "is not a JSON object"),
        (schema_key("a-value", 2), b'{"subject": "a-value", "version": 2}', "'schema'"),
        (
            schema_key("a-value", 2),
            b'{"subject": "a-value", "version": 2, "id": "7", "schema": "\\"int\\""}',
            "'id'",
        ),
        (
            schema_key("a-value", 2),
            b'{"subject": "a-value", "version": 2, "id": 18446744073709551615, "schema": "1"}',
            "'id' in 0..2147483647",
        ),
        (
            schema_key("a-value", 2),
            orjson.dumps({"subject": "b-value", "version": 2, "id": 3, "schema": '"int"'}),
            "another subject",
        ),
        (b'{"keytype": "SCHEMA", "subject": 5, "version": 1}', b"{}", "a SCHEMA key needs"),
        (mode_key(None), b'{"mode": 3}', "a MODE value needs a string 'mode'"),
        (config_key(None), b"7", "not a JSON object"),
    ],
)
def test_garbage_records_are_skipped_with_a_reason(key: bytes, value: bytes, reason: str) -> None:
    state = RegistryState()
    state.apply(*GOOD)
    problem = state.apply(key, value)
    assert problem is not None
    assert reason in problem
    # Nothing changed: the good record is still all there is.
    assert list(state.schemas) == [1]
    assert [r.version for r in state.versions("a-value")] == [1]
    assert state.modes == {}
    assert state.configs == {}


def test_unknown_key_types_are_ignored_quietly() -> None:
    state = RegistryState()
    assert state.apply(b'{"keytype": "NOOP", "magic": 0}', b"whatever") is None
    assert state.schemas == {}


def test_the_first_schema_to_take_an_id_keeps_it() -> None:
    state = RegistryState()
    assert state.apply(*_version("a-value", 1, 1, '"string"')) is None
    problem = state.apply(*_version("b-value", 1, 1, '"int"'))
    assert problem == "schema id 1 already belongs to another schema"
    entry = state.entry(1)
    assert entry is not None
    assert entry.schema == '"string"'
    assert state.versions("b-value") == []
    # The same schema under the same id in another subject is fine.
    assert state.apply(*_version("c-value", 1, 1, '"string"')) is None
    assert entry.holders == {("a-value", 1), ("c-value", 1)}


def test_a_version_rewritten_with_its_own_id_takes_the_new_schema() -> None:
    state = RegistryState()
    state.apply(*_version("a-value", 1, 5, '"string"'))
    assert state.apply(*_version("a-value", 1, 5, '"int"')) is None
    entry = state.entry(5)
    assert entry is not None
    assert entry.schema == '"int"'
