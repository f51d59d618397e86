"""What a live worker did between its start and its stop: logged and printed when it stops."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["WorkerSummary"]


@dataclass(frozen=True, slots=True)
class WorkerSummary:
    """What one live worker did, from its start to its stop.

    Attributes:
        pid: The worker's process id.
        events: Input events handled.
        updates: Window updates written to the product topic (each carries a whole window).
        late: Events too late for their window (sent to ``<input>.late``).
        dead_letters: Undecodable events (sent to ``<input>.dlq``).
        checkpoints: Checkpoints stored.
        elapsed_s: Seconds from start to stop.
        busy_s: Seconds spent handling batches (decoding, computing, emitting, checkpointing).
    """

    pid: int
    events: int = 0
    updates: int = 0
    late: int = 0
    dead_letters: int = 0
    checkpoints: int = 0
    elapsed_s: float = 0.0
    busy_s: float = 0.0

    def line(self) -> str:
        """One line for a log or a terminal."""
        return (
            f"{self.events} events, {self.updates} window updates emitted, {self.late} late, "
            f"{self.dead_letters} dead letters in {self.elapsed_s:.1f} s; "
            f"{self.checkpoints} checkpoints stored"
            + (
                f"; {self.busy_s / self.events * 1e6:.1f} µs per event in batches"
                if self.events and self.busy_s
                else ""
            )
        )

    @classmethod
    def total(cls, summaries: Sequence[WorkerSummary]) -> WorkerSummary:
        """The sum of several workers' (pid 0; elapsed: the longest)."""
        return cls(
            pid=0,
            events=sum(s.events for s in summaries),
            updates=sum(s.updates for s in summaries),
            late=sum(s.late for s in summaries),
            dead_letters=sum(s.dead_letters for s in summaries),
            checkpoints=sum(s.checkpoints for s in summaries),
            elapsed_s=max((s.elapsed_s for s in summaries), default=0.0),
            busy_s=sum(s.busy_s for s in summaries),
        )
