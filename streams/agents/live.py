"""The live driver: a derived product computed continuously by faust agents.

faust-streaming provides the worker, the consumer group and partition assignment (several
workers of one product split its partitions; inputs are co-partitioned, and faust assigns the
same partition number of every input to one worker), and batching with ``take_events``. Our
runtime owns windowing, state and the commit protocol (:mod:`streams.agents.batches`, run in a
process of its own by :mod:`streams.agents.offload` so faust's loop keeps its core): faust's
windowed tables are not used (they expire windows by wall clock and are not exact after a
crash).

Why it is exact after ``kill -9``: a batch's events are acknowledged to faust only after the
batch's checkpoint (state + next offsets, one record) is stored, so faust's committed offsets
never pass a checkpoint. A restarted or new owner of a partition therefore starts at or before
its checkpoint, restores the checkpoint, and skips the records the checkpoint already reflects.
(faust seeks every assigned partition to its committed offset after the
``on_partitions_assigned`` signal, in its recovery service, so a seek of our own there would be
overridden; reading from the committed offset and skipping is both simpler and always right.)
If a batch fails, the worker exits at once without acknowledging it (``os._exit``): faust would
otherwise acknowledge the batch while unwinding ``take_events`` and commit past the checkpoint.
A schema registry that cannot be reached is not a failure: the batch waits for it
(:mod:`streams.agents.outage`).

On revocation faust waits until every event handed to agents is acknowledged (so the batch in
hand is finished and checkpointed), then sends ``on_partitions_revoked``; the revoked tasks are
dropped there and restored from their checkpoints by whichever worker gets them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import ssl
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faust
from confluent_kafka.admin import AdminClient
from faust.worker import Worker

from streams.agents.checkpoints import CheckpointStore
from streams.agents.definition import DerivedProduct, load_definition
from streams.agents.inputs import input_partitions
from streams.agents.lineage import LineageRun
from streams.agents.oauth import token_provider
from streams.agents.offload import RemoteProcessor
from streams.agents.options import LiveOptions
from streams.agents.runtime import Processor, Runtime
from streams.agents.summary import WorkerSummary
from streams.config import KafkaSettings, Settings
from streams.errors import ConfigError
from streams.kafka import SchemaSource
from streams.kafka.client import build_client
from streams.naming import agent_group

__all__ = ["LiveOptions", "build_app", "run_worker", "run_workers"]

logger = logging.getLogger(__name__)

# faust/aiokafka log every fetch and rebalance step at INFO; at WARNING the worker ran ~19%
# faster in the measurements of issue 9 (faust's no-op agent, 200k events).
_QUIET_LOGGERS = ("faust", "aiokafka", "mode")


def _check_output(definition: DerivedProduct, settings: Settings) -> None:
    """Fail now, not at the first output, when the product's topic or schema is missing."""
    ref = definition.ref
    admin = build_client(AdminClient, settings.kafka.librdkafka(), settings=settings.kafka)
    metadata = admin.list_topics(ref.topic, timeout=10).topics.get(ref.topic)
    if metadata is None or metadata.error is not None:
        raise ConfigError(
            f"{ref.id} v{ref.major} has no topic {ref.topic}: publish the product first "
            "(mesh product apply)"
        )
    schemas = SchemaSource.from_settings(settings.registry)
    try:
        schemas.latest(ref.subject)
    finally:
        schemas.close()


def _credentials(kafka: KafkaSettings) -> Any:
    """faust's broker credentials for the security settings (None for PLAINTEXT)."""
    protocol = kafka.security_protocol
    if protocol == "PLAINTEXT":
        return None
    context: ssl.SSLContext | None = None
    if protocol.endswith("SSL"):
        context = ssl.create_default_context(
            cafile=str(kafka.ssl_ca_location.expanduser()) if kafka.ssl_ca_location else None
        )
        if kafka.ssl_certificate_location and kafka.ssl_key_location:
            password = kafka.ssl_key_password
            context.load_cert_chain(
                str(kafka.ssl_certificate_location.expanduser()),
                str(kafka.ssl_key_location.expanduser()),
                password.get_secret_value() if password else None,
            )
        if not kafka.ssl_endpoint_identification:
            context.check_hostname = False
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    if kafka.sasl_mechanism == "OAUTHBEARER":
        # aiokafka takes a token provider, made from librdkafka's OIDC properties (or refused).
        return faust.OAuthCredentials(oauth_cb=token_provider(kafka), ssl_context=context)
    password = kafka.sasl_password
    return faust.SASLCredentials(
        username=kafka.sasl_username,
        password=password.get_secret_value() if password else None,
        ssl_context=context,
        mechanism=kafka.sasl_mechanism,
    )


