"""The demo's events tour: the company's schemas, emit, validation, ownership, consume, DLQ."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Producer as RawProducer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from rich.console import Console

from streams.config import KafkaSettings, RegistrySettings, Settings
from streams.errors import OwnershipError, SerializationError
from streams.kafka import Consumer, Producer
from streams.local import PlatformInfo
from streams.naming import parse_product

ROOT = Path(__file__).resolve().parents[1]
out = Console()
err = Console(stderr=True)
# Until `mesh product apply` (descriptors) publishes products, the demo maps them by hand.
PRODUCTS = {
    "player.play_events": "schemas/player/PlayEvent.avsc",
    "listeners.registrations": "schemas/listeners/ListenerRegistered.avsc",
}


def step(title: str) -> None:
    out.rule(f"[bold cyan]{title}", align="left")


def play_event(rng: random.Random, n: int) -> dict[str, Any]:
    """A realistic PlayEvent as the player app would send it."""
    schema = json.loads((ROOT / PRODUCTS["player.play_events"]).read_text())
    event: dict[str, Any] = {}
    for field in schema["fields"]:
        kind = field["type"]
        if field["name"] in ("event_time",):
            event[field["name"]] = 1_795_000_000_000 + n * 1_000
        elif field["name"] == "ms_played":
            event[field["name"]] = rng.randrange(5_000, 300_000)
        elif field["name"] == "country":
            event[field["name"]] = rng.choice(["DE", "SE", "BR", "JP"])
        elif isinstance(kind, list):
            event[field["name"]] = None
        elif isinstance(kind, dict) and kind.get("type") == "enum":
            event[field["name"]] = rng.choice(kind["symbols"][1:])
        elif isinstance(kind, dict) and kind.get("logicalType") == "uuid":
            event[field["name"]] = str(uuid.UUID(int=rng.getrandbits(128)))
        elif kind == "boolean":
            event[field["name"]] = False
        elif kind in ("int", "long"):
            event[field["name"]] = rng.randrange(0, 100)
        else:
            event[field["name"]] = "demo"
    return event


def tour(info: PlatformInfo) -> bool:
    settings = Settings(
        kafka=KafkaSettings(bootstrap_servers=info.bootstrap_servers),
        registry=RegistrySettings(url=info.registry_url),
    )
    step("5. the music company's products: register their Avro schemas")
    admin = AdminClient({"bootstrap.servers": info.bootstrap_servers})
    with SchemaRegistryClient({"url": info.registry_url}) as registry:
        for product, path in PRODUCTS.items():
            ref = parse_product(product)
            admin.create_topics([NewTopic(ref.topic, 1, 1)])[ref.topic].result(10)
            schema_id = registry.register_schema(
                ref.subject, Schema((ROOT / path).read_text(), "AVRO")
            )
            out.print(f"{path} → subject [bold]{ref.subject}[/], id {schema_id}", highlight=False)

    step("6. the player domain emits PlayEvents (validated, Avro, Confluent framing)")
    rng = random.Random(42)
    events = [play_event(rng, n) for n in range(1_000)]
    with Producer(settings=settings, domain="player") as producer:
        for event in events:
            producer.emit("player.play_events", event, key=event["user_id"])
    out.print(f"emitted and flushed {producer.sent:,} events to player.play_events.v1")

    step("7. bad input is refused before anything is sent")
    with Producer(settings=settings, domain="player") as producer:
        try:
            producer.emit("player.play_events", {**events[0], "ms_played": "3 minutes"})
        except SerializationError as exc:
            out.print(f"[yellow]SerializationError:[/] {exc}", highlight=False)
        try:
            with Producer(settings=settings, domain="listeners") as intruder:
                intruder.emit("player.play_events", events[0])
        except OwnershipError as exc:
            out.print(f"[yellow]OwnershipError:[/] {exc}", highlight=False)

    step("8. a consumer reads by product name; undecodable messages go to the DLQ")
    topic = parse_product("player.play_events").topic
    raw = RawProducer({"bootstrap.servers": info.bootstrap_servers})
    raw.produce(topic, value=b'{"user_id": "not avro"}', key=b"legacy-app")
    raw.flush(10)
    raw.close()
    with Consumer(
        "player.play_events", group_id="demo-analytics", settings=settings, from_beginning=True
    ) as consumer:
        received: list[Any] = []
        for _ in range(40):
            received += consumer.consume(500, timeout=0.5)
            if len(received) + consumer.dead_letters.count > len(events):
                break
        consumer.commit()
        letters = consumer.dead_letters.count
    first = received[0]
    out.print(
        f"decoded {len(received):,} events (e.g. user {first.value['user_id']} played "
        f"{first.value['ms_played'] / 1000:.0f} s on {first.value['device']}); headers "
        f"{sorted(first.headers)}",
        highlight=False,
    )
    out.print(
        f"{letters} message moved to [bold]{topic}.dlq[/] with its error and origin; "
        "offsets committed (at least once)",
        highlight=False,
    )
    ok = len(received) == len(events) and letters == 1
    if not ok:
        err.print(f"[red]expected {len(events)} events and 1 dead letter")
    return ok
