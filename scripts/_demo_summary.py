"""The live demo's ending: what was sent, the catalog, the guarantees with the injected defects
as breaches, the dead letters, the lineage of the aggregate, a Confluent client reading a
product, and where to look next."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _demo_steps import Mesh, err, out, step
from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from rich.table import Table

from streams.config import Settings
from streams.guarantees import Observation, observations
from streams.local import PlatformInfo

# Each defect the simulators inject, and the guarantee it must breach.
EXPECTED_BREACHES = {
    "late plays": ("player.play_events", "completeness"),
    "duplicate plays": ("player.play_events", "duplicates"),
    "invalid plays (legacy producer)": ("player.play_events", "validity"),
    "undecodable records (legacy JSON app)": ("player.play_events", "dead_letters"),
    "duplicate registrations": ("listeners.registrations", "duplicates"),
}


def sent(counts: Counter[str], defects: Counter[str]) -> None:
    out.print("what the company sent, through Producer.emit (the history included):")
    table = Table()
    table.add_column("product")
    table.add_column("events", justify="right")
    for product, count in sorted(counts.items()):
        table.add_row(product, f"{count:,}")
    out.print(table)
    out.print(
        "defects on purpose: " + ", ".join(f"{n} {kind}" for kind, n in sorted(defects.items())),
        highlight=False,
    )


def _describe(found: Observation) -> str:
    def shown(value: float | None) -> str:
        if value is None:
            return "-"
        return f"{value:.1%}" if found.unit == "share" else f"{value:g} {found.unit}"

    return f"observed {shown(found.observed)}, promised {shown(found.promised)}"


def breaches(settings: Settings, defects: Counter[str], *, wait_s: float = 20.0) -> bool:
    """Whether each injected defect shows as a breach of its guarantee (the monitor publishes
    every second; the first observations after a burst may lag, so wait a little)."""
    expected = {EXPECTED_BREACHES[kind]: kind for kind in defects if kind in EXPECTED_BREACHES}
    deadline = time.monotonic() + wait_s
    while True:
        found = {(o.product, o.guarantee): o for o in observations(settings=settings)}
        missing = [k for k in expected if k not in found or found[k].state != "breached"]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    out.print("the injected defects, as the monitor sees them:")
    for (product, guarantee), kind in sorted(expected.items(), key=lambda item: item[1]):
        seen = found.get((product, guarantee))
        state = seen.state if seen else "not observed"
        mark = "[green]✓[/]" if state == "breached" else "[red]✗[/]"
        detail = f" ({_describe(seen)})" if seen else ""
        out.print(f"  {mark} {kind:40} → {product} {guarantee} {state}{detail}", highlight=False)
    out.print(
        "  (player.hourly_play_sessions.v2 holds yesterday's hours, just backfilled: freshness, "
        "latency and completeness judge event time, so a backfill looks late until live data "
        "reaches it; an invalid play of -5 ms also makes its hour's session break the "
        "aggregate's rules, and the agent dead-letters that session)",
        highlight=False,
    )
    if missing:
        err.print(f"[red]not visible as breaches:[/] {missing}", highlight=False)
    return not missing


def dead_letters(letters: list[dict[str, Any]]) -> None:
    """What ``mesh dlq show --output json`` found: counts by reason, and the first letter."""
    reasons = Counter(str(letter["reason"]) for letter in letters)
    out.print(
        f"  {len(letters)} dead letters: "
        + ", ".join(f"{n} {reason}" for reason, n in reasons.most_common()),
        highlight=False,
    )
    if letters:
        first, origin = letters[0], letters[0]["original"]
        out.print(
            f"  e.g. {origin['topic']}[{origin['partition']}]@{origin['offset']}: "
            f"value {first['value']!r}\n  error: {first['error']}\n"
            "  (`mesh dlq show` shows each in full; `mesh dlq redrive` sends back what decodes)",
            highlight=False,
        )


def _read(info: PlatformInfo, topic: str, count: int) -> list[dict[str, Any]]:
    """The first ``count`` decodable records of ``topic``'s partition 0, read by a plain
    confluent-kafka consumer with Confluent's AvroDeserializer (the legacy app's junk skipped)."""
    deserialize = AvroDeserializer(SchemaRegistryClient(info.registry_conf()))
    conf = {**info.client_settings().kafka.librdkafka(), "group.id": "demo-confluent"}
    consumer = Consumer({**conf, "enable.auto.commit": False})
    read: list[dict[str, Any]] = []
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + 10
        while len(read) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                if message is not None and message.error().code() != KafkaError._PARTITION_EOF:
                    err.print(f"[red]{message.error()}")
                continue
            try:
                ctx = SerializationContext(topic, MessageField.VALUE)
                read.append(deserialize(message.value(), ctx))
            except Exception:
                continue
    finally:
        consumer.close()
    return read


def confluent_reads(info: PlatformInfo) -> bool:
    """Any Confluent client reads the products (Confluent wire format, Confluent's registry
    API), and personal data stays protected from it: ``emit`` encrypted the e-mail addresses
    and pseudonymized the user ids the schemas mark as ``pii``."""
    step("any Confluent client reads the products: confluent-kafka's own AvroDeserializer")
    plays = _read(info, "player.play_events.v1", 3)
    for event in plays:
        out.print(
            f"  {event['event_time']:%Y-%m-%d %H:%M:%S} user …{str(event['user_id'])[-8:]} "
            f"played {event['ms_played'] / 1000:.0f} s on {event['device']} "
            f"({event['end_reason']})",
            highlight=False,
        )
    (signup,) = _read(info, "listeners.registrations.v1", 1) or [None]
    if signup is not None:
        email = str(signup["email"])
        out.print(
            f"  listeners.registrations: email {email[:40]}{'…' if len(email) > 40 else ''} "
            f"(encrypted by emit; `mesh tail` as the listeners domain, or with a grant, shows "
            "it: see scripts/demo --tour)",
            highlight=False,
        )
    return len(plays) == 3 and signup is not None and "@example.com" not in str(signup["email"])


def web_catalog(info: PlatformInfo, *, keep: bool) -> None:
    """The web catalog's address (``mesh up`` and the demo start it with the platform)."""
    if not info.web_url:
        return
    until = "" if keep else "; it stops with the demo: scripts/demo --keep leaves it up"
    out.print(
        f"web catalog: [bold]{info.web_url}[/] (products, guarantees, lineage{until})",
        highlight=False,
    )


