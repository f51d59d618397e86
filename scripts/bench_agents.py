"""Benchmark: derived-product agents on PlayEvents (Avro, 1,000 users, 24 hours).

Measured in one run, on one embedded platform (``--broker``):
- **live**: one ``mesh agent run`` worker (faust, ``take_events`` batches; our decoding, the
  engine, outputs and checkpoints in the worker's batch process) computing
  ``hourly_play_sessions`` over the whole input. Its rate is taken between the first and the
  last checkpoint record (their timestamps), so the worker's start-up and group join are not
  counted; its output is compared record by record with the engine run in-process over the
  same input (``correct``);
  the worker's summary line gives the batch processor's own time per event
  (``live_batch_us_per_event``); its peak RSS and CPU seconds (``live_cpu_s``, start-up
  included) add up both processes of the worker, so the second core it uses shows;
- **faust no-op**: a faust agent with the same app settings and ``take_events`` batches that
  does nothing with its events: faust's own ceiling on this machine.
Targets (issue 9): live >= 5,000 events/s per worker and >= 0.8x the no-op agent.

Unless ``--no-replay``, the run starts with ``scripts/bench_replay.py``'s measurement (a plain
confluent-kafka baseline and ``mesh replay``, on a platform of its own) and merges its figures,
so one run prints every figure of issue 9; ``correct`` is true when both the replay's and the
live worker's outputs are right. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from rich.console import Console

from streams.agents.checkpoints import CheckpointStore
from streams.agents.definition import DerivedProduct, load_definition
from streams.agents.engine import InputRecord, Task
from streams.config import KafkaSettings, RegistrySettings, Settings
from streams.kafka import Producer
from streams.kafka.topics import COMPACTED, read_to_end
from streams.naming import ProductRef, checkpoint_topic
from streams.serialization import AvroDecoder

sys.path.insert(0, str(Path(__file__).parent))
import _brokers

ROOT = Path(__file__).parents[1]
PARTITIONS = 4
USERS = 1_000
HOURS = 24
BASE = 1_767_225_600_000  # 2026-01-01T00:00Z
LIVE_TARGET = 5_000
LIVE_RATIO_TARGET = 0.8
BATCH = 5_000
err = Console(stderr=True)

DEFINITION = """
from datetime import timedelta
from pathlib import Path

from streams.agents.definition import DerivedProduct, InputPort, load_definition

