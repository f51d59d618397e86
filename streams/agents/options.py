"""How a live worker batches: its options, in a module of their own so the CLI can show their
defaults without importing faust (about a second of start-up)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["LiveOptions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveOptions:
    """How a live worker batches and checks idle partitions.

    Attributes:
        batch_size: Most events per batch (one checkpoint per batch and task).
        batch_within_s: Longest wait for a batch to fill.
        idle_check_s: How often windows held open only by idle partitions are closed.
        data_dir: faust's data directory (default: a temporary one, removed at exit).
        lineage_every_s: How often an OpenLineage RUNNING event says the agent still runs.
    """

    batch_size: int = 5000
    batch_within_s: float = 1.0
    idle_check_s: float = 5.0
    data_dir: Path | None = None
    lineage_every_s: float = 60.0
