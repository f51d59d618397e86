"""How the CLI draws observations: one table per product (``mesh guarantees``, ``mesh product
show``) and the last hours as sparklines (``mesh product show``).

The tables fit 80 columns (a pipe, or a small terminal): five short columns that never wrap
(guarantee, promised, observed, state, since) and the details, which wrap; the product and its
owner are the table's title rather than two more columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from streams.cli._sparkline import HOUR_MS, sparkline
from streams.guarantees import Observation, State, Unit
from streams.guarantees.view import Hour as _Hour
from streams.guarantees.view import duration_text as _duration
from streams.guarantees.view import hours_of as _hours
from streams.guarantees.view import humanise

__all__ = [
    "NO_OBSERVATIONS",
    "STATE_LABELS",
    "history_table",
    "humanise",
    "mesh_view",
    "product_table",
    "staleness",
]

NO_OBSERVATIONS = (
    "no observations yet: a product shows here once the monitor has measured it (shortly after "
    "`mesh product apply`); if none come, is it running? `mesh status` shows it, `mesh up` "
    "starts it"
)

STATE_LABELS: dict[State, str] = {"met": "met", "at_risk": "at risk", "breached": "breached"}
_STYLES: dict[State, str] = {"met": "green", "at_risk": "yellow", "breached": "bold red"}
# Completeness and validity promise at least a share; every other guarantee at most a value.
_AT_LEAST = {"completeness", "validity"}


def staleness(found: Sequence[Observation], *, now_ms: int, publish_every_s: float) -> str | None:
    """A warning when even the newest observation is older than three publications (at least
    a minute): the monitor stopped publishing, so these values are history, not now."""
    if not found:
        return None
    age_ms = now_ms - max(o.measured_at_ms for o in found)
    if age_ms <= max(3 * publish_every_s * 1000, 60_000):
        return None
    return (
        f"these observations are {_duration(age_ms)} old, and the monitor publishes every "
        f"{publish_every_s:g} s: is it running? `mesh status` shows it, `mesh up` starts it"
    )


def _promised(observation: Observation) -> str:
    if observation.promised is None:
        return "-"
    bound = ">=" if observation.guarantee in _AT_LEAST else "<="
    return f"{bound} {humanise(observation.promised, observation.unit)}"


def _note(observation: Observation) -> str:
    """A short explanation from the details."""
    details = observation.details
    reason = details.get("reason")
    if isinstance(reason, str):
        return reason
    match observation.guarantee:
        case "latency":
            return f"p50 {humanise(_number(details.get('p50_ms')), 'ms')}"
        case "completeness":
            return f"{_count(details.get('late'))} late of {_count(details.get('events'))}"
        case "duplicates":
            return f"by {details.get('field')}"
        case "validity":
            text = f"{_count(details.get('invalid'))} invalid of {_count(details.get('events'))}"
            failures = details.get("failures")
            if isinstance(failures, list) and failures and isinstance(failures[0], dict):
                first = failures[0]
                text += (
                    f"; first: {first.get('field')} {first.get('rule')} {first.get('value')} "
                    f"(partition {first.get('partition')} offset {first.get('offset')})"
                )
            return text
        case "dead_letters":
            return str(details.get("topic", ""))
        case "usage":
            groups = details.get("groups")
            return f"{len(groups)} group(s)" if isinstance(groups, list) else ""
        case "volume":
            ids = details.get("schema_ids")
            missing = details.get("not_measured")
            text = f"schema ids {', '.join(map(str, ids))}" if isinstance(ids, list) and ids else ""
            if isinstance(missing, dict) and missing:
                text += f"; not measured: {', '.join(missing)}"
            return text.removeprefix("; ")
    return ""


def _count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _state(state: State) -> Text:
    return Text(STATE_LABELS[state], style=_STYLES[state])


def _compact(title: Text | str | None = None) -> Table:
    # No vertical rules and no outer edge: five key columns and the details fit 80 columns.
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )


def product_table(
    found: Sequence[Observation], *, now_ms: int, owner: str | None = None, title: bool = True
) -> Table:
    """One product version's guarantees (``found`` all share one topic), in the order given.

    Args:
        found: The product's observations.
        now_ms: Now, for how long each guarantee has been in its state.
        owner: The owning team, shown in the title beside the topic.
        title: Whether to title the table with the topic and owner.
    """
    heading: Text | None = None
    if title and found:
        heading = Text(found[0].topic, style="bold")
        heading.append(f"  owner {owner or '-'}", style="")
        breached = sum(1 for o in found if o.state == "breached")
        if breached:
            heading.append(f"  {breached} breached", style=_STYLES["breached"])
    table = _compact(heading)
    for column in ("guarantee", "promised", "observed", "state", "since"):
        table.add_column(column, no_wrap=True)
    table.add_column("details", ratio=1, min_width=16, overflow="fold", style="dim")
    for observation in found:
        table.add_row(
            observation.guarantee,
            _promised(observation),
            humanise(observation.observed, observation.unit),
            _state(observation.state),
            humanise(max(0, now_ms - observation.since_ms), "ms") + " ago",
            _note(observation),
        )
    return table


def mesh_view(
    found: Sequence[Observation], owners: dict[str, str], *, now_ms: int
) -> RenderableType:
    """A table per product version, then a count line; or the no-observations line."""
    if not found:
        return Text(NO_OBSERVATIONS, style="yellow")
    parts: list[RenderableType] = [
        product_table(list(group), now_ms=now_ms, owner=owners.get(topic))
        for topic, group in groupby(found, key=lambda o: o.topic)
    ]
    breached = sum(1 for o in found if o.state == "breached")
    at_risk = sum(1 for o in found if o.state == "at_risk")
    summary = Text(f"{len(found)} observation(s): ")
    summary.append(f"{breached} breached", style=_STYLES["breached"] if breached else "")
    summary.append(f", {at_risk} at risk", style=_STYLES["at_risk"] if at_risk else "")
    return Group(*_spaced(parts), summary)


def _spaced(parts: list[RenderableType]) -> list[RenderableType]:
    spaced: list[RenderableType] = []
    for part in parts:
        spaced += [part, Text("")]
    return spaced


def history_table(found: Sequence[Observation], *, hours: int = 24) -> Table:
    """Per guarantee, a sparkline of the last ``hours`` closed hours (``details["hours"]``),
    oldest on the left, the range of values drawn, and how many hours were not met."""
    table = _compact()
    table.add_column("guarantee", no_wrap=True)
    table.add_column(f"last {hours} h, oldest first", no_wrap=True)
    table.add_column("range", no_wrap=True)
    table.add_column("hours not met", ratio=1, overflow="fold")
    for observation in found:
        entries = _hours(observation)
        # The rightmost hour is the last one closed when measured: hours the monitor missed
        # (it was down) show as gaps instead of shifting the line.
        newest = (observation.measured_at_ms // HOUR_MS - 1) * HOUR_MS
        newest = max([newest, *(start for start, _, _ in entries)])
        shown = [e for e in entries if e[0] > newest - hours * HOUR_MS]
        table.add_row(
            observation.guarantee,
            sparkline(entries, newest_ms=newest, width=hours),
            _range(shown, observation.unit),
            _not_met(shown),
        )
    return table


def _range(entries: list[_Hour], unit: Unit) -> str:
    values = [value for _, value, _ in entries if value is not None]
    if not values:
        return "-"
    low, high = humanise(min(values), unit), humanise(max(values), unit)
    return low if low == high else f"{low} to {high}"


def _not_met(entries: list[_Hour]) -> Text:
    if not entries:
        return Text("no closed hour yet", style="dim")
    breached = sum(1 for _, _, state in entries if state == "breached")
    at_risk = sum(1 for _, _, state in entries if state == "at_risk")
    if not breached and not at_risk:
        return Text("none", style=_STYLES["met"])
    text = Text()
    if breached:
        text.append(f"{breached} breached", style=_STYLES["breached"])
    if at_risk:
        text.append(", " if breached else "")
        text.append(f"{at_risk} at risk", style=_STYLES["at_risk"])
    return text
