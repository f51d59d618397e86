"""Benchmark: a product read into Arrow (``streams.query.read``) against plain decoding.

On the chosen broker (``--broker tansu|kafka|both``, default tansu), ``player.play_events`` is
published with ``apply`` and 100,000 PlayEvents are written to it (encoded once, produced raw).
Then, best of ``ROUNDS`` each, alternating:

- plain: a confluent-kafka consumer (``assign``, every partition from the beginning to its end)
  and fastavro's ``schemaless_reader`` to dicts with the pre-parsed writer schema: the least a
  reader can do;
- read: ``streams.query.read("player.play_events", since="all")``: the catalog looked up, the
  records read with the writer schemas from the registry (PII revealing and skip-and-count
  included), and the Arrow table built;
- sql: ``streams.query.sql`` grouping the same product by device (read + DuckDB).

Target: read >= 0.7x plain in rows/s. The last line is JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import fastavro
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from rich.console import Console

from streams.catalog import apply, load_product
from streams.kafka import SchemaSource
from streams.query import read, sql
from streams.serialization import AvroEncoder

sys.path.insert(0, str(Path(__file__).parent))
import _brokers
from bench_events import make_events

ROWS = 100_000
ROUNDS = 3
TARGET = 0.7
ROOT = Path(__file__).parents[1]
PRODUCT = "player.play_events"
TOPIC = f"{PRODUCT}.v1"
err = Console(stderr=True)


def publish(settings: Any, bootstrap: str) -> str:
    """Publish the product, write ``ROWS`` events; the writer schema's text."""
    apply([load_product(ROOT / "products/player/play_events.yaml", root=ROOT)], settings=settings)
    schemas = SchemaSource.from_settings(settings.registry)
    schema_id, text = schemas.latest(f"{TOPIC}-value")
    schemas.close()
    encoder = AvroEncoder(text, schema_id=schema_id)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for event in make_events(ROWS):
        producer.produce(TOPIC, value=encoder(event), key=event["user_id"].encode())
        producer.poll(0)
    assert producer.flush(60) == 0
    return text


def plain(bootstrap: str, text: str) -> int:
    """Consume the topic to its end and decode each value to a dict; how many were decoded."""
    parsed = fastavro.parse_schema(json.loads(text))
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-query-plain",
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 10,
        }
    )
    partitions = sorted(consumer.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions)
    consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in partitions])
    pending, rows = set(partitions), []
    try:
        while pending:
            for message in consumer.consume(5000, 0.2):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        pending.discard(message.partition())
                    continue
                stream = io.BytesIO(message.value())
                stream.seek(5)
                rows.append(fastavro.schemaless_reader(stream, parsed, None))
    finally:
        consumer.close()
    return len(rows)


def measure(kind: str) -> dict[str, Any]:
    with _brokers.platform(kind) as info:
        settings = info.client_settings()
        text = publish(settings, info.bootstrap_servers)
        best: dict[str, float] = {}
        counts: dict[str, int] = {}
        for _ in range(ROUNDS):
            for name in ("plain", "read", "sql"):
                start = time.perf_counter()
                if name == "plain":
                    counts[name] = plain(info.bootstrap_servers, text)
                elif name == "read":
                    counts[name] = read(PRODUCT, since="all", settings=settings).num_rows
                else:
                    found = sql(
                        f"SELECT device, count(*) AS plays FROM {PRODUCT} GROUP BY device",
                        since="all",
                        settings=settings,
                    )
                    counts[name] = sum(found.column("plays").to_pylist())
                elapsed = time.perf_counter() - start
                best[name] = max(best.get(name, 0.0), counts[name] / elapsed)
    assert counts == {"plain": ROWS, "read": ROWS, "sql": ROWS}, counts
    ratio = best["read"] / best["plain"]
    err.print(
        f"{kind}: {ROWS:,} PlayEvents, best of {ROUNDS}: plain decode {best['plain']:,.0f} "
        f"rows/s, read into Arrow {best['read']:,.0f} rows/s = {ratio:.2f}x plain "
        f"(target >= {TARGET}x), sql group-by {best['sql']:,.0f} rows/s",
        highlight=False,
    )
    return {
        "broker": kind,
        "rows": ROWS,
        "plain_decode_rows_per_s": round(best["plain"]),
        "read_rows_per_s": round(best["read"]),
        "sql_rows_per_s": round(best["sql"]),
        "read_ratio": round(ratio, 3),
        "target": TARGET,
        "ok": ratio >= TARGET,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _brokers.add_option(parser)
    args = parser.parse_args()
    _brokers.run(args.broker, measure, title="read into Arrow vs plain decode")


if __name__ == "__main__":
    main()
