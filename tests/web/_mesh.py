"""A made-up mesh for the web catalog's tests and benchmark: products in several domains with
observations (and their last hours), agent runs and grants, as the sources would return them."""

from __future__ import annotations

import datetime
from typing import Any

from streams.access import AccessRecord
from streams.catalog import CatalogEntry
from streams.catalog.agents import AgentRunRecord
from streams.guarantees import Observation
from tests.catalog._entries import descriptor, entry

NOW_MS = 1_764_590_400_000  # 2025-12-01 12:00 UTC
HOUR_MS = 3_600_000
STARTED = datetime.datetime(2025, 12, 1, 11, 0, tzinfo=datetime.UTC)
STATES = ("met", "at_risk", "breached")


def observation(topic: str, guarantee: str, state: str, **extra: Any) -> Observation:
    """One observation of ``topic``'s ``guarantee`` measured at :data:`NOW_MS`."""
    product, _, version = topic.rpartition(".v")
    unit = {"completeness": "share", "validity": "share", "dead_letters": "count"}.get(
        guarantee, "ms"
    )
    return Observation.model_validate(
        {
            "product": product,
            "version": int(version),
            "topic": topic,
            "guarantee": guarantee,
            "state": state,
            "promised": 60_000.0 if unit == "ms" else 0.99 if unit == "share" else 0.0,
            "observed": 1_500.0 if unit == "ms" else 0.995 if unit == "share" else 3.0,
            "unit": unit,
            "since_ms": NOW_MS - HOUR_MS,
            "measured_at_ms": NOW_MS,
            "window_ms": 300_000,
            **extra,
        }
    )


def hours(count: int = 24) -> list[list[Any]]:
    """``details["hours"]``: the last ``count`` closed hours, one breached, one with no value."""
    newest = (NOW_MS // HOUR_MS - 1) * HOUR_MS
    found: list[list[Any]] = []
    for back in range(count):
        state = "breached" if back == 3 else "met"
        found.append([newest - back * HOUR_MS, None if back == 5 else 1000.0 + back * 10, state])
    return found


def mesh(products: int = 6, *, domains: int = 3) -> dict[str, Any]:
    """Inputs of :func:`streams.web.build_snapshot`: ``products`` source-aligned products over
    ``domains`` domains (every third breached on freshness, none observed for the last one),
    one aggregate per domain derived by an agent, a second version of the first product, and
    one grant."""
    entries: dict[str, CatalogEntry] = {}
    found: list[Observation] = []
    runs: list[AgentRunRecord] = []
    for i in range(products):
        dom = f"dom{i % domains}"
        lifecycle: dict[str, Any] = {}
        if i == 0:  # replaced by its v2 below
            note = {"note": "Adds bitrate.", "replacedBy": f"{dom}.events_0.v2"}
            lifecycle = {"status": "deprecated", "deprecation": note}
        product = descriptor(
            dom,
            name=f"events_{i}",
            tags=["playback", f"t{i % 2}"],
            classification="internal" if i % 2 else "confidential",
            **lifecycle,
        )
        item = entry(product)
        entries[item.key] = item
        if i < products - 1:
            fresh = observation(item.key, "freshness", STATES[i % 3], details={"hours": hours()})
            letters = observation(item.key, "dead_letters", "met")
            found += [fresh, letters]
    first = next(iter(entries.values())).product
    v2 = entry(descriptor(first.domain, name=first.name, version=2, tags=["playback", "v2"]))
    entries[v2.key] = v2
    for d in range(domains):
        dom = f"dom{d}"
        sources = [key for key, e in entries.items() if e.product.domain == dom]
        aggregate = descriptor(
            dom,
            name="hourly",
            kind="aggregate",
            inputPorts=[{"product": entries[sources[0]].product.id, "version": 1}],
        )
        item = entry(aggregate)
        entries[item.key] = item
        runs.append(
            AgentRunRecord(
                job=item.key,
                inputs=(sources[0],),
                outputs=(item.key,),
                agent_version="sha256:0123456789abcdef",
                processing="STREAMING",
                run_id=f"run-{d}",
                started_at=STARTED,
            )
        )
    access = [
        AccessRecord(
            product=first.id,
            consumer="dom1",
            state="granted",
            purpose="weekly charts",
            by="dom0",
            at="2025-12-01T10:00:00+00:00",
        )
    ]
    return {"entries": entries, "observations": found, "runs": runs, "access": access}
