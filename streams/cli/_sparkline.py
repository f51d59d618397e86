"""Sparklines: the last hours of one guarantee as one line of block characters, coloured by
state (what ``mesh product show`` draws from an observation's ``details["hours"]``)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

__all__ = ["HOUR_MS", "MISSING", "sparkline"]

HOUR_MS = 3_600_000
MISSING = "·"
"""An hour with no entry, or in which nothing was observed."""

_BLOCKS = "▁▂▃▄▅▆▇█"
_STYLES = {"met": "green", "at_risk": "yellow", "breached": "bold red"}


def sparkline(hours: Sequence[object], *, newest_ms: int | None = None, width: int = 24) -> Text:
    """One character per hour, oldest first, for the ``width`` hours up to ``newest_ms``.

    The bar's height is the observed value between the smallest and the largest shown (all
    bars are low when every value is the same), its colour the hour's state. An hour without
    an entry, or with nothing observed, is a dot, so a monitor that was down leaves a gap.

    Args:
        hours: ``[hour start ms, observed or None, state]`` entries (the monitor's
            ``details["hours"]``); entries of any other shape are ignored.
        newest_ms: The start of the rightmost hour (the last closed one when the observation
            was measured); default: the newest entry's.
        width: How many hours to draw.

    Returns:
        The line, or a dim "no closed hour yet" when there is no entry and no ``newest_ms``.
    """
    by_hour: dict[int, tuple[float | None, str]] = {}
    for entry in hours:
        if isinstance(entry, list | tuple) and len(entry) == 3 and isinstance(entry[0], int):
            value = entry[1]
            number = float(value) if _is_number(value) else None
            by_hour[entry[0]] = (number, str(entry[2]))
    if newest_ms is None:
        if not by_hour:
            return Text("no closed hour yet", style="dim")
        newest_ms = max(by_hour)
    starts = [newest_ms - (width - 1 - i) * HOUR_MS for i in range(width)]
    values = [v for start in starts if (v := by_hour.get(start, (None, ""))[0]) is not None]
    low, span = (min(values), max(values) - min(values)) if values else (0.0, 0.0)
    line = Text()
    for start in starts:
        value, state = by_hour.get(start, (None, ""))
        if value is None:
            line.append(MISSING, style="dim")
            continue
        level = 0 if span == 0 else round((value - low) / span * (len(_BLOCKS) - 1))
        line.append(_BLOCKS[level], style=_STYLES.get(state, ""))
    return line


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
