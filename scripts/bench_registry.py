"""Benchmark: the schema registry's lookups/s and registrations/s on the embedded platform.

Baselines, measured in the same run on the same machine:
- lookups: a bare asyncio server that answers every request with one fixed response — the
  ceiling for any Python HTTP server here;
- registrations: acknowledged Kafka writes (acks=all, one at a time) into a compacted topic —
  the ceiling for a registry that stores each registration durably before answering.

Targets (2-core machines): >= 5,000 lookups/s with 2 connections, >= 500 registrations/s.

`--broker tansu|kafka|both` picks the broker under the registry (default tansu); with both, the
figures are printed side by side. The last line is JSON: `{broker: figures}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from multiprocessing import Process
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
import _brokers
import _loadgen

from streams.identity import read_credential

SCHEMAS = 500
WARM_UP = 300  # untimed registrations first: a fresh broker's JVM is slow until its JIT warms
CONNECTIONS = 2
LOOKUP_SECONDS = 4.0
TARGET_LOOKUPS = 5000
TARGET_REGISTRATIONS = 500
err = Console(stderr=True)


def play_event(n: int, *, evolved: bool) -> str:
    """A realistic record schema; the evolved form adds a field with a default (compatible)."""
    fields = [
        {"name": "event_id", "type": {"type": "string", "logicalType": "uuid"}, "doc": "Event id."},
        {"name": "user_id", "type": "string", "doc": "Listener.", "pii": "pseudonymize"},
        {"name": "track_id", "type": "string", "doc": "Track played."},
        {"name": "ms_played", "type": "long", "doc": "Milliseconds played."},
        {
            "name": "device",
            "type": {"type": "enum", "name": "Device", "symbols": ["IOS", "ANDROID", "WEB"]},
        },
        {"name": "country", "type": ["null", "string"], "default": None, "doc": "ISO country."},
        {"name": "event_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ]
    if evolved:
        fields.append({"name": "session_hint", "type": ["null", "string"], "default": None})
    return json.dumps(
        {"type": "record", "name": f"PlayEvent{n}", "namespace": "bench", "fields": fields}
    )


def _fixed_server(port: int) -> None:
    body = json.dumps({"schema": play_event(0, evolved=False)}).encode()
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (len(body), body)
    )

    class Fixed(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            for _ in range(data.count(b"\r\n\r\n")):
                self.transport.write(response)  # type: ignore[attr-defined]

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Fixed, "127.0.0.1", port)
        await server.serve_forever()

    asyncio.run(main())


def baseline_lookups(ids: list[int]) -> float:
    from streams.local._ports import find_free_port

    port = find_free_port("127.0.0.1")
    server = Process(target=_fixed_server, args=(port,), daemon=True)
    server.start()
    try:
        time.sleep(0.5)
        sets = [
            [_loadgen.get(f"/schemas/ids/{i}") for i in random.sample(ids, len(ids))]
            for _ in range(CONNECTIONS)
        ]
        return _loadgen.run(port, sets, seconds=LOOKUP_SECONDS)
    finally:
        server.kill()
        server.join()


def subject_targets(port: int, ids: list[int]) -> dict[int, str]:
    """``/schemas/ids/{id}?subject=...`` for each id, with a subject that holds the id."""
    conn = _loadgen.Connection("127.0.0.1", port)
    try:
        targets = {}
        for i in ids:
            _, body = conn.request(_loadgen.get(f"/schemas/ids/{i}/subjects"))
            targets[i] = f"/schemas/ids/{i}?subject={json.loads(body)[0]}"
        return targets
    finally:
        conn.close()


def baseline_writes(bootstrap: str, count: int) -> float:
    topic = f"_bench_baseline_{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1, config={"cleanup.policy": "compact"})])[
        topic
    ].result()
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 0}
    )
    producer.produce(topic, key=b"warm", value=b"{}")
    producer.flush()
    value = json.dumps({"schema": play_event(0, evolved=False)}).encode()
    started = time.perf_counter()
    for n in range(count):
        producer.produce(topic, key=b"k%d" % n, value=value)
        producer.flush()
    rate = count / (time.perf_counter() - started)
    admin.delete_topics([topic])
    return rate


def measure(kind: str) -> dict[str, object]:
    """All figures on a fresh platform whose broker is ``kind`` (tansu or kafka)."""
    with _brokers.platform(kind) as info:
        port = int(info.registry_url.rsplit(":", 1)[1])
        err.print(
            f"platform: {kind} {info.bootstrap_servers}, registry {info.registry_url} "
            f"(auth {'on' if info.auth else 'off'})"
        )
        if info.admin_credential is not None:  # every request authenticates, as clients do
            admin = read_credential(info.admin_credential)
            _loadgen.authorize(admin.name, admin.secret)
        # One write first: a fresh registry is elected writer on its first write (a group join,
        # ~3 s on Tansu), which is start-up, not registration throughput.
        warm_up = json.dumps({"schema": '"string"'}).encode()
        status, _ = _loadgen.Connection("127.0.0.1", port).request(
            _loadgen.post("/subjects/bench.warm-up-value/versions", warm_up)
        )
        assert status == 200, f"warm-up registration failed with HTTP {status}"
        # Then untimed registrations: Apache Kafka's JVM answers transactions several times
        # slower in its first seconds (JIT), which the baseline, measured last, would not see.
        _loadgen.run(
            port,
            [
                [
                    _loadgen.post(
                        f"/subjects/bench.warm{c}-{n}-value/versions",
                        json.dumps({"schema": play_event(10_000 + n, evolved=c == 1)}).encode(),
                    )
                    for n in range(WARM_UP // CONNECTIONS)
                ]
                for c in range(CONNECTIONS)
            ],
        )
        # Registrations: each connection registers v1 then v2 (compatible) of its own subjects.
        per_conn = SCHEMAS // CONNECTIONS // 2
        sets = []
        for c in range(CONNECTIONS):
            requests = []
            for s in range(per_conn):
                n = c * per_conn + s
                for evolved in (False, True):
                    body = json.dumps({"schema": play_event(n, evolved=evolved)}).encode()
                    requests.append(_loadgen.post(f"/subjects/bench.play{n}-value/versions", body))
            sets.append(requests)
        registrations = _loadgen.run(port, sets)
        ids = list(range(1, SCHEMAS + 1))
        lookups = _loadgen.run(
            port,
            [
                [_loadgen.get(f"/schemas/ids/{i}") for i in random.sample(ids, len(ids))]
                for _ in range(CONNECTIONS)
            ],
            seconds=LOOKUP_SECONDS,
        )
        # What confluent-kafka's AvroDeserializer asks: the id with the subject it reads from.
        targets = subject_targets(port, ids)
        subject_lookups = _loadgen.run(
            port,
            [
                [_loadgen.get(targets[i]) for i in random.sample(ids, len(ids))]
                for _ in range(CONNECTIONS)
            ],
            seconds=LOOKUP_SECONDS,
        )
        base_writes = baseline_writes(info.bootstrap_servers, 500)
    base_lookups = baseline_lookups(ids)

    figures: dict[str, object] = {
        "broker": kind,
        "lookups_per_s": round(lookups),
        "registrations_per_s": round(registrations),
        "baseline_fixed_response_per_s": round(base_lookups),
        "lookup_ratio": round(lookups / base_lookups, 3),
        "subject_lookups_per_s": round(subject_lookups),
        "subject_lookup_ratio": round(subject_lookups / base_lookups, 3),
        "baseline_kafka_acked_writes_per_s": round(base_writes),
        "registration_ratio": round(registrations / base_writes, 3),
        "schemas": SCHEMAS,
        "connections": CONNECTIONS,
        "auth": info.auth,
    }
    table = Table(title=f"schema registry on {kind} (2 connections, loopback)")
    for column in ("measure", "ours /s", "baseline /s", "ratio", "target /s", "met"):
        table.add_column(column)
    table.add_row(
        "GET /schemas/ids/{id}",
        f"{lookups:,.0f}",
        f"{base_lookups:,.0f} fixed-response server",
        f"{lookups / base_lookups:.2f}x",
        f"{TARGET_LOOKUPS:,}",
        str(lookups >= TARGET_LOOKUPS),
    )
    table.add_row(
        "GET /schemas/ids/{id}?subject=",
        f"{subject_lookups:,.0f}",
        f"{base_lookups:,.0f} fixed-response server",
        f"{subject_lookups / base_lookups:.2f}x",
        f"{TARGET_LOOKUPS:,}",
        str(subject_lookups >= TARGET_LOOKUPS),
    )
    table.add_row(
        "POST /subjects/{s}/versions",
        f"{registrations:,.0f}",
        f"{base_writes:,.0f} acked Kafka writes",
        f"{registrations / base_writes:.2f}x",
        f"{TARGET_REGISTRATIONS:,}",
        str(registrations >= TARGET_REGISTRATIONS),
    )
    Console(stderr=True).print(table)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _brokers.add_option(parser)
    args = parser.parse_args()
    _brokers.run(args.broker, measure, title="schema registry")


if __name__ == "__main__":
    main()
