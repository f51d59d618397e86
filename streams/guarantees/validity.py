"""The descriptor's quality rules compiled once into one fast check per event.

``not_null``, ``range`` and ``allowed_values`` are evaluated by
:func:`streams.serialization.quality.compile_checks`, the same check ``emit`` enforces; ``unique``
is not a per-event rule (it is the duplicates measure, :mod:`streams.guarantees.duplicates`).
"""

from __future__ import annotations

import reprlib
from collections.abc import Sequence

from streams.catalog import QualityRule, quality_specs
from streams.serialization.quality import Broken, Check, compile_checks

__all__ = ["Broken", "Check", "compile_rules", "shown"]

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlevel = 6


def shown(value: object) -> str:
    """``repr(value)`` cut to 80 characters, as a :class:`~streams.guarantees.Failure` shows it."""
    text = _REPR.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def compile_rules(rules: Sequence[QualityRule]) -> Check | None:
    """One check for all per-event rules of a descriptor, or None when it has none."""
    return compile_checks(quality_specs(rules))
