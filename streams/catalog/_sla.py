"""The product's guarantees and retention as ODCS ``slaProperties``, both ways.

Export writes ``freshness``, ``latency`` and ``retention`` as amounts with a unit on the
event-time element, ``availability``, ``completeness``, ``duplicates`` and ``validity`` as
percentages, ``deadLetters`` as records per monitoring window. Import reads the same, and the
units the standard's examples use (``d``, ``y``, ``hours``, ...). One module, so the two cannot
drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.catalog._duration import INFINITE
from streams.catalog._model import Product

__all__ = ["percent", "read_duration", "read_guarantees", "sla_properties"]

_SECONDS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "week", "weeks"), 7 * 86400),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), 365 * 86400),
}
_SHARES = {
    "availability": "availability",
    "completeness": "completeness",
    "duplicates": "maxDuplicateShare",
    "validity": "validity",
}


def percent(share: float) -> float:
    """A share (0.999) as the percentage the documents carry (99.9), without float noise."""
    return round(share * 100, 10)


def sla_properties(product: Product, record_name: str) -> list[dict[str, Any]]:
    """The guarantees and the retention as ODCS ``slaProperties``, on the event-time element."""
    port = product.output_port
    element = f"{record_name}.{port.event_time}"
    sla: list[dict[str, Any]] = []
    guarantees = product.guarantees
    if guarantees is not None:
        sla += [
            {"property": "freshness", **_amount(guarantees.freshness), "element": element},
            {"property": "latency", **_amount(guarantees.latency), "element": element},
            {"property": "availability", "value": percent(guarantees.availability), "unit": "%"},
            {
                "property": "completeness",
                "value": percent(guarantees.completeness),
                "unit": "%",
                "description": "At least this share of the events produced upstream is published.",
            },
            {
                "property": "duplicates",
                "value": percent(guarantees.max_duplicate_share),
                "unit": "%",
                "description": "At most this share of published events are duplicates (same id).",
            },
        ]
        validity = product.promised_validity
        if validity is not None:
            sla.append(
                {
                    "property": "validity",
                    "value": percent(validity),
                    "unit": "%",
                    "description": "At least this share of events passes the quality rules.",
                }
            )
        sla.append(
            {
                "property": "deadLetters",
                "value": product.promised_dead_letters,
                "unit": "records",
                "description": (
                    "At most this many records per monitoring window (5 min by default) go to "
                    f"the dead-letter topic {product.ref.dlq}."
                ),
            }
        )
    if port.retention == INFINITE:
        sla.append({"property": "retention", "value": "infinite", "element": element})
    elif port.retention is not None:
        sla.append({"property": "retention", **_amount(port.retention), "element": element})
    return sla


def _amount(seconds: int) -> dict[str, Any]:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds % size == 0:
            return {"value": seconds // size, "unit": unit}
    return {"value": seconds, "unit": "seconds"}


def read_duration(item: Mapping[str, Any], notes: list[str]) -> str | None:
    """An SLA amount as a descriptor duration (``7d``), or None with a note."""
    value, unit = item.get("value"), str(item.get("unit") or "").strip().lower()
    if isinstance(value, str) and not unit:
        return value.strip()
    size = _SECONDS.get(unit)
    if isinstance(value, bool) or not isinstance(value, int | float) or size is None:
        notes.append(f"slaProperties {item.get('property')}: {value!r} {unit!r} is not a duration")
        return None
    seconds = round(value * size)
    for suffix, length in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % length == 0:
            return f"{seconds // length}{suffix}"
    return f"{seconds}s"


def read_guarantees(
    contract: Mapping[str, Any], descriptor: dict[str, Any], notes: list[str]
) -> None:
    """``guarantees`` from the contract's ``slaProperties``, into ``descriptor``."""
    found: dict[str, Any] = {}
    for index, item in enumerate(contract.get("slaProperties") or []):
        prop, value = item.get("property"), item.get("value")
        if prop in ("freshness", "latency"):
            found[prop] = read_duration(item, notes)
        elif prop in _SHARES and isinstance(value, int | float) and not isinstance(value, bool):
            percent = str(item.get("unit", "")).strip().lower() in ("%", "percent")
            found[_SHARES[prop]] = round(value / 100, 12) if percent or value > 1 else value
        elif prop == "deadLetters" and isinstance(value, int):
            found["maxDeadLetters"] = value
        elif prop != "retention":
            notes.append(f"slaProperties[{index}]: {prop!r} has no counterpart; left out")
    found = {key: value for key, value in found.items() if value is not None}
    rules = descriptor.get("quality", [])
    # What the monitor assumes anyway is left unwritten, so a round trip gives the same file.
    if found.get("validity") == 1.0 and any(rule["rule"] != "unique" for rule in rules):
        del found["validity"]
    if found.get("maxDeadLetters") == 0:
        del found["maxDeadLetters"]
    if found:
        descriptor["guarantees"] = found
