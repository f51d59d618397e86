"""The demo's events tour: the company's schemas, emit, validation, ownership, consume, DLQ."""

from __future__ import annotations

import datetime
import json
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Producer as RawProducer
from rich.console import Console

from streams.catalog import Catalog, CatalogStore
from streams.errors import OwnershipError, SerializationError
from streams.kafka import Consumer, Producer, SchemaSource
from streams.local import PlatformInfo
from streams.naming import parse_product
from streams.serialization import AvroEncoder

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


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a `mesh` command as a person would, on a terminal as wide as the demo's."""
    env = {**os.environ, "COLUMNS": str(out.width)}
    return subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=120, env=env
    )


def tour(info: PlatformInfo) -> bool:
    settings = info.client_settings()
    step("5. self-serve: `mesh product apply` publishes every product in products/")
    mesh = str(Path(sys.executable).parent / "mesh")
    where = ["--bootstrap-servers", info.bootstrap_servers, "--registry-url", info.registry_url]
    out.print("$ mesh product apply --output json", highlight=False)
    applied = run([mesh, "product", "apply", "--output", "json", *where])
    made = json.loads(applied.stdout or "[]")
    for product in sorted({change["product"] for change in made}):
        actions = [c["action"] for c in made if c["product"] == product]
        out.print(f"  {product:34} {', '.join(dict.fromkeys(actions))}", highlight=False)
    out.print(f"  {len(made)} changes: topics + DLQs, compatibility levels, schemas, catalog")
    out.print("$ mesh product plan --output json   # applying again would change nothing")
    again = run([mesh, "product", "plan", "--output", "json", *where])
    out.print(again.stdout.strip(), highlight=False)
    out.print("$ mesh product list --domain player", highlight=False)
    listed = run([mesh, "product", "list", "--domain", "player", *where])
    out.file.write(listed.stdout)  # already laid out by `mesh` at this width
    if applied.returncode or again.stdout.strip() != "[]" or listed.returncode:
        err.print(f"[red]apply/plan/list failed:[/] {applied.stderr}{again.stderr}{listed.stderr}")
        return False

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
        try:  # a naive datetime would be encoded in this machine's time zone: refused
            naive = datetime.datetime(2026, 11, 24, 8, 0)
            producer.emit("player.play_events", {**events[0].model_dump(), "event_time": naive})
        except SerializationError as exc:
            out.print(f"[yellow]SerializationError:[/] {exc}", highlight=False)
        try:
            with Producer(settings=settings, domain="listeners") as intruder:
                intruder.emit("player.play_events", events[0])
        except OwnershipError as exc:
            out.print(f"[yellow]OwnershipError:[/] {exc}", highlight=False)

    step("8. a consumer finds the product in the catalog; undecodable messages go to the DLQ")
    with CatalogStore(settings=settings) as store:
        catalog = Catalog(store.read())
    topic = parse_product("player.play_events").topic
    raw = RawProducer({"bootstrap.servers": info.bootstrap_servers})
    raw.produce(topic, value=b'{"user_id": "not avro"}', key=b"legacy-app")
    source = SchemaSource.from_settings(settings.registry)
    schema_id, schema = source.latest(parse_product("player.play_events").subject)
    source.close()
    good = AvroEncoder(schema, schema_id=schema_id)(events[0].model_dump())
    raw.produce(topic, value=good + b"junk", key=b"buggy-framing")  # a valid event, then junk
    raw.flush(10)
    raw.close()
    with Consumer(
        "player.play_events",
        group_id="demo-analytics",
        settings=settings,
        from_beginning=True,
        model=PlayEvent,
        directory=catalog,  # resolves the name via _mesh.products; warns if deprecated
    ) as consumer:
        received: list[Any] = []
        for _ in range(40):
            received += consumer.consume(500, timeout=0.5)
            if len(received) + consumer.dead_letters.count > len(events):
                break
        consumer.commit()
        letters = consumer.dead_letters.count
        reasons = dict(consumer.dead_letters.counts)
    first = received[0]
    out.print(
        f"decoded {len(received):,} events into PlayEvent models (e.g. user "
        f"{first.value.user_id} played {first.value.ms_played / 1000:.0f} s on "
        f"{first.value.device.value}); headers {sorted(first.headers)}",
        highlight=False,
    )
    out.print(
        f"{letters} messages moved to [bold]{topic}.dlq[/] with their error and origin "
        f"({', '.join(f'{n} {reason}' for reason, n in sorted(reasons.items()))}); "
        "offsets committed (at least once)",
        highlight=False,
    )
    ok = len(received) == len(events) and letters == 2
    if not ok:
        err.print(f"[red]expected {len(events)} events and 2 dead letters")
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