def build_app(
    definition: DerivedProduct,
    *,
    settings: Settings,
    partitions: int,
    processor: Processor,
    options: LiveOptions,
    data_dir: Path,
) -> Any:
    """The faust app of one derived product: one agent over its inputs, batching."""
    kafka = settings.kafka
    size, within = options.batch_size, options.batch_within_s
    app = faust.App(
        agent_group(definition.ref),
        broker=[f"kafka://{server.strip()}" for server in kafka.bootstrap_servers.split(",")],
        broker_credentials=_credentials(kafka),
        broker_session_timeout=6,
        broker_heartbeat_interval=1,
        consumer_auto_offset_reset="earliest",
        topic_partitions=partitions,
        web_enabled=False,
        # faust fetches ahead into this buffer while the batch process works; with room for
        # two batches the next one is ready when the last one is checkpointed (faust's
        # default, 4096, is less than one batch).
        stream_buffer_maxsize=max(4096, 2 * size),
        key_serializer="raw",
        value_serializer="raw",
        datadir=str(data_dir),
        autodiscover=False,
    )
    topic = app.topic(
        *(port.ref.topic for port in definition.inputs),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
    )
    runtime = Runtime(app, processor)

    async def compute(stream: Any) -> None:
        async for events in stream.take_events(size, within=within):
            await runtime.handle(events)

    compute.__name__ = compute.__qualname__ = "compute"
    app.agent(topic, name=f"{definition.ref.topic}.compute", concurrency=1)(compute)

    async def idle() -> None:
        await runtime.flush_idle()

    app.timer(interval=options.idle_check_s, name="idle")(idle)

    async def revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        await runtime.revoked(args[0])  # the set of revoked TPs

    async def assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        await runtime.assigned(args[0])  # the set of assigned TPs

    app.on_partitions_revoked.connect(revoked)
    app.on_partitions_assigned.connect(assigned)
    return app


class _Worker(Worker):
    """faust's worker, which also tells the batch process when a stop begins.

    On SIGTERM or SIGINT faust first waits until the batch in hand is acknowledged, and only
    then cancels the agents: a batch held while the registry is down would make the worker
    wait for the registry, however long it is down. Told at once, the batch process gives up
    waiting (the batch fails; nothing of it is acknowledged) and the worker exits.
    """

    processor: Processor | None = None

    def _schedule_shutdown(self, sig: signal.Signals) -> None:
        if self.processor is not None:
            self.processor.stop_waiting()
        super()._schedule_shutdown(sig)


