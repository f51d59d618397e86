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
_MISSING = object()


def shown(value: object) -> str:
    """``repr(value)`` cut to 80 characters, as a :class:`~streams.guarantees.Failure` shows it."""
    text = _REPR.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _getter(path: str) -> Callable[[Mapping[str, Any]], object]:
    if "." not in path:
        return lambda value: value.get(path)
    parts = path.split(".")

    def get(value: Mapping[str, Any]) -> object:
        found: object = value
        for part in parts:
            if not isinstance(found, Mapping):
                return None
            found = found.get(part)
        return found

    return get


def _rule(rule: QualityRule) -> Callable[[Mapping[str, Any]], object] | None:
    """A function returning the offending value when ``value`` breaks ``rule``, else _MISSING."""
    get = _getter(rule.field)
    if isinstance(rule, NotNullRule):
        return lambda value: _MISSING if get(value) is not None else None
    if isinstance(rule, RangeRule):
        low = float("-inf") if rule.min is None else rule.min
        high = float("inf") if rule.max is None else rule.max

        def out_of_range(value: Mapping[str, Any]) -> object:
            found = get(value)
            if found is None:
                return _MISSING
            try:
                inside = low <= found <= high  # type: ignore[operator]
            except TypeError:  # not a number: outside any numeric range
                return found
            return _MISSING if inside else found

        return out_of_range
    if isinstance(rule, AllowedValuesRule):
        allowed = frozenset(rule.values)

        def not_allowed(value: Mapping[str, Any]) -> object:
            found = get(value)
            try:
                ok = found is None or found in allowed
            except TypeError:  # unhashable: not one of the listed values
                ok = False
            return _MISSING if ok else found

        return not_allowed
    return None  # unique: the duplicates measure


def compile_rules(rules: Sequence[QualityRule]) -> Check | None:
    """One check for all per-event rules of a descriptor, or None when it has none."""
    compiled = [
        (rule.field, rule.rule, offends) for rule in rules if (offends := _rule(rule)) is not None
    ]
    if not compiled:
        return None

    def check(value: Mapping[str, Any]) -> list[Broken] | None:
        broken: list[Broken] | None = None
        for field, name, breaks in compiled:
            found = breaks(value)
            if found is not _MISSING:
                if broken is None:
                    broken = []
                broken.append((field, name, found))
        return broken

    return check
