"""The 35 REST scenarios of ``vectors/rest_cases.json`` (Confluent semantics), step by step.

Conventions are in ``vectors/README.md``. They run against a registry backed by Kafka on the
embedded broker, so every write goes through the real log.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.registry.conftest import ThreadedRegistry

CASES = json.loads((Path(__file__).parent / "vectors" / "rest_cases.json").read_text())
_VAR = re.compile(r"\$\{(\w+)\}")


def substitute(value: Any, captured: dict[str, Any]) -> Any:
    """Replace ${var} in strings (keeping the captured type when the whole string is one)."""
    if isinstance(value, str):
        whole = _VAR.fullmatch(value)
        if whole:
            return captured[whole.group(1)]
        return _VAR.sub(lambda m: str(captured[m.group(1)]), value)
    if isinstance(value, list):
        return [substitute(v, captured) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, captured) for k, v in value.items()}
    return value


def is_subset(expected: Any, actual: Any) -> bool:
    """Every key/value of expected is in actual, recursively."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and is_subset(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(is_subset(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


def _canon(items: list[Any]) -> list[str]:
    return sorted(json.dumps(i, sort_keys=True) for i in items)


def check_step(step: dict[str, Any], response: httpx.Response, captured: dict[str, Any]) -> None:
    where = f"{step['method']} {step['path']} -> {response.status_code} {response.text[:400]}"
    statuses = step["expect_status"]
    statuses = statuses if isinstance(statuses, list) else [statuses]
    assert response.status_code in statuses, where
    body = response.json() if response.content else None
    expect = substitute({k: v for k, v in step.items() if k.startswith("expect_")}, captured)
    if expect.get("expect_json_subset") is not None:
        assert is_subset(expect["expect_json_subset"], body), where
    if "expect_json" in expect:
        assert body == expect["expect_json"], where
    if "expect_json_if_200" in expect and response.status_code == 200:
        assert body == expect["expect_json_if_200"], where
    if "expect_json_unordered" in expect:
        assert _canon(body) == _canon(expect["expect_json_unordered"]), where
    for item in expect.get("expect_contains", []):
        assert item in body, where
    for item in expect.get("expect_not_contains", []):
        assert item not in body, where
    if "expect_json_len" in expect:
        assert len(body) == expect["expect_json_len"], where
    if "expect_first_subset" in expect:
        assert body, where
        assert is_subset(expect["expect_first_subset"], body[0]), where
    for key in expect.get("expect_nonempty", []):
        assert body.get(key), where
    if "expect_schema_json" in expect:
        assert json.loads(body["schema"]) == expect["expect_schema_json"], where
    if "expect_error_code_any" in expect:
        assert body["error_code"] in expect["expect_error_code_any"], where
    if "expect_message_contains" in expect:
        assert expect["expect_message_contains"] in body["message"], where
    for var, key in (step.get("capture") or {}).items():
        captured[var] = body[key]


@pytest.fixture(scope="module")
def rest_registry(platform: Any) -> Any:
    from streams.registry import KafkaStorage

    storage = KafkaStorage(
        bootstrap_servers=platform.bootstrap_servers, topic="_schemas_rest_cases"
    )
    registry = ThreadedRegistry(storage).start()
    yield registry
    registry.stop()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_rest_case(rest_registry: ThreadedRegistry, case: dict[str, Any]) -> None:
    captured: dict[str, Any] = {}
    with httpx.Client(base_url=rest_registry.url, timeout=30) as client:
        for step in case["steps"]:
            path = substitute(step["path"], captured)
            headers = step.get("headers") or {
                "Content-Type": "application/vnd.schemaregistry.v1+json"
            }
            content = json.dumps(step["body"]) if step["body"] is not None else None
            response = client.request(step["method"], path, content=content, headers=headers)
            check_step(step, response, captured)


def test_rest_cases_are_all_here() -> None:
    assert len(CASES) == 35
