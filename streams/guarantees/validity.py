"""The descriptor's quality rules compiled once into one fast check per event.

``not_null``, ``range`` and ``allowed_values`` become closures over a field getter; ``unique``
is not a per-event rule (it is the duplicates measure, :mod:`streams.guarantees.duplicates`).
A null value breaks only ``not_null``: ``range`` and ``allowed_values`` judge the values present,
so a nullable field is not counted twice. A field path may be dotted (``context.id``) to reach
into nested records.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from streams.catalog import AllowedValuesRule, NotNullRule, QualityRule, RangeRule

__all__ = ["Broken", "Check", "compile_rules", "shown"]

Broken = tuple[str, str, object]
"""One broken rule: ``(field, rule, value)``."""

Check = Callable[[Mapping[str, Any]], list[Broken] | None]
"""Returns the rules a value breaks, or None when it breaks none."""

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlevel = 6


def shown(value: object) -> str:
    """``repr(value)`` cut to 80 characters, as a :class:`~streams.guarantees.Failure` shows it."""
    text = _REPR.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _nested(value: Mapping[str, Any], parts: tuple[str, ...]) -> object:
    found: object = value
    for part in parts:
        if not isinstance(found, Mapping):
            return None
        found = found.get(part)
    return found


_NOT_NULL, _RANGE, _ALLOWED = 0, 1, 2


def compile_rules(rules: Sequence[QualityRule]) -> Check | None:
    """One check for all per-event rules of a descriptor, or None when it has none."""
    compiled: list[tuple[str, str, tuple[str, ...] | None, int, float, float, frozenset[Any]]] = []
    for rule in rules:
        parts = tuple(rule.field.split(".")) if "." in rule.field else None
        if isinstance(rule, NotNullRule):
            compiled.append((rule.field, rule.rule, parts, _NOT_NULL, 0, 0, frozenset()))
        elif isinstance(rule, RangeRule):
            low = float("-inf") if rule.min is None else rule.min
            high = float("inf") if rule.max is None else rule.max
            compiled.append((rule.field, rule.rule, parts, _RANGE, low, high, frozenset()))
        elif isinstance(rule, AllowedValuesRule):
            allowed = frozenset(rule.values)
            compiled.append((rule.field, rule.rule, parts, _ALLOWED, 0, 0, allowed))
        # unique: the duplicates measure
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