_example = load_definition(Path({example!r}))
product = DerivedProduct(
    product="{domain}.hourly_play_sessions",
    version=1,
    inputs=(InputPort("{domain}.play_events", 1),),
    key="user_id",
    window=_example.window,
    allowed_lateness=_example.allowed_lateness,
    aggregation=_example.aggregation,
    idle_timeout=timedelta(hours=1),
)
"""


def make_events(n: int) -> list[dict[str, Any]]:
    """``n`` PlayEvents of ``USERS`` listeners over ``HOURS`` hours, slightly out of order."""
    rng = random.Random(9)
    users = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(USERS)]
    tracks = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(5_000)]
    span = HOURS * 3_600_000
    return [
        {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "event_time": BASE + i * span // n + rng.randrange(-120_000, 120_000),
            "user_id": rng.choice(users),
            "track_id": rng.choice(tracks),
            "device": rng.choice(("IOS", "ANDROID", "WEB", "DESKTOP")),
            "country": "DE",
            "ms_played": rng.randrange(1_000, 300_000),
            "context_type": "PLAYLIST",
            "context_id": None,
            "end_reason": rng.choice(("TRACK_DONE", "SKIPPED_FORWARD", "STOPPED")),
            "offline": rng.random() < 0.02,
            "app_version": "8.9.12",
            "session_hint": None,
        }
        for i in range(n)
    ]


class Setup:
    """A fresh domain with the input filled and the derived product published."""

    def __init__(self, settings: Settings, events: list[dict[str, Any]], root: Path) -> None:
        self.settings = settings
        self.root = root
        domain = f"b{uuid.uuid4().hex[:10]}"
        self.input = ProductRef(domain, "play_events")
        self.output = ProductRef(domain, "hourly_play_sessions")
        admin = AdminClient(settings.kafka.librdkafka())
        new = [
            NewTopic(self.input.topic, num_partitions=PARTITIONS, replication_factor=1),
            NewTopic(
                self.output.topic, num_partitions=PARTITIONS, replication_factor=1, config=COMPACTED
            ),
        ]
        for future in admin.create_topics(new).values():
            future.result(30)
        with SchemaRegistryClient(settings.registry.client_conf()) as registry:
            for ref, name in ((self.input, "PlayEvent"), (self.output, "HourlyPlaySession")):
                text = (ROOT / f"schemas/player/{name}.avsc").read_text()
                registry.register_schema(ref.subject, Schema(text, "AVRO"))
        code = root / "products" / domain / "hourly_play_sessions.py"
        code.parent.mkdir(parents=True)
        example = ROOT / "products/player/hourly_play_sessions.py"
        code.write_text(DEFINITION.format(example=str(example), domain=domain))
        self.definition: DerivedProduct = load_definition(code)
        with Producer(settings=settings) as producer:
            for event in events:
                producer.emit(self.input, event, key=event["user_id"])
        self.ends: dict[int, int] = {}
        for message in read_to_end(self._conf(), self.input.topic):
            self.ends[message.partition()] = message.offset() + 1

    def _conf(self) -> dict[str, Any]:
        return dict(self.settings.kafka.librdkafka(group_id=f"bench-{uuid.uuid4().hex}"))

    def expected(self) -> dict[str, Any]:
        """The last value per output key, computed in-process (one batch per task)."""
        schema = (ROOT / "schemas/player/PlayEvent.avsc").read_text()
        per: dict[int, list[InputRecord]] = {}
        decoders: dict[int, AvroDecoder] = {}
        for m in read_to_end(self._conf(), self.input.topic):
            value = m.value()
            sid = int.from_bytes(value[1:5], "big")
            decode = decoders.setdefault(sid, AvroDecoder(schema, schema_id=sid))
            per.setdefault(m.partition(), []).append(
                InputRecord(
                    m.topic(), m.partition(), m.offset(), m.timestamp()[1], m.key(), decode(value)
                )
            )
        last: dict[str, Any] = {}
        for partition, records in per.items():
            task = Task(self.definition, partition=partition, clock=lambda: 0.0)
            for update in task.process(records).updates:
                last[update.kafka_key] = _plain(update.value)
        return last

    def actual(self) -> dict[str, Any]:
        schema = (ROOT / "schemas/player/HourlyPlaySession.avsc").read_text()
        last: dict[str, Any] = {}
        for m in read_to_end(self._conf(), self.output.topic):
            value = m.value()
            decode = AvroDecoder(schema, schema_id=int.from_bytes(value[1:5], "big"))
            last[m.key().decode()] = _plain(decode(value))
        return last


def _plain(value: dict[str, Any]) -> Any:
    """Timestamps as epoch ms and uuids as text, so decoded and computed values compare."""
    return json.loads(json.dumps(value, default=_json))


def _json(value: Any) -> Any:
    return round(value.timestamp() * 1000) if hasattr(value, "timestamp") else str(value)


def _family(pid: int) -> list[int]:
    """``pid`` and its descendants (the live worker's batch process is its child)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            todo.extend(int(child) for child in task.read_text().split())
    return found


def _peak_rss_mb(pid: int) -> float:
    """The peak RSS of ``pid`` and its descendants, summed."""
    total = 0.0
    for member in _family(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return total


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system, start-up included) of ``pid`` and its descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for member in _family(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)


def measure_live(setup: Setup, *, timeout_s: float = 600) -> dict[str, Any]:
    """One live worker over the whole input: events/s between first and last checkpoint."""
    settings = setup.settings
    log = setup.root / "live.log"
    command = [
        sys.executable, "-m", "streams.cli", "agent", "run", setup.output.id,
        "--root", str(setup.root), "--batch-size", str(BATCH), "--batch-within", "1",
        "--bootstrap-servers", settings.kafka.bootstrap_servers,
        "--registry-url", settings.registry.url,
    ]  # fmt: skip
    total = sum(setup.ends.values())
    started = time.monotonic()
    out = setup.root / "live.out"  # the summary line it prints when stopped
    with log.open("wb") as stderr, out.open("wb") as stdout:
        process = subprocess.Popen(command, cwd=setup.root, stdout=stdout, stderr=stderr)
    try:
        store = CheckpointStore(setup.output, partitions=PARTITIONS, settings=settings)
        deadline = time.monotonic() + timeout_s
        while True:
            found = store.read(range(PARTITIONS))
            done = {t: c.offsets.get((setup.input.topic, t), 0) for t, c in found.items()}
            if done == setup.ends:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the live worker did not finish:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        rss, cpu = _peak_rss_mb(process.pid), _cpu_s(process.pid)
    finally:
        _stop(process)
    stamps = [m.timestamp()[1] for m in read_to_end(setup._conf(), checkpoint_topic(setup.output))]
    first_batch = min(BATCH, total)  # the first checkpoint's batch is not timed
    seconds = (max(stamps) - min(stamps)) / 1000
    correct = setup.expected() == setup.actual()
    busy = re.search(r"([\d.]+) µs per event in batches", out.read_text(errors="replace"))
    return {
        "live_per_s": round((total - first_batch) / seconds) if seconds > 0 else None,
        "live_wall_s": round(time.monotonic() - started, 1),
        "live_checkpoints": len(stamps),
        "live_peak_rss_mb": round(rss, 1),
        # Both processes of the worker (faust's, and the batch process beside it).
        "live_cpu_s": round(cpu, 1),
        # The batch processor's own time (decode, engine, outputs, checkpoints) per event.
        "live_batch_us_per_event": float(busy.group(1)) if busy else None,
        "live_correct": correct,
    }


def _noop_worker(bootstrap: str, topic: str, total: int) -> None:
    """The no-op faust agent (run in a child process by :func:`measure_faust_noop`)."""
    import faust
    from faust.worker import Worker

    for name in ("faust", "aiokafka", "mode"):
        logging.getLogger(name).setLevel(logging.WARNING)
    data = tempfile.mkdtemp(prefix="bench-noop-")
    app = faust.App(
        f"bench-noop-{uuid.uuid4().hex[:8]}",
        broker=f"kafka://{bootstrap}",
        broker_session_timeout=6,
        broker_heartbeat_interval=1,
        consumer_auto_offset_reset="earliest",
        topic_partitions=PARTITIONS,
        web_enabled=False,
        stream_buffer_maxsize=max(4096, 2 * BATCH),  # as the live worker's app
        key_serializer="raw",
        value_serializer="raw",
        datadir=data,
    )
    source = app.topic(topic, key_type=bytes, value_type=bytes, value_serializer="raw")
    state: dict[str, Any] = {"n": 0, "first": None}

    async def noop(stream: Any) -> None:
        async for events in stream.take_events(BATCH, within=1.0):
            if state["first"] is None:
                state["first"], state["skip"] = time.monotonic(), len(events)
            state["n"] += len(events)
            if state["n"] >= total:
                seconds = time.monotonic() - state["first"]
                rate = (total - state["skip"]) / seconds if seconds > 0 else None
                figures = {"faust_noop_per_s": rate, "rss": _peak_rss_mb(os.getpid())}
                print(json.dumps(figures | {"cpu": _cpu_s(os.getpid())}))
                sys.stdout.flush()
                os._exit(0)
            await asyncio.sleep(0)

    app.agent(source, name="noop")(noop)
    Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False).execute_from_commandline()


