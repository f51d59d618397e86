"""The demo's events tour: the company's schemas, emit, validation, ownership, consume, DLQ."""

from __future__ import annotations

import datetime
import json
import random
import subprocess
import sys
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from products.player.events import (
    Device,
    PlayContextType,
    PlayEndReason,
    PlayEvent,
)

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


def play_event(rng: random.Random, n: int) -> PlayEvent:
    """A PlayEvent as the player app would send it, typed by the model `mesh codegen` made."""
    return PlayEvent(
        event_id=uuid.UUID(int=rng.getrandbits(128)),
        event_time=datetime.datetime(2026, 11, 24, 8, 0, tzinfo=datetime.UTC)
        + datetime.timedelta(seconds=n),
        user_id=uuid.UUID(int=rng.getrandbits(128) % 50),
        track_id=uuid.UUID(int=rng.getrandbits(128)),
        device=rng.choice([Device.IOS, Device.ANDROID, Device.WEB]),
        country=rng.choice(["DE", "SE", "BR", "JP"]),
        ms_played=rng.randrange(5_000, 300_000),
        context_type=PlayContextType.PLAYLIST,
        end_reason=PlayEndReason.TRACK_DONE,
        app_version="8.9.2",
    )


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
            producer.emit("player.play_events", event, key=str(event.user_id))
    out.print(f"emitted and flushed {producer.sent:,} events to player.play_events.v1")

    step("7. bad input is refused before anything is sent")
    with Producer(settings=settings, domain="player") as producer:
        try:
            producer.emit(
                "player.play_events", {**events[0].model_dump(), "ms_played": "3 minutes"}
            )
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
        "player.play_events",
        group_id="demo-analytics",
        settings=settings,
        from_beginning=True,
        model=PlayEvent,
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
        f"decoded {len(received):,} events into PlayEvent models (e.g. user "
        f"{first.value.user_id} played {first.value.ms_played / 1000:.0f} s on "
        f"{first.value.device.value}); headers {sorted(first.headers)}",
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
        return False
    return shell(info)


def shell(info: PlatformInfo) -> bool:
    """The same from a shell: JSON lines in, JSON lines out."""
    step("9. from a shell: mesh produce / mesh tail")
    mesh = str(Path(sys.executable).parent / "mesh")
    where = ["--bootstrap-servers", info.bootstrap_servers, "--registry-url", info.registry_url]
    registration = {
        "event_id": "6f1c2a4e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
        "event_time": 1_795_000_000_000,
        "user_id": "0b8e4c1a-2d3f-4a5b-8c6d-7e8f9a0b1c2d",
        "email": "ada@example.com",
        "display_name": "Ada",
        "country": "SE",
        "region": "EUROPE",
        "age_band": "AGE_25_34",
        "plan": "PREMIUM",
    }
    line = json.dumps(registration)
    out.print(f"$ echo '{line[:60]}…' | mesh produce listeners.registrations", highlight=False)
    sent = subprocess.run(
        [mesh, "produce", "listeners.registrations", *where],
        input=line + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    out.print(sent.stderr.strip() or sent.stdout.strip(), highlight=False)
    out.print("$ mesh tail listeners.registrations --from-beginning --max 1", highlight=False)
    shown = subprocess.run(
        [mesh, "tail", "listeners.registrations", "--from-beginning", "--max", "1", *where],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    out.print(shown.stdout.strip() or shown.stderr.strip(), highlight=False)
    return sent.returncode == 0 and shown.returncode == 0
