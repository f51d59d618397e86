"""Reading the mesh for a snapshot: the signed catalog, observations, agent runs and grants.

Each source is read on its own; one that fails (the registry is restarting, a topic does not
exist yet) leaves its part empty and adds a problem shown on every page, rather than failing
the whole snapshot. Only the catalog is essential: when it cannot be read the previous snapshot
is kept (:class:`~streams.web._keeper.SnapshotKeeper`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from streams.access import AccessClient, AccessRecord
from streams.catalog import CatalogStore
from streams.catalog.agents import AgentRunRecord, AgentRunStore
from streams.catalog.runs import RunState, read_runs
from streams.config import Settings
from streams.errors import StreamsError
from streams.guarantees import Observation, observations
from streams.registry.control import ControlPlane
from streams.web._snapshot import Snapshot, ViewMemo, build_snapshot

__all__ = ["read_snapshot"]

logger = logging.getLogger(__name__)


def read_snapshot(
    settings: Settings, *, timeout_s: float = 10.0, memo: ViewMemo | None = None
) -> Snapshot:
    """A snapshot of the mesh as Kafka and the registry hold it now.

    ``memo`` keeps each entry's parsed view from one read to the next (see
    :func:`~streams.web._snapshot.build_snapshot`).

    Raises:
        StreamsError: The catalog could not be read (Kafka or the registry unreachable).
    """
    with CatalogStore(settings=settings, timeout_s=timeout_s) as store:
        entries = store.read()
        rejected = list(store.rejected)
    problems = [
        f"catalog record {r.key!r} ignored: {r.reason}" for r in rejected if r.key not in entries
    ]
    found: list[Observation] = _optional(
        "guarantees", lambda: observations(settings=settings, timeout_s=timeout_s), [], problems
    )
    runs: dict[str, AgentRunRecord] = _optional(
        "lineage of agents",
        lambda: AgentRunStore(settings=settings, timeout_s=timeout_s).read(),
        {},
        problems,
    )
    states: dict[str, RunState] = _optional(
        "status of agents",
        lambda: read_runs(settings, timeout_s=timeout_s),
        {},
        problems,
    )
    access: list[AccessRecord] | None = _optional(
        "consumers and grants", lambda: _grants(settings), None, problems
    )
    return build_snapshot(
        entries=entries,
        observations=found,
        runs=runs.values(),
        run_states=states,
        access=access,
        now_ms=int(time.time() * 1000),
        problems=problems,
        memo=memo,
    )


def _grants(settings: Settings) -> list[AccessRecord]:
    with ControlPlane(settings.registry) as control:
        return AccessClient(control).list()


def _optional(what: str, read: Any, default: Any, problems: list[str]) -> Any:
    try:
        return read()
    except StreamsError as exc:
        logger.warning("web catalog: %s not shown: %s", what, exc)
        problems.append(f"{what} not shown: {exc}")
        return default
