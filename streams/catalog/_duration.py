"""Durations written as ``30s``, ``5m``, ``1h``, ``7d``, ``2w`` (and ``infinite`` for retention)."""

from __future__ import annotations

import re

__all__ = ["INFINITE", "format_duration", "parse_duration", "parse_retention"]

INFINITE = -1
"""Retention that never expires (Kafka's ``retention.ms=-1``)."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(?P<amount>\d+)\s*(?P<unit>[smhdw])\Z")
_EXAMPLE = "write a whole number and a unit s, m, h, d or w, e.g. '30s', '5m', '1h', '7d'"


def parse_duration(value: object) -> int:
    """Seconds of a duration such as ``5m``.

    Raises:
        ValueError: ``value`` is not such a duration (the message says how to write one).
    """
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration: {_EXAMPLE}")
    match = _DURATION.match(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a duration: {_EXAMPLE}")
    seconds = int(match["amount"]) * _UNITS[match["unit"]]
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be longer than zero, e.g. '30s'")
    return seconds


def parse_retention(value: object) -> int:
    """Seconds of a retention such as ``7d``, or :data:`INFINITE` for ``infinite``.

    Raises:
        ValueError: ``value`` is neither.
    """
    if isinstance(value, str) and value.strip() == "infinite":
        return INFINITE
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a retention: write 'infinite' or a duration, e.g. '7d' or '30d'"
        ) from None


def format_duration(seconds: int) -> str:
    """The shortest exact text of a duration (``300`` -> ``5m``); ``infinite`` for -1."""
    if seconds == INFINITE:
        return "infinite"
    # Days at most: "14d" reads better than "2w" in a retention.
    for unit in ("d", "h", "m"):
        size = _UNITS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
