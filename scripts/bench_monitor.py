"""Benchmark: events/s the guarantees monitor observes, against decode-only, on a real broker.

200,000 PlayEvents (Avro, 12 partitions) of ``player.play_events`` are written once and the
product is published in the catalog; then, on the same topic, each in its own child process
(so peak RSS is its own):
- decode-only: ``assign`` + ``consume(5000)`` + our writer-schema decoder (no logical types,
  as the monitor decodes), nothing else;
- monitor: ``streams.guarantees.runner.Monitor`` watching only that product (consume, decode,
  every measure, lag samples), timed from start until it has observed every event, then one
  publish (judging, observations, checkpoint) timed apart.
Target (issue 10): monitor >= 0.5x decode-only, so measuring never becomes the bottleneck.
The last line is one JSON object with ``monitor_per_s``, ``decode_per_s``, ``monitor_ratio``
and the peak RSS of each.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from confluent_kafka import Producer as RawProducer
from confluent_kafka.schema_registry import SchemaRegistryClient
from rich.console import Console

sys.path.insert(0, str(Path(__file__).parent))
import _brokers
from bench_events import ROOT, make_events

from streams.catalog import apply, load_product
from streams.config import KafkaSettings, RegistrySettings, Settings
from streams.guarantees.runner import Monitor
from streams.guarantees.watched import MonitorOptions
from streams.kafka import SchemaSource
from streams.kafka.decoders import WriterDecoders
from streams.serialization import AvroEncoder

TARGET = 0.5
PARTITIONS = 12
err = Console(stderr=True)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _decode_only(settings: Settings, topic: str, total: int, out: Any) -> None:
    consumer = Consumer(
        settings.kafka.librdkafka(
            group_id=f"bench-{uuid.uuid4().hex[:6]}",
            enable_auto_commit=False,
            enable_partition_eof=True,
        )
    )
    schemas = SchemaSource.from_settings(settings.registry)
    decode = WriterDecoders(schemas).decode
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    seen, started = 0, time.perf_counter()
    while seen < total:
        for message in consumer.consume(5000, 0.5):
            error = message.error()
            if error is None:
                decode(message.value())
                seen += 1
            elif error.code() != KafkaError._PARTITION_EOF:
                raise RuntimeError(error.str())
    seconds = time.perf_counter() - started
    consumer.close()
    schemas.close()
    out.put({"decode_per_s": round(total / seconds), "decode_rss_mb": round(_peak_rss_mb(), 1)})


def _monitor(settings: Settings, topic: str, total: int, out: Any) -> None:
    suffix = uuid.uuid4().hex[:8]
    options = MonitorOptions(
        publish_every_s=3600,
        catalog_every_s=3600,
        only=frozenset({topic}),
        state_topic=f"_mesh.bench.state.{suffix}",
        observations_topic=f"_mesh.bench.observations.{suffix}",
        alerts_topic=f"_mesh.bench.alerts.{suffix}",
    )
    monitor = Monitor(settings=settings, options=options)
    try:
        monitor.start()  # topics, checkpoints, catalog: once per process, not per event
        started = time.perf_counter()
        while monitor.events < total:
            monitor.step(0.5)
        seconds = time.perf_counter() - started
        began = time.perf_counter()
        published = monitor.publish()
        publish_s = time.perf_counter() - began
    finally:
        monitor.close()
    volume = next(o for o in published if o.guarantee == "volume")
    out.put(
        {
            "monitor_per_s": round(total / seconds),
            "monitor_publish_s": round(publish_s, 3),
            "monitor_rss_mb": round(_peak_rss_mb(), 1),
            "monitor_volume": volume.observed,
        }
    )


def _child(target: Any, *args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    try:
        figures: dict[str, Any] = queue.get(timeout=600)
    finally:
        process.join(60)
        if process.is_alive():
            process.kill()
    return figures


def _setup(settings: Settings, events: list[dict[str, Any]]) -> str:
    """The product in the catalog, its topic and schema, the events written; its topic."""
    loaded = load_product(ROOT / "products/player/play_events.yaml", root=ROOT)
    product = loaded.product
    apply([loaded], settings=settings)  # what `mesh product apply` does: topic, schema, entry
    text = loaded.schema_text
    with SchemaRegistryClient(settings.registry.client_conf()) as registry:
        schema_id = registry.get_latest_version(product.ref.subject).schema_id
    encode = AvroEncoder(text, schema_id=schema_id)
    producer = RawProducer({"bootstrap.servers": settings.kafka.bootstrap_servers, "linger.ms": 20})
    now = int(time.time() * 1000)
    for n, event in enumerate(events):
        event = {**event, "event_time": now - 1000 + n % 1000}
        while True:
            try:
                producer.produce(product.topic, encode(event), str(event["user_id"]).encode())
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(60)
    return product.topic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    _brokers.add_option(parser)
    args = parser.parse_args()
    events = make_events(args.events)

    def measure(kind: str) -> dict[str, Any]:
        with _brokers.platform(kind) as info:
            settings = Settings(
                kafka=KafkaSettings(bootstrap_servers=info.bootstrap_servers),
                registry=RegistrySettings(url=info.registry_url),
            )
            err.print(f"[{kind}] producing {len(events):,} PlayEvents...")
            topic = _setup(settings, events)
            err.print(f"[{kind}] decode-only...")
            figures: dict[str, Any] = {"broker": kind, "events": len(events)}
            figures.update(_child(_decode_only, settings, topic, len(events)))
            err.print(f"[{kind}] monitor...")
            figures.update(_child(_monitor, settings, topic, len(events)))
        ratio = figures["monitor_per_s"] / figures["decode_per_s"]
        figures["monitor_ratio"] = round(ratio, 2)
        figures["monitor_target_met"] = ratio >= TARGET
        figures["monitor_counted_all"] = figures["monitor_volume"] == len(events)
        err.print(figures)
        return figures

    _brokers.run(args.broker, measure, title="monitor")


if __name__ == "__main__":
    main()
