"""Send records only after the registry stored the data keys they use, publishing keys in
batches.

A record encrypted under a key nobody can find is lost data, so the key must be on
``_mesh.keys`` before the record is on its topic. The producer's new keys are collected into a
batch; a batch is handed to a background thread when it is a few milliseconds old (or large),
which publishes it in ONE request to the registry (which wraps the keys with its KEK and writes
one ``_mesh.keys`` record per product). Records wait in order, without blocking ``emit``: a
record using a key of an unacknowledged batch, and every record after it (the producer's order
is kept), is queued and sent by ``poll()``/``flush()`` once its batch is acknowledged. Records
whose key was acknowledged earlier go straight through.

One request and one record per batch instead of per key is what makes a new data subject per
event affordable (scripts/bench events, ListenerRegistered).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from streams.errors import DeliveryError, StreamsError
from streams.pii import DataKey

__all__ = ["BatchKeyGate"]

logger = logging.getLogger(__name__)

Publish = Callable[[list[DataKey]], None]


class BatchKeyGate:
    """Publishes new data keys in batches and holds back the records that use them.

    Args:
        publish: Stores one batch of keys (``KeyClient.publish``); called on a worker thread.
        interval_s: How old the open batch may get before it is sent.
        max_keys: Send the open batch at this many keys.
    """

    def __init__(
        self, publish: Publish, *, interval_s: float = 0.005, max_keys: int = 20_000
    ) -> None:
        self._publish = publish
        self._interval = interval_s
        self._max = max_keys
        self._open: list[DataKey] = []
        self._opened = 0.0
        self._serial = 1  # the open batch's serial
        self._batch_of: dict[str, int] = {}  # key id -> serial, until acknowledged
        self._acked = 0  # every batch up to this serial is stored (written by the worker)
        self._released = 0  # the _acked the last _release saw
        self._failed: dict[int, tuple[int, str]] = {}  # last serial -> (first serial, why)
        self._raised: set[int] = set()
        self._waiting: deque[tuple[int, Callable[..., object], tuple[Any, ...]]] = deque()
        self._queue: queue.Queue[tuple[int, list[DataKey]] | None] = queue.Queue()
        self._worker: threading.Thread | None = None

    @property
    def waiting(self) -> int:
        """How many records wait for their key batch."""
        return len(self._waiting)

    def send(
        self, key: DataKey | None, new: bool, produce: Callable[..., object], *args: Any
    ) -> None:
        """Call ``produce(*args)`` once ``key`` is stored (at once when nothing waits).

        Raises:
            DeliveryError: An earlier batch was refused; the records using it were dropped.
        """
        if self._failed:
            self._raise_failures()
        need = 0
        if key is not None:
            if new:
                if not self._open:
                    self._opened = time.monotonic()
                self._open.append(key)
                self._batch_of[key.id] = need = self._serial
                if len(self._open) >= self._max:
                    self._dispatch()
            else:
                need = self._batch_of.get(key.id, 0)
        if self._waiting or need > self._acked:
            self._waiting.append((need, produce, args))
            if self._open and time.monotonic() - self._opened >= self._interval:
                self._dispatch()
            if self._acked != self._released:  # only when a batch was acknowledged since
                self._release()
        else:
            produce(*args)

    def poll(self) -> None:
        """Send the open batch when it is due, and the records acknowledged batches release."""
        if self._open and time.monotonic() - self._opened >= self._interval:
            self._dispatch()
        if self._waiting:
            self._release()

    def _dispatch(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="key-batches", daemon=True)
            self._worker.start()
        self._queue.put((self._serial, self._open))
        self._open = []
        self._serial += 1
        if len(self._batch_of) > 100_000:
            acked = self._acked
            self._batch_of = {k: v for k, v in self._batch_of.items() if v > acked}

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            first, (serial, keys) = item[0], item
            # Everything queued meanwhile goes in the same request (consecutive serials).
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                serial, keys = more[0], keys + more[1]
            try:
                self._publish(keys)
            except StreamsError as exc:
                logger.warning("a batch of %d data keys was not stored: %s", len(keys), exc)
                self._failed[serial] = (first, str(exc))
            self._acked = serial

    def _release(self) -> None:
        acked = self._released = self._acked
        waiting = self._waiting
        while waiting and waiting[0][0] <= acked:
            need, produce, args = waiting.popleft()
            if not self._failed_at(need):
                produce(*args)

    def _failed_at(self, need: int) -> bool:
        # A failure covers every batch merged into its request (serials first..last).
        return any(
            first <= need <= last and last not in self._raised
            for last, (first, _) in list(self._failed.items())
        )

    def flush(self, timeout_s: float = 30.0) -> None:
        """Send the open batch and wait until every held record was handed to the producer.

        Raises:
            DeliveryError: A batch was refused, or not stored within ``timeout_s``.
        """
        if self._open:
            self._dispatch()
        deadline = time.monotonic() + timeout_s
        while self._waiting and time.monotonic() < deadline:
            self._release()
            if self._waiting:
                time.sleep(0.001)
        self._raise_failures()
        if self._waiting:
            left = len(self._waiting)
            raise DeliveryError(
                f"{left} records wait for data keys the registry did not store within "
                f"{timeout_s:g} s; check the registry (`mesh status`), then send them again",
                undelivered=left,
                failures=[],
            )
        self._batch_of.clear()

    def _raise_failures(self) -> None:
        fresh = {s: why for s, (_, why) in list(self._failed.items()) if s not in self._raised}
        if not fresh:
            return
        self._release()  # drops the records of the failed batches
        self._raised.update(fresh)
        self._failed.clear()
        first = next(iter(fresh.values()))
        raise DeliveryError(
            f"the registry did not store {len(fresh)} batch(es) of data keys ({first}); the "
            "records encrypted with them were not sent",
            undelivered=len(fresh),
            failures=[("_mesh.keys", why) for why in list(fresh.values())[:5]],
        )

    def close(self) -> None:
        """Stop the worker (after :meth:`flush`)."""
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=5)
            self._worker = None
