"""Observations as people see them: values as text (``1m 30s``, ``99.9 %``, ``1,204``) and the
last hours of a guarantee; one home for the CLI's tables and the web catalog's pages."""

from __future__ import annotations

from streams.guarantees.records import Observation, Unit

__all__ = ["Hour", "duration_text", "hours_of", "humanise"]

Hour = tuple[int, float | None, str]
"""One closed hour of a guarantee: its start (epoch ms), the value observed (None: nothing),
its state."""


def humanise(value: float | None, unit: Unit) -> str:
    """``90000, "ms"`` -> ``1m 30s``; ``0.999, "share"`` -> ``99.9 %``; None -> ``-``."""
    if value is None:
        return "-"
    if unit == "share":
        return _percent(value)
    if unit == "count":
        return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"
    return duration_text(value)


def _percent(share: float) -> str:
    """Four significant digits (``88.24 %``), more where they would hide a miss (``99.9999 %``,
    never ``100 %`` for less than everything)."""
    text = f"{share * 100:.4g}"
    if share < 1 and float(text) >= 100:
        text = f"{share * 100:.7g}"
    return f"{text} %"


def duration_text(ms: float) -> str:
    """``90000`` -> ``1m 30s``: milliseconds as a person reads them (two largest units)."""
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 59_950:  # below, one decimal still reads as seconds
        return f"{ms / 1000:.1f}".removesuffix(".0") + "s"
    left = round(ms / 1000)
    parts: list[str] = []
    for name, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, left = divmod(left, size)
        if amount or parts:
            parts.append(f"{amount}{name}")
    # The two largest units are precise enough to read ("2d 3h", not "2d 3h 4m 5s").
    return " ".join(part for part in parts[:2] if not part.startswith("0"))


def hours_of(observation: Observation) -> list[Hour]:
    """``details["hours"]`` (the monitor's last closed hours) as typed entries; entries of
    another shape are left out."""
    found: list[Hour] = []
    entries = observation.details.get("hours")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, list) and len(entry) == 3:
            start, value, state = entry
            if isinstance(start, int) and not isinstance(start, bool):
                found.append((start, _number(value), state if isinstance(state, str) else ""))
    return found


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
