"""The registry log's one writer: a fenced transactional producer with group commit.

Every instance writing a topic uses the same transactional ids (``streams-registry-<topic>``,
then ``...-1`` to ``...-3``: see *lanes* below). :meth:`TransactionalWriter.start` calls
``init_transactions()`` on each, which (a) fences any older instance on the topic: its next
commit fails with a fenced error, after which it refuses writes with 503/50004 naming the problem
and keeps serving reads from its tail; and (b) aborts a transaction a killed instance left open,
which would otherwise stall ``read_committed`` readers (BROKER.md quirk 8). The broker enforces
the fence, so two instances can never both acknowledge ids; detecting another writer's records
after the fact (the alternative) can only find a collision once both records are in the log.
Every id is fenced before the log is re-read (:meth:`Journal.promote`), so whatever an old
instance committed on any of them is in the state before this one decides a write.

In HA mode (:mod:`~streams.registry._election`) a writer starts as a follower: it writes only
after :meth:`TransactionalWriter.take_over` (called when the election makes this instance the
primary), and :meth:`TransactionalWriter.step_down` makes it refuse writes again.

Group commit: a transaction costs three round trips (AddPartitionsToTxn, Produce, EndTxn, ~2 ms
on the embedded broker), so writes staged while a commit is in flight are committed together in
the next transaction, and a batch smaller than the writers last seen lingers up to 2 ms for the
writers just answered to come back (two clients: batches of 1 alternate without it). Each
caller's future resolves only once its transaction is committed (``scripts/bench registry``).

Lanes: Apache Kafka acknowledges a commit once its decision is logged, then writes the commit
markers; until they are written, the same transactional id's next AddPartitionsToTxn is refused
with CONCURRENT_TRANSACTIONS and retried after a back-off (measured: 9 ms median, 31 ms p90 per
transaction, ~110 registrations/s). So transactions rotate over :data:`LANES` producers, each
with its own id: the next one starts at once while the previous lane's markers are written
(median 2.5 ms). Transactions still run one at a time and in order, each only after the previous
one committed, so a decision never depends on a write that could still abort. All instances of
one topic must use the same number of lanes (it is a constant, not a setting).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from streams.config import KafkaSettings
from streams.errors import BrokerUnavailableError, RegistryRequestError
from streams.registry import codes

__all__ = ["DEFAULT_MAX_MESSAGE_BYTES", "LANES", "TransactionalWriter"]

logger = logging.getLogger(__name__)

LogRecord = tuple[bytes, bytes | None]

# librdkafka's default message.max.bytes; Kafka's default broker limit is barely above it.
DEFAULT_MAX_MESSAGE_BYTES = 1_000_000
_LINGER_S = 0.002
LANES = 4
"""Transactional producers a writer rotates over (see the module docstring)."""
_FENCED = {
    KafkaError._FENCED,
    KafkaError.PRODUCER_FENCED,
    KafkaError.INVALID_PRODUCER_EPOCH,
}


@dataclass(slots=True)
class _Staged:
    records: Sequence[LogRecord]
    future: asyncio.Future[None]


class TransactionalWriter:
    """Writes staged records in transactions, one at a time, on its own thread.

    Args:
        kafka: The Kafka cluster and how to authenticate to it.
        topic: The log topic.
        timeout_s: How long a commit may wait for Kafka.
    """

    def __init__(
        self, *, kafka: KafkaSettings, topic: str, timeout_s: float, elected: bool = False
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._timeout = timeout_s
        self._producers: list[Producer | None] = [None] * LANES
        self._lane = 0
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="registry-tx")
        self._own: set[int] = set()
        self._own_lock = threading.Lock()
        self._staged: list[_Staged] = []
        self._committing = False
        self._expected = 1
        self._linger: asyncio.TimerHandle | None = None
        self._idle = asyncio.Event()
        self._healthy = True
        self._fenced = elected  # an elected writer waits for take_over
        self.primary_url: Callable[[], str | None] = lambda: None

    @property
    def transactional_ids(self) -> tuple[str, ...]:
        """The ids every instance writing this topic shares, so a new one fences the old."""
        first = f"streams-registry-{self._topic}"
        return (first, *(f"{first}-{lane}" for lane in range(1, LANES)))

    def start(self) -> None:
        """Fence older writers (blocking); call before reading the log."""
        if not self._fenced:
            self._open_lanes()

    def _open_lanes(self) -> None:
        """A producer for every lane that has none: each ``init_transactions`` fences its id."""
        for lane, producer in enumerate(self._producers):
            if producer is None:
                self._producers[lane] = self._new_producer(self.transactional_ids[lane])

    def claim(self, offset: int) -> bool:
        """Whether the record at ``offset`` is one this writer wrote (asked once per offset)."""
        with self._own_lock:
            own = offset in self._own
            self._own.discard(offset)
        return own

    def _new_producer(self, transactional_id: str) -> Producer:
        producer = Producer(
            self._kafka.librdkafka(
                transactional_id=transactional_id,
                acks="all",
                linger_ms=0,
                message_max_bytes=DEFAULT_MAX_MESSAGE_BYTES,
                transaction_timeout_ms=int(self._timeout * 1000),
                message_timeout_ms=int(self._timeout * 1000),
            )
        )
        try:
            producer.init_transactions(self._timeout)
        except KafkaException as exc:
            raise BrokerUnavailableError(
                f"Could not start writing to {self._topic!r}: {exc.args[0].str()}",
                bootstrap_servers=self._kafka.bootstrap_servers,
            ) from exc
        return producer

    @property
    def healthy(self) -> bool:
        """False after a failed write (or for good once fenced)."""
        return self._healthy and not self._fenced

    @property
    def fenced(self) -> bool:
        """True once a newer instance took the transactional id."""
        return self._fenced

    def reset(self) -> None:
        """Accept writes again; a producer left in a fatal state is replaced (same id)."""
        if self._fenced:
            return
        self._healthy = True

    async def take_over(self) -> None:
        """Become the writer: a new producer whose ``init_transactions`` fences any other."""
        await asyncio.get_running_loop().run_in_executor(self._writer, self._take_over)

    def _take_over(self) -> None:
        self._producers = [None] * LANES
        self._open_lanes()
        self._fenced = False
        self._healthy = True

    def step_down(self) -> None:
        """Refuse writes from now on (another instance was elected)."""
        self._fenced = True

    def stage(self, records: Sequence[LogRecord]) -> asyncio.Future[None]:
        """Queue records for the next transaction (see the module docstring)."""
        if self._fenced:
            raise _fenced_error(self._topic, self.primary_url())
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._staged.append(_Staged(records, future))
        self._idle.clear()
        self._maybe_commit()
        return future

    def _maybe_commit(self) -> None:
        """Commit what is staged now, or linger briefly while more writers are expected back."""
        if self._committing or not self._staged:
            return
        if len(self._staged) >= self._expected:
            if self._linger is not None:
                self._linger.cancel()
                self._linger = None
            self._commit_next()
        elif self._linger is None:
            self._linger = asyncio.get_running_loop().call_later(_LINGER_S, self._linger_over)

    def _linger_over(self) -> None:
        self._linger = None
        if not self._committing and self._staged:
            self._commit_next()

    def _commit_next(self) -> None:
        batch, self._staged = self._staged, []
        self._committing = True
        loop = asyncio.get_running_loop()
        pending = loop.run_in_executor(self._writer, self._commit, [s.records for s in batch])
        pending.add_done_callback(lambda done: self._committed(batch, done))

    def _commit(self, groups: list[Sequence[LogRecord]]) -> None:
        """One transaction holding every staged group, on the next lane (the writer thread)."""
        lane = self._lane
        self._lane = (lane + 1) % LANES
        producer = self._producers[lane]
        if producer is None:
            producer = self._producers[lane] = self._new_producer(self.transactional_ids[lane])
        failures: list[KafkaError | None] = [None] * len(groups)

        def delivered(index: int) -> Callable[[KafkaError | None, Message], None]:
            def callback(err: KafkaError | None, message: Message) -> None:
                if err is not None:
                    failures[index] = failures[index] or err
                    return
                with self._own_lock:
                    self._own.add(message.offset() or 0)

            return callback

        try:
            producer.begin_transaction()
            for index, records in enumerate(groups):
                for key, value in records:
                    try:
                        producer.produce(
                            self._topic,
                            key=key,
                            value=value,
                            partition=0,
                            on_delivery=delivered(index),
                        )
                    except KafkaException as exc:  # refused locally, e.g. over the size limit
                        failures[index] = exc.args[0]
                        raise
            self._commit_transaction(producer)
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.code() in _FENCED:
                raise _FencedError(error.str()) from exc
            fenced = self._abort(lane, error)
            if fenced is not None:
                raise _FencedError(fenced.str()) from exc
            raise _CommitFailedError(error, failures) from exc
        except BufferError as exc:
            self._abort(lane, None)
            raise _CommitFailedError(None, failures) from exc

    def _commit_transaction(self, producer: Producer) -> None:
        # A retriable error (a timeout) leaves the commit in progress: librdkafka wants it
        # called again, and an abort meanwhile fails with _CONFLICT.
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                producer.commit_transaction(max(deadline - time.monotonic(), 1.0))
                return
            except KafkaException as exc:
                if not exc.args[0].retriable() or time.monotonic() > deadline:
                    raise

    def _abort(self, lane: int, error: KafkaError | None) -> KafkaError | None:
        """Abort a lane's failed transaction; returns the abort's error if it says "fenced".

        Apache Kafka 4 can answer an EndTxn racing a newer instance's fence with an error
        librdkafka cannot name ("Unknown broker error"); only the abort then reports the fence.
        """
        producer = self._producers[lane]
        if producer is None:
            return None
        if error is not None and error.fatal():
            self._producers[lane] = None  # the lane's next commit starts a new one, same id
            return None
        try:
            producer.abort_transaction(self._timeout)
        except KafkaException as exc:
            self._producers[lane] = None
            found: KafkaError = exc.args[0]
            if found.code() in _FENCED:
                return found
            logger.warning("aborting a failed write to %s: %s", self._topic, exc)
        return None

    def _committed(self, batch: list[_Staged], done: asyncio.Future[None]) -> None:
        self._committing = False
        exc = done.exception()
        if exc is None:
            # The writers answered now usually come back together with those still waiting:
            # the next batch waits (briefly) for all of them.
            self._expected = len(batch) + len(self._staged)
            for staged in batch:
                if not staged.future.done():
                    staged.future.set_result(None)
            if self._staged:
                self._maybe_commit()
            else:
                self._idle.set()
            return
        # Writes staged after the failed ones were decided on a state holding them: fail all.
        failed, self._staged = batch + self._staged, []
        self._healthy = False
        if isinstance(exc, _FencedError):
            self._fenced = True
            logger.error(
                "another registry instance now writes to %s (%s); this one is read-only",
                self._topic,
                exc,
            )
        for index, staged in enumerate(failed):
            if not staged.future.done():
                staged.future.set_exception(self._answer(exc, index))
        self._idle.set()

    def _answer(self, exc: BaseException, index: int) -> RegistryRequestError:
        if isinstance(exc, _FencedError):
            return _fenced_error(self._topic, self.primary_url())
        if isinstance(exc, _CommitFailedError) and index < len(exc.failures):
            own = exc.failures[index]
            if own is not None and own.code() == KafkaError.MSG_SIZE_TOO_LARGE:
                return RegistryRequestError(
                    422,
                    codes.SCHEMA_TOO_LARGE,
                    f"The schema is too large to store: Kafka refused its record in "
                    f"{self._topic!r} as larger than the topic's max.message.bytes. Split it "
                    "with schema references, or raise the topic's limit.",
                )
        logger.error("could not store a change in %s: %s", self._topic, exc)
        return RegistryRequestError(
            503,
            codes.STORE_ERROR,
            f"The change was not stored: Kafka did not accept the write to {self._topic!r}. "
            "Nothing was changed; retry the request.",
        )

    async def idle(self) -> None:
        """Wait until nothing is staged or committing."""
        if self._staged or self._committing:
            await self._idle.wait()

    async def warm_up(self) -> None:
        """Create the producer (fencing older writers) unless :meth:`start` did."""
        if not self._fenced:
            await asyncio.get_running_loop().run_in_executor(self._writer, self.start)

    def close(self) -> None:
        """Finish the commit in flight and release the producer."""
        self._writer.shutdown(wait=True)
        for producer in self._producers:
            if producer is not None:
                producer.flush(5)
        self._producers = [None] * LANES


class _FencedError(Exception):
    """A newer instance took the transactional id (internal to the writer thread)."""


class _CommitFailedError(Exception):
    """A transaction was aborted; ``failures`` holds each group's delivery error, if any."""

    def __init__(self, error: KafkaError | None, failures: list[KafkaError | None]) -> None:
        super().__init__(error.str() if error is not None else "the producer queue is full")
        self.failures = failures


def _fenced_error(topic: str, primary_url: str | None) -> RegistryRequestError:
    where = (
        f"the primary is {primary_url}"
        if primary_url
        else "no primary is elected yet (one takes over within seconds)"
    )
    return RegistryRequestError(
        503,
        codes.NOT_THE_WRITER,
        f"Another registry instance now writes to {topic!r}; this one is read-only (it still "
        f"answers reads): {where}. Send writes there, or retry.",
    )
