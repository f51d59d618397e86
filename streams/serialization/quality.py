"""Per-event quality rules (not-null, ranges, allowed values): one evaluation, and their form as
Confluent data-contract rules (pure, no I/O).

A product descriptor's rules become :class:`QualitySpec` values (in the catalog). From them:

- :func:`compile_checks` gives the one fast check per event that ``emit`` enforces and the
  validity measure counts;
- :func:`rule_set_for` gives the ``ruleSet.domainRules`` registered with the product's schema:
  one CEL ``CONDITION`` rule per spec (mode WRITE, ``onFailure: DLQ`` to the product's
  dead-letter topic, ``onSuccess: NONE``), so a producer using confluent-kafka's own serializer
  is held to the same rules. Each rule carries its spec in the ``streams.quality`` parameter,
  which :func:`specs_from` reads back: ``emit`` enforces the registered contract without
  evaluating CEL.

A null value breaks only ``not_null``: ``range`` and ``allowed_values`` judge the values present,
so a nullable field is not counted twice. A field path may be dotted (``context.id``) to reach
into nested records.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

__all__ = [
    "PARAM",
    "Broken",
    "Check",
    "QualitySpec",
    "compile_checks",
    "rule_set_for",
    "specs_from",
]

PARAM = "streams.quality"
"""The rule parameter that carries a rule's spec (JSON)."""

Broken = tuple[str, str, object]
"""One broken rule: ``(field, rule, value)``."""

Check = Callable[[Mapping[str, Any]], list[Broken] | None]
"""Returns the rules a value breaks, or None when it breaks none."""

Value = str | int | float | bool


