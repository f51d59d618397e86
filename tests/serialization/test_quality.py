"""Quality rules: the CEL conditions registered for confluent's serializer decide exactly what
our one check decides, and the rules carry their spec back to ``emit``."""

from __future__ import annotations

from typing import Any

import celpy
import pytest
from confluent_kafka.schema_registry.rules.cel.cel_executor import msg_to_cel

from streams.serialization.quality import QualitySpec, compile_checks, rule_set_for, specs_from

SPECS = [
    QualitySpec("ms_played", "range", min=0, max=1000),
    QualitySpec("ratio", "range", min=0.5),
    QualitySpec("device", "allowed_values", values=("IOS", "WEB")),
    QualitySpec("context.playlist_id", "not_null"),
    QualitySpec("context.rank", "range", max=10),
    QualitySpec("level", "allowed_values", values=(1, 2, 3)),
    QualitySpec("mixed", "allowed_values", values=("a", 1)),
]

GOOD: dict[str, Any] = {
    "ms_played": 10,
    "ratio": 0.75,
    "device": "IOS",
    "context": {"playlist_id": "p", "rank": 3},
    "level": 2,
    "mixed": "a",
}
EVENTS = [
    GOOD,
    {**GOOD, "ms_played": -1},
    {**GOOD, "ms_played": 1001},
    {**GOOD, "ms_played": 1000},
    {**GOOD, "ratio": 0.25},
    {**GOOD, "ratio": None},
    {**GOOD, "device": "TV"},
    {**GOOD, "device": None},
    {**GOOD, "context": None},
    {**GOOD, "context": {"playlist_id": None, "rank": None}},
    {**GOOD, "context": {"playlist_id": "p", "rank": 11}},
    {**GOOD, "level": 4},
    {**GOOD, "mixed": 2},
    {**GOOD, "mixed": "b"},
]


def _cel(expr: str, event: dict[str, Any]) -> bool:
    env = celpy.Environment()
    program = env.program(env.compile(expr))
    return bool(program.evaluate({"message": msg_to_cel(event)}))


@pytest.mark.parametrize("event", EVENTS)
def test_cel_conditions_agree_with_our_check(event: dict[str, Any]) -> None:
    rule_set = rule_set_for(SPECS, dlq_topic="d.p.v1.dlq")
    assert rule_set is not None
    check = compile_checks(SPECS)
    assert check is not None
    broken = {(field, rule) for field, rule, _ in check(event) or ()}
    for spec, rule in zip(SPECS, rule_set["domainRules"], strict=True):
        passes = _cel(rule["expr"], event)
        assert passes == ((spec.field, spec.rule) not in broken), (rule["expr"], event)


def test_rules_are_confluent_conditions_that_carry_their_spec() -> None:
    rule_set = rule_set_for(SPECS, dlq_topic="d.p.v1.dlq")
    assert rule_set is not None
    for rule in rule_set["domainRules"]:
        assert rule["kind"] == "CONDITION"
        assert rule["type"] == "CEL"
        assert rule["mode"] == "WRITE"
        assert (rule["onSuccess"], rule["onFailure"]) == ("NONE", "DLQ")
        assert rule["params"]["dlq.topic"] == "d.p.v1.dlq"
    assert rule_set["domainRules"][3]["name"] == "quality-3-not_null-context_playlist_id"
    assert specs_from(rule_set) == SPECS
    assert rule_set_for([], dlq_topic="x") is None
