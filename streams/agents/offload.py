"""The batch processor in a process of its own, so faust's event loop keeps a core to itself.

Why a process and not a thread: faust's loop spends ~160 µs per event (fetching, building its
events, dispatching them one by one) and the batch processor ~34 µs (decoding, the engine,
outputs, checkpoints). In a thread both share the GIL, so they add up: the live worker reached
a median of 0.74x faust's no-op agent (`scripts/bench agents`, 11 runs). In a child process the
batch runs on another core while faust fetches and dispatches the next one.

The child owns the :class:`~streams.agents.batches.BatchProcessor`: its tasks, its state and
its clients. The parent (the faust worker) sends it each batch's raw records through a pipe
and waits for the answer before faust acknowledges the batch, so the commit protocol of
:mod:`streams.agents.live` is unchanged: nothing is acknowledged before its checkpoint is
stored.

The child never outlives its worker. On Linux it asks the kernel to kill it when its parent
dies (``PR_SET_PDEATHSIG``), so a ``kill -9`` of the worker kills both at once; elsewhere it
checks, before each checkpoint, that its parent is still the one that started it, and it exits
when the pipe closes. A worker that stopped must not have a child still writing checkpoints:
a new owner of its partitions could read an older checkpoint than the one written last.
It ignores SIGINT and SIGTERM (a Ctrl-C reaches the whole process group): the worker finishes
the batch in hand and then closes it.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Collection, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from streams.agents.batches import BatchProcessor, Counters, RawRecord
from streams.agents.checkpoints import CheckpointStore
from streams.agents.definition import DerivedProduct, load_definition
from streams.config import Settings
from streams.errors import BatchProcessError, ConfigError

__all__ = ["RemoteProcessor"]

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_FORMAT = "%(asctime)s %(levelname)-7s [%(process)d] %(name)s: %(message)s"


class RemoteProcessor:
    """A :class:`BatchProcessor` running in a child process, with the same interface.

    Args:
        definition: The derived product.
        path: Its code (the child imports it).
        settings: Where Kafka and the registry are.
        partitions: The number of tasks (input partitions).
        start_timeout_s: The longest wait for the child to be ready.
    """

    def __init__(
        self,
        definition: DerivedProduct,
        path: Path,
        *,
        settings: Settings,
        partitions: int,
        start_timeout_s: float = 120.0,
    ) -> None:
        self.definition = definition
        self.ref = self.definition.ref
        self.topics = [port.ref.topic for port in self.definition.inputs]
        self.counters = Counters()
        self._tasks: list[int] = []
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        package = logging.getLogger("streams")
        formats = [getattr(h.formatter, "_fmt", None) for h in package.handlers if h.formatter]
        self._process = context.Process(
            target=_serve,
            args=(
                path,
                settings,
                partitions,
                child,
                os.getpid(),
                package.getEffectiveLevel(),
                next((f for f in formats if f), _FORMAT),
            ),
            name=f"mesh-batches-{self.ref.topic}",
            daemon=True,
        )
        self._process.start()
        child.close()
        if not self._conn.poll(start_timeout_s):
            self._kill()
            raise BatchProcessError(
                f"{self.ref.id}: the batch process (pid {self._process.pid}) did not start "
                f"within {start_timeout_s:.0f} s"
            )
        self._answer()
        logger.info("%s: batches run in process %d", self.ref.id, self._process.pid)

    @property
    def pid(self) -> int | None:
        """The child's process id."""
        return self._process.pid

    @property
    def tasks(self) -> list[int]:
        """The task numbers running in the child (as of its last answer)."""
        return list(self._tasks)

    def handle(self, records: Sequence[RawRecord]) -> None:
        """See :meth:`BatchProcessor.handle`."""
        # Plain tuples pickle faster than named ones; the child makes them RawRecords again.
        self._call("handle", [tuple(record) for record in records])

    def flush_idle(self, owned: Collection[int] = ()) -> None:
        """See :meth:`BatchProcessor.flush_idle`."""
        self._call("flush_idle", set(owned))

    def drop(self, numbers: Collection[int]) -> None:
        """See :meth:`BatchProcessor.drop`."""
        self._call("drop", set(numbers))

    def stop_waiting(self) -> None:
        """See :meth:`BatchProcessor.stop_waiting` (a signal: the child may be mid-batch)."""
        if self._process.pid is not None and self._process.is_alive():
            os.kill(self._process.pid, signal.SIGUSR1)

    def close(self, timeout_s: float = 30.0) -> None:
        """Close the child's clients and wait for it to exit (killed after ``timeout_s``)."""
        try:
            if self._process.is_alive():
                self._call("close")
        except BatchProcessError:
            logger.warning("%s: the batch process failed to close", self.ref.id, exc_info=True)
        finally:
            self._conn.close()
            self._process.join(timeout_s)
            self._kill()

    def _call(self, name: str, *args: Any) -> None:
        try:
            self._conn.send((name, args))
        except (BrokenPipeError, ConnectionError, EOFError) as exc:
            raise self._died() from exc
        self._answer()

    def _answer(self) -> None:
        try:
            kind, *body = self._conn.recv()
        except (EOFError, ConnectionError) as exc:
            raise self._died() from exc
        if kind == "error":
            raise BatchProcessError(f"{self.ref.id}: the batch process failed:\n{body[0]}")
        self.counters, self._tasks = body

    def _died(self) -> BatchProcessError:
        self._process.join(5)
        return BatchProcessError(
            f"{self.ref.id}: the batch process (pid {self._process.pid}) died "
            f"(exit code {self._process.exitcode}); see its log lines above"
        )

    def _kill(self) -> None:
        if self._process.pid is not None and self._process.is_alive():
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.join(5)


