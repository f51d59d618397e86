"""What a policy finds: a :class:`Violation`, data rather than an exception."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Severity", "Violation"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule, where it is, and how to fix it.

    Attributes:
        rule_id: Stable id, e.g. ``GOV006-pii``; safe to grep for and to document.
        severity: ``error`` fails ``mesh product lint``; ``warning`` is reported only.
        path: The file, if any; :func:`~streams.governance.lint` shows it relative to the
            working directory inside the repository, else relative to the repository root.
        line: 1-based line in ``path``, if known.
        message: What is wrong, naming the value.
        hint: How to fix it.
    """

    rule_id: str
    severity: Severity
    path: str | None
    line: int | None
    message: str
    hint: str

    @property
    def location(self) -> str:
        """``path:line``, ``path`` or ``-``."""
        if self.path is None:
            return "-"
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def to_dict(self) -> dict[str, str | int | None]:
        """A JSON-ready dict (``mesh product lint --output json``)."""
        return {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "path": self.path,
            "line": self.line,
            "message": self.message,
            "hint": self.hint,
        }