@dataclass(frozen=True, slots=True)
class QualitySpec:
    """One per-event rule: ``not_null``, ``range`` (``min``/``max`` inclusive) or
    ``allowed_values``."""

    field: str
    rule: Literal["not_null", "range", "allowed_values"]
    min: float | None = None
    max: float | None = None
    values: tuple[Value, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The spec as the ``streams.quality`` parameter holds it."""
        out: dict[str, Any] = {"field": self.field, "rule": self.rule}
        if self.rule == "range":
            out.update(min=self.min, max=self.max)
        if self.rule == "allowed_values":
            out["values"] = list(self.values)
        return out

    def describe(self) -> str:
        """The rule in words, for error messages."""
        if self.rule == "not_null":
            return "not_null (must have a value)"
        if self.rule == "range":
            low = "-inf" if self.min is None else f"{self.min:g}"
            high = "inf" if self.max is None else f"{self.max:g}"
            return f"range [{low}, {high}]"
        return f"allowed_values {list(self.values)}"


def _nested(value: Mapping[str, Any], parts: tuple[str, ...]) -> object:
    found: object = value
    for part in parts:
        if not isinstance(found, Mapping):
            return None
        found = found.get(part)
    return found


_NOT_NULL, _RANGE, _ALLOWED = 0, 1, 2


def compile_checks(specs: Sequence[QualitySpec]) -> Check | None:
    """One check for all rules, or None when there are none."""
    compiled: list[tuple[str, str, tuple[str, ...] | None, int, float, float, frozenset[Any]]] = []
    for spec in specs:
        parts = tuple(spec.field.split(".")) if "." in spec.field else None
        if spec.rule == "not_null":
            compiled.append((spec.field, spec.rule, parts, _NOT_NULL, 0, 0, frozenset()))
        elif spec.rule == "range":
            low = -math.inf if spec.min is None else spec.min
            high = math.inf if spec.max is None else spec.max
            compiled.append((spec.field, spec.rule, parts, _RANGE, low, high, frozenset()))
        else:
            allowed = frozenset(spec.values)
            compiled.append((spec.field, spec.rule, parts, _ALLOWED, 0, 0, allowed))
    if not compiled:
        return None
    plan = tuple(compiled)

    def check(value: Mapping[str, Any]) -> list[Broken] | None:
        # One loop with the rules' kinds inline, not a closure per rule: the validity share is
        # measured for every record (scripts/bench_measures.py: about half the closures' cost).
        broken: list[Broken] | None = None
        for field, name, parts, kind, low, high, allowed in plan:
            found = value.get(field) if parts is None else _nested(value, parts)
            if kind == _NOT_NULL:
                if found is not None:
                    continue
            elif found is None:
                continue  # null only breaks not_null
            elif kind == _RANGE:
                try:
                    if low <= found <= high:  # type: ignore[operator]
                        continue
                except TypeError:  # not a number: outside any numeric range
                    pass
            else:
                try:
                    if found in allowed:
                        continue
                except TypeError:  # unhashable: not one of the listed values
                    pass
            if broken is None:
                broken = []
            broken.append((field, name, found))
        return broken

    return check


# --- Confluent rules ----------------------------------------------------------------------------


def _literal(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "0.0"
    if isinstance(value, int):
        return str(value)
    return orjson.dumps(value).decode()  # a JSON string is a CEL string literal


def _double(value: float) -> str:
    return repr(float(value))


def _cel_type(value: Value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return "double" if isinstance(value, float) else "string"


def _membership(target: str, values: Sequence[Value]) -> str:
    # CEL has no cross-type equality: a list of one type is tested at once, mixed lists per type.
    groups: dict[str, list[str]] = {}
    for value in values:
        groups.setdefault(_cel_type(value), []).append(_literal(value))
    if len(groups) == 1:
        return f"{target} in [{', '.join(next(iter(groups.values())))}]"
    return " || ".join(
        f"(type({target}) == {kind} && {target} in [{', '.join(items)}])"
        for kind, items in groups.items()
    )


def _expression(spec: QualitySpec) -> str:
    # Nulls are tested through type(): cel-python has no `!= null` overload for other values.
    parts = spec.field.split(".")
    paths = ["message." + ".".join(parts[: n + 1]) for n in range(len(parts))]
    target = paths[-1]
    if spec.rule == "not_null":
        return " && ".join(f"type({path}) != null_type" for path in paths)
    if spec.rule == "range":
        bounds = []
        if spec.min is not None:
            bounds.append(f"double({target}) >= {_double(spec.min)}")
        if spec.max is not None:
            bounds.append(f"double({target}) <= {_double(spec.max)}")
        test = " && ".join(bounds)
    else:
        test = _membership(target, spec.values)
    # Null (or a null parent) passes: only not_null judges absence.
    return " || ".join([*(f"type({path}) == null_type" for path in paths), f"({test})"])


def _name(index: int, spec: QualitySpec) -> str:
    field = re.sub(r"[^A-Za-z0-9_]", "_", spec.field)
    return f"quality-{index}-{spec.rule}-{field}"[:64]


def rule_set_for(specs: Sequence[QualitySpec], *, dlq_topic: str) -> dict[str, Any] | None:
    """Confluent ``ruleSet`` JSON with one CEL condition per spec, or None without specs."""
    rules = [
        {
            "name": _name(index, spec),
            "doc": f"{spec.field}: {spec.describe()} (from the product descriptor)",
            "kind": "CONDITION",
            "mode": "WRITE",
            "type": "CEL",
            "expr": _expression(spec),
            "params": {PARAM: orjson.dumps(spec.to_json()).decode(), "dlq.topic": dlq_topic},
            "onSuccess": "NONE",
            "onFailure": "DLQ",
            "disabled": False,
        }
        for index, spec in enumerate(specs)
    ]
    return {"domainRules": rules} if rules else None


def specs_from(rule_set: Mapping[str, Any] | None) -> list[QualitySpec]:
    """The specs the rules made by :func:`rule_set_for` carry (other rules are left alone)."""
    specs = []
    for rule in (rule_set or {}).get("domainRules") or ():
        params = rule.get("params") or {}
        if PARAM not in params or rule.get("disabled"):
            continue
        raw = orjson.loads(params[PARAM])
        specs.append(
            QualitySpec(
                field=raw["field"],
                rule=raw["rule"],
                min=raw.get("min"),
                max=raw.get("max"),
                values=tuple(raw.get("values") or ()),
            )
        )
    return specs