def run_worker(
    path: Path, *, settings: Settings, options: LiveOptions | None = None
) -> WorkerSummary:
    """Run one live worker of the derived product defined in ``path`` until SIGINT/SIGTERM;
    returns what it did.

    When it stops it logs one line: what it processed, and that its checkpoints are stored
    (the batch in hand is finished and checkpointed before faust's agents stop).

    Raises:
        ConfigError: An input or the output is not published, or the inputs disagree.
        BrokerUnavailableError, RegistryUnavailableError: Kafka or the registry is down.
    """
    options = options or LiveOptions()
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    definition = load_definition(path)
    partitions = input_partitions(definition, settings)
    _check_output(definition, settings)
    store = CheckpointStore(definition.ref, partitions=partitions, settings=settings)
    try:
        store.ensure_topic()
    finally:
        store.close()
    # Started before faust, whose threads must not be running when a process is started.
    processor = RemoteProcessor(definition, path, settings=settings, partitions=partitions)
    data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="mesh-agent-"))
    try:
        app = build_app(
            definition,
            settings=settings,
            partitions=partitions,
            processor=processor,
            options=options,
            data_dir=data_dir,
        )
        logger.info(
            "%s: live worker (pid %d) over %s, %d tasks",
            definition.ref.id,
            os.getpid(),
            ", ".join(port.ref.topic for port in definition.inputs),
            partitions,
        )
        worker = _Worker(
            app,
            loglevel="WARNING",
            quiet=True,
            redirect_stdouts=False,
            override_logging=False,
        )
        # faust's progress spinner writes cursor escape codes to stdout (our results stream)
        # even when it is a pipe or a file, and again on SIGTERM; our log lines report progress.
        worker.spinner = None
        worker.processor = processor
        with LineageRun(
            settings=settings,
            definition=definition,
            processing="STREAMING",
            heartbeat_s=options.lineage_every_s,
        ):
            try:
                worker.execute_from_commandline()
            except SystemExit as exc:
                if exc.code not in (0, None):
                    raise
        counters = processor.counters
        summary = WorkerSummary(
            pid=os.getpid(),
            events=counters.events,
            updates=counters.updates,
            late=counters.late,
            dead_letters=counters.dead_letters,
            checkpoints=counters.checkpoints,
            elapsed_s=time.monotonic() - counters.started,
            busy_s=counters.seconds,
        )
        logger.info(
            "%s: worker (pid %d) stopped: %s", definition.ref.id, summary.pid, summary.line()
        )
        return summary
    finally:
        processor.close()
        if options.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)


def _worker_process(
    path: Path, settings: Settings, options: LiveOptions, level: int, results: Any
) -> None:
    """The entry point of a worker process started by :func:`run_workers`; puts its
    :class:`WorkerSummary` on the ``results`` queue when it stops."""
    handler = logging.StreamHandler()  # to stderr, like the parent's
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s [%(process)d] %(name)s: %(message)s")
    )
    package = logging.getLogger("streams")
    package.addHandler(handler)
    package.setLevel(level)
    results.put(run_worker(path, settings=settings, options=options))


def run_workers(
    path: Path,
    *,
    workers: int,
    settings: Settings,
    options: LiveOptions | None = None,
    stop_timeout_s: float = 30.0,
) -> tuple[int, list[WorkerSummary]]:
    """Run ``workers`` worker processes of the derived product defined in ``path`` (one group).

    Each worker is a separate process (faust is single-threaded), so they share the product's
    partitions. On SIGINT/SIGTERM every worker is stopped by its PID (SIGTERM, then SIGKILL
    after ``stop_timeout_s``). A worker that dies is reported; the others take over its
    partitions. Returns when all have exited: 0 if every worker exited cleanly, else 1, and
    the summaries of the workers that stopped cleanly.
    """
    options = options or LiveOptions()
    load_definition(path)  # a broken definition fails here, once, not in every worker
    context = multiprocessing.get_context("spawn")
    level = logging.getLogger("streams").getEffectiveLevel()
    results = context.SimpleQueue()
    processes = [
        context.Process(
            target=_worker_process,
            args=(path, settings, options, level, results),
            name=f"mesh-agent-{number}",
        )
        for number in range(1, workers + 1)
    ]
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for number, process in enumerate(processes, 1):
            process.start()
            logger.warning("worker %d of %d: pid %s", number, workers, process.pid)
        running = list(processes)
        while running and not stopping:
            time.sleep(0.2)
            for process in [p for p in running if not p.is_alive()]:
                running.remove(process)
                logger.warning(
                    "%s (pid %s) exited with %s", process.name, process.pid, process.exitcode
                )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stop(processes, stop_timeout_s)
    summaries: list[WorkerSummary] = []
    while not results.empty():
        summaries.append(results.get())
    return (0 if all(p.exitcode == 0 for p in processes) else 1), summaries


def _stop(processes: Sequence[Any], timeout_s: float) -> None:
    """SIGTERM each live worker by PID, wait, then SIGKILL the ones still running."""
    for process in processes:
        if process.pid is not None and process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for process in processes:
        if process.pid is not None:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                logger.warning("%s (pid %s) did not stop; killing it", process.name, process.pid)
                os.kill(process.pid, signal.SIGKILL)
                process.join(5)
            logger.warning(
                "%s (pid %s) stopped: exit code %s", process.name, process.pid, process.exitcode
            )