class _AsWorker(logging.Filter):
    """Log lines carry the worker's pid: the one users see, stop and kill (the batch process
    is part of the worker and dies with it)."""

    def __init__(self, pid: int) -> None:
        super().__init__()
        self.pid = pid

    def filter(self, record: logging.LogRecord) -> bool:
        record.process = self.pid
        return True


def _die_with(parent: int) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux only)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the request
        os._exit(1)


def _serve(
    path: Path,
    settings: Settings,
    partitions: int,
    conn: Connection,
    parent: int,
    level: int,
    log_format: str,
) -> None:
    """The child: run the processor's calls from the pipe until ``close`` or EOF."""
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    handler = logging.StreamHandler()  # stderr, shared with the worker
    handler.setFormatter(logging.Formatter(log_format))
    handler.addFilter(_AsWorker(parent))
    package = logging.getLogger("streams")
    package.addHandler(handler)
    package.setLevel(level)

    def orphaned() -> None:
        if os.getppid() != parent:
            raise BatchProcessError("the worker that started this batch process is gone")

    try:
        definition = load_definition(path)
        store = CheckpointStore(definition.ref, partitions=partitions, settings=settings)
        processor = BatchProcessor(
            definition, settings=settings, store=store, before_checkpoint=orphaned
        )
    except Exception:  # the worker reports it and stops
        conn.send(("error", traceback.format_exc()))
        return
    signal.signal(signal.SIGUSR1, lambda signum, frame: processor.stop_waiting())
    conn.send(("ok", processor.counters, processor.tasks))
    make = tuple.__new__
    try:
        while True:
            try:
                name, args = conn.recv()
            except EOFError:
                return  # the worker is gone
            try:
                if name == "handle":
                    processor.handle([make(RawRecord, record) for record in args[0]])
                elif name == "flush_idle":
                    processor.flush_idle(args[0])
                elif name == "drop":
                    processor.drop(args[0])
                elif name == "close":
                    processor.close()
                    store.close()
                    conn.send(("ok", processor.counters, []))
                    return
                else:
                    raise ConfigError(f"unknown call {name!r}")
            except BaseException:
                conn.send(("error", traceback.format_exc()))
                return
            conn.send(("ok", processor.counters, processor.tasks))
    finally:
        conn.close()
        logging.shutdown()
