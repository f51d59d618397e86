"""The compiled quality rules against a naive reading of each rule."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from streams.catalog import QualityRule
from streams.guarantees.validity import compile_rules, shown

RULES: list[dict[str, Any]] = [
    {"rule": "unique", "field": "id"},
    {"rule": "not_null", "field": "track"},
    {"rule": "range", "field": "ms", "min": 0, "max": 1000},
    {"rule": "range", "field": "score", "max": 1.5},
    {"rule": "allowed_values", "field": "device", "values": ["IOS", "WEB", 3]},
    {"rule": "not_null", "field": "context.id"},
]
parse = TypeAdapter(list[QualityRule]).validate_python

LOADED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a busy CI box


def naive(value: dict[str, Any]) -> list[tuple[str, str, object]]:
    broken: list[tuple[str, str, object]] = []
    if value.get("track") is None:
        broken.append(("track", "not_null", None))
    ms = value.get("ms")
    if ms is not None and not (isinstance(ms, int | float) and 0 <= ms <= 1000):
        broken.append(("ms", "range", ms))
    score = value.get("score")
    if score is not None and not (isinstance(score, int | float) and score <= 1.5):
        broken.append(("score", "range", score))
    device = value.get("device")
    if device is not None and device not in ("IOS", "WEB", 3):
        broken.append(("device", "allowed_values", device))
    context = value.get("context")
    if not isinstance(context, dict) or context.get("id") is None:
        broken.append(("context.id", "not_null", None))
    return broken


anything = st.none() | st.integers(-5, 2000) | st.floats(allow_nan=True) | st.text(max_size=3)
values = st.fixed_dictionaries(
    {},
    optional={
        "id": anything,
        "track": anything,
        "ms": anything,
        "score": anything,
        "device": anything | st.sampled_from(["IOS", "WEB", "FAX"]),
        "context": st.none() | st.fixed_dictionaries({}, optional={"id": anything}) | anything,
    },
)


@LOADED
@given(values)
def test_a_value_breaks_exactly_the_rules_a_naive_reading_says(value: dict[str, Any]) -> None:
    check = compile_rules(parse(RULES))
    assert check is not None
    expected = naive(value)
    broken = check(value)
    assert (broken or []) == expected


def test_unique_is_no_per_event_rule_and_no_rules_need_no_check() -> None:
    assert compile_rules(parse(RULES[:1])) is None
    assert compile_rules(()) is None


def test_a_value_is_shown_in_at_most_80_characters() -> None:
    assert shown("x" * 500).startswith("'xxx")
    assert len(shown("x" * 500)) <= 80
    assert len(shown(list(range(1000)))) <= 80
    assert shown(42) == "42"