QUERY = (
    "SELECT window_start AS hour, count(*) AS listeners, sum(plays) AS plays "
    "FROM player.hourly_play_sessions GROUP BY 1 ORDER BY 1"
)


def query(mesh: Mesh) -> bool:
    """A ``mesh query`` over the backfilled aggregate: yesterday's daily curve, from
    ``player.hourly_play_sessions`` (its newest active version, v2, the backfill)."""
    step("SQL over products: `mesh query`")
    # The platform's addresses and the admin's credential come from the environment demo.py
    # set (STREAMS_KAFKA__BOOTSTRAP_SERVERS, STREAMS_REGISTRY__URL, STREAMS_IDENTITY__FILE).
    done = mesh.run(f'mesh query "{QUERY}"', ["query", QUERY], where="none")
    return done.returncode == 0


def look_next(info: PlatformInfo, *, keep: bool) -> None:
    step("where to look next")
    state = info.state_dir.absolute()
    state = state.relative_to(Path.cwd()) if state.is_relative_to(Path.cwd()) else state
    env = f"STREAMS_LOCAL__STATE_DIR={state}"
    lines = [
        "scripts/demo --tour        the fifteen-step tour: registry evolution and refusal, "
        "Confluent interop, DLQ, `mesh product new`, access, PII, forget, a forged entry",
        "scripts/demo --minutes 10  the company for longer (Ctrl-C stops it cleanly)",
        "README.md                  the principles, a 10-minute tutorial, the descriptor reference",
    ]
    if keep:
        lines += [
            f"{env} .venv/bin/mesh guarantees --watch",
            f"{env} .venv/bin/mesh product show player.play_events",
            f"{env} .venv/bin/mesh tail player.hourly_play_sessions --from-beginning --max 5",
            f"{env} .venv/bin/mesh lineage player.hourly_play_sessions.v2",
        ]
    for line in lines:
        out.print(f"  {line}", highlight=False)
    web_catalog(info, keep=keep)
    if keep:
        out.print(
            f"\nthe platform keeps running (broker {info.bootstrap_servers}, registry "
            f"{info.registry_url}); stop it with:\n  .venv/bin/mesh down --state-dir {state}",
            highlight=False,
        )


def pids(info: PlatformInfo) -> Sequence[int]:
    """The platform's processes, as recorded when it started."""
    started = (info.broker_pid, info.registry_pid, info.monitor_pid, info.web_pid)
    return [pid for pid in started if pid is not None]