def measure_faust_noop(setup: Setup, *, timeout_s: float = 600) -> dict[str, Any]:
    """A faust agent that only counts its events: faust's own ceiling (first batch untimed)."""
    total = sum(setup.ends.values())
    command = [
        sys.executable, __file__, "--noop-worker",
        setup.settings.kafka.bootstrap_servers, setup.input.topic, str(total),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        out, _ = process.communicate(timeout=timeout_s)
    finally:
        _stop(process)
    # faust's worker writes terminal escapes to stdout too: take the line with our JSON.
    line = next(x for x in out.decode().splitlines()[::-1] if '{"faust_noop_per_s"' in x)
    figures = json.loads(line[line.index("{") :])
    return {
        "faust_noop_per_s": round(figures["faust_noop_per_s"]),
        "faust_noop_peak_rss_mb": round(figures["rss"], 1),
        "faust_noop_cpu_s": round(figures["cpu"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--no-replay", action="store_true", help="skip the baseline and replay measurement"
    )
    _brokers.add_option(parser)
    args = parser.parse_args()
    events = make_events(args.events)

    def measure(kind: str) -> dict[str, Any]:
        figures: dict[str, Any] = {"broker": kind, "live_events": len(events)}
        if not args.no_replay:
            import bench_replay

            figures.update(bench_replay.measure(kind))
        with _brokers.platform(kind) as info, tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                kafka=KafkaSettings(bootstrap_servers=info.bootstrap_servers),
                registry=RegistrySettings(url=info.registry_url),
            )
            err.print(f"[{kind}] producing {len(events):,} PlayEvents...")
            setup = Setup(settings, events, Path(tmp))
            err.print(f"[{kind}] faust no-op agent...")
            figures.update(measure_faust_noop(setup))
            err.print(f"[{kind}] live worker...")
            figures.update(measure_live(setup))
            live, noop = figures["live_per_s"], figures["faust_noop_per_s"]
            figures["live_ratio"] = round(live / noop, 2) if live and noop else None
            figures["live_target_met"] = bool(
                live and live >= LIVE_TARGET and (figures["live_ratio"] or 0) >= LIVE_RATIO_TARGET
            )
            figures["correct"] = figures.get("correct", True) and figures["live_correct"]
            err.print(figures)
            return figures

    _brokers.run(args.broker, measure, title="agents")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--noop-worker":
        _noop_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
