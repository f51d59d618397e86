"""The in-memory snapshot every request renders from, refreshed in the background.

Reading the mesh takes Kafka round trips (tens of milliseconds to seconds); a request must not
wait for them. :class:`SnapshotKeeper` reads in a worker thread every ``every_s`` seconds and
swaps the new snapshot in with one assignment, so a request sees either the old or the new one,
never half of each. A failed read keeps the old snapshot and says so on the pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from streams.errors import StreamsError
from streams.web._snapshot import Snapshot

__all__ = ["SnapshotKeeper"]

logger = logging.getLogger(__name__)


class SnapshotKeeper:
    """Holds the current snapshot and refreshes it.

    Args:
        read: Reads a new snapshot (blocking; run in a worker thread).
        every_s: Seconds between the end of one read and the start of the next.
    """

    def __init__(self, read: Callable[[], Snapshot], *, every_s: float = 5.0) -> None:
        self._read = read
        self.every_s = every_s
        self.snapshot = Snapshot(problems=("the catalog is being read for the first time",))
        self.failure: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        """Read once now; keep the old snapshot (and note why) when the read fails."""
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        try:
            snapshot = await loop.run_in_executor(None, self._read)
        except StreamsError as exc:
            self.failure = f"the catalog could not be read ({exc}); showing the last one read"
            logger.warning("web catalog: %s", self.failure)
            return
        self.snapshot, self.failure = snapshot, None
        logger.debug(
            "snapshot of %d product(s) in %.0f ms",
            len(snapshot.products),
            (time.monotonic() - started) * 1000,
        )

    def start(self) -> None:
        """Refresh every ``every_s`` seconds in the running loop until :meth:`close`."""
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.refresh()
            except Exception:  # a bug in one refresh must not end the refreshing
                logger.exception("web catalog: refreshing the snapshot failed")

    async def close(self) -> None:
        """Stop refreshing."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
