"""The glue between a live worker's faust app and its batch processor: one batch at a time.

faust hands the agent batches of events on its event loop; :class:`Runtime` keeps the records of
the partitions this worker owns (:func:`raw_records`), hands them to the batch processor (in a
process of its own, :mod:`streams.agents.offload`) from a thread, so faust's loop keeps
heartbeating and fetching meanwhile, and follows the assignment signals. A
batch that fails stops the worker at once (``os._exit``), before faust can acknowledge it: see
:mod:`streams.agents.live` for why that keeps the output exact after a crash.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Collection, Sequence
from typing import Any, Protocol

from streams.agents.batches import Counters, RawRecord
from streams.naming import ProductRef

__all__ = ["Processor", "Runtime", "raw_records"]

logger = logging.getLogger(__name__)


def raw_records(events: Sequence[Any], owned: set[tuple[str, int]]) -> list[RawRecord]:
    """The records of ``events`` from the ``owned`` partitions (on faust's loop, per event:
    kept to one comprehension; headers are copied only when a record is dead-lettered)."""
    new = tuple.__new__
    return [
        new(
            RawRecord,
            (
                m.topic,
                m.partition,
                m.offset,
                round(m.timestamp * 1000),
                m.key,
                m.value,
                m.headers or (),
            ),
        )
        for m in [event.message for event in events]
        if (m.topic, m.partition) in owned
    ]


class Processor(Protocol):
    """What the runtime needs of a batch processor (:class:`~streams.agents.batches.
    BatchProcessor`, or :class:`~streams.agents.offload.RemoteProcessor` running one)."""

    ref: ProductRef
    topics: list[str]
    counters: Counters

    @property
    def tasks(self) -> list[int]: ...

    def handle(self, records: Sequence[RawRecord]) -> None: ...

    def flush_idle(self, owned: Collection[int] = ()) -> None: ...

    def drop(self, numbers: Collection[int]) -> None: ...

    def stop_waiting(self) -> None: ...


class Runtime:
    """The per-worker glue between faust and the batch processor (one batch at a time)."""

    def __init__(self, app: Any, processor: Processor) -> None:
        self.app = app
        self.processor = processor
        self.lock = asyncio.Lock()
        self._reported = time.monotonic()
        self._owned: set[int] = set()

    async def handle(self, events: Sequence[Any]) -> None:
        async with self.lock:
            owned = {(tp.topic, tp.partition) for tp in self.app.consumer.assignment()}
            records = raw_records(events, owned)
            if records:
                await self._run(self.processor.handle, records)
            self._report()

    async def flush_idle(self) -> None:
        async with self.lock:
            await self._run(self.processor.flush_idle, set(self._owned))

    async def assigned(self, partitions: Any) -> None:
        # The whole new assignment (faust rebalances eagerly: everything was revoked before).
        # Kept from the signals, not read from the consumer, which can still show the old
        # assignment mid-rebalance: an idle check must never open a task another worker owns.
        async with self.lock:
            topics = set(self.processor.topics)
            self._owned = {tp.partition for tp in partitions if tp.topic in topics}
            self.processor.drop(set(self.processor.tasks) - self._owned)
        logger.info(
            "%s: assigned partitions %s of %s",
            self.processor.ref.id,
            sorted(self._owned),
            ", ".join(self.processor.topics),
        )

    async def revoked(self, partitions: Any) -> None:
        async with self.lock:
            numbers = {tp.partition for tp in partitions}
            self._owned -= numbers
            self.processor.drop(numbers)

    async def _run(self, call: Any, *args: Any) -> None:
        # A thread keeps faust's loop (heartbeats, fetches) going while a batch is handled.
        done = asyncio.ensure_future(asyncio.to_thread(call, *args))
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            # The worker is stopping: faust acknowledges the batch as the agent unwinds, so
            # its checkpoint must be stored first. Let the thread finish it (unless it waits
            # for the registry: then it gives up, and the batch is not acknowledged).
            self.processor.stop_waiting()
            await self._finish(done)
            raise
        except BaseException:
            self._crash()

    async def _finish(self, done: asyncio.Future[None]) -> None:
        try:
            await done
        except BaseException:
            self._crash()

    def _crash(self) -> None:
        # Nothing of this batch may be acknowledged: faust would commit past the last
        # checkpoint. Exit now, as after kill -9; a restart resumes from the checkpoints.
        logger.critical("%s: a batch failed; stopping the worker", self.app.conf.id, exc_info=True)
        logging.shutdown()
        os._exit(70)

    def _report(self) -> None:
        now = time.monotonic()
        if now - self._reported < 10:
            return
        self._reported = now
        counters = self.processor.counters
        rate = counters.events / max(now - counters.started, 1e-9)
        logger.info(
            "%s: tasks %s, %d events (%.0f/s), %d updates, %d late, %d dead letters",
            self.processor.ref.id,
            self.processor.tasks,
            counters.events,
            rate,
            counters.updates,
            counters.late,
            counters.dead_letters,
        )
