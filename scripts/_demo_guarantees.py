"""The demo's guarantees tour: the monitor `mesh up` started measures player.play_events; a
burst of invalid plays breaches validity, and the product recovers once they leave the window.

The demo's platform runs its monitor with a 5 s window and publishes every second
(``STREAMS_MONITOR__*``, see ``MONITOR_ENV``), so a breach and its recovery take seconds, not
the default five minutes.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Producer as KafkaProducer
from rich.console import Console

from streams.config import Settings
from streams.guarantees import alerts, observations
from streams.kafka import Producer
from streams.kafka.schemas import SchemaSource
from streams.local import PlatformInfo
from streams.serialization import AvroEncoder

WINDOW_S = 5
AGGREGATE = "player.hourly_play_sessions"
MONITOR_ENV = {
    "STREAMS_MONITOR__WINDOW_S": str(WINDOW_S),
    "STREAMS_MONITOR__PUBLISH_EVERY_S": "1",
    "STREAMS_MONITOR__CATALOG_EVERY_S": "1",
    "STREAMS_MONITOR__WINDOW_GRACE_S": "2",
}
PRODUCT = "player.play_events"
TOPIC = f"{PRODUCT}.v1"
out = Console()
err = Console(stderr=True)


def step(title: str) -> None:
    out.rule(f"[bold cyan]{title}", align="left")


def _play(n: int, *, invalid: bool = False) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "event_time": datetime.datetime.now(datetime.UTC),
        "user_id": uuid.UUID(int=n % 7),
        "track_id": uuid.uuid4(),
        "device": "IOS",
        "country": "DE",
        "ms_played": -5 if invalid else 120_000,  # the descriptor's range rule: 0..86400000
        "context_type": "PLAYLIST",
        "context_id": None,
        "end_reason": "TRACK_DONE",
        "offline": False,
        "app_version": "8.9.2",
        "session_hint": None,
    }


def _legacy(settings: Settings) -> tuple[KafkaProducer, AvroEncoder]:
    """A producer outside the library (a legacy service): it writes the registered schema's
    wire format but knows nothing of the quality rules that `emit` enforces."""
    schema_id, schema = SchemaSource.from_settings(settings.registry).latest(f"{TOPIC}-value")
    encoder = AvroEncoder(schema, schema_id=schema_id, product=PRODUCT)
    return KafkaProducer(settings.kafka.librdkafka()), encoder


def _plays(settings: Settings, seconds: float, *, invalid_every: int = 0) -> int:
    """Fresh plays, 40 a second, for ``seconds``; every ``invalid_every``-th one invalid (from
    the legacy producer: `emit` refuses an event that breaks the rules)."""
    sent = 0
    legacy, encode = _legacy(settings)
    with Producer(settings=settings, domain="player") as producer:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            for _ in range(4):
                invalid = bool(invalid_every) and sent % invalid_every == 0
                event = _play(sent, invalid=invalid)
                if invalid:
                    legacy.produce(TOPIC, encode(event), str(event["user_id"]).encode())
                else:
                    producer.emit(PRODUCT, event, key=str(event["user_id"]))
                sent += 1
            producer.flush()
            legacy.flush(10)
            time.sleep(0.1)
    return sent


def _producing(
    settings: Settings, *, invalid_every: int
) -> tuple[threading.Event, threading.Thread]:
    """Go on producing plays in the background until the event is set, so the window the
    monitor judges keeps this phase's plays while the commands run."""
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            _plays(settings, 0.5, invalid_every=invalid_every)

    thread = threading.Thread(target=run, name="demo-plays", daemon=True)
    thread.start()
    return stop, thread


def _state(settings: Settings, guarantee: str, after_ms: int) -> str | None:
    """The state of ``guarantee`` in an observation measured after ``after_ms``, if any yet."""
    found = [
        o
        for o in observations(PRODUCT, settings=settings)
        if o.guarantee == guarantee and o.measured_at_ms > after_ms
    ]
    return found[0].state if found else None


def _wait_for(settings: Settings, guarantee: str, state: str, *, invalid_every: int) -> bool:
    """Keep producing until ``guarantee`` of player.play_events is ``state`` in a window that
    only holds plays of this phase (30 s at most)."""
    after_ms = int(time.time() * 1000) + WINDOW_S * 1000  # the window forgets what was before
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _plays(settings, 1.0, invalid_every=invalid_every)
        if _state(settings, guarantee, after_ms) == state:
            return True
    err.print(f"[red]{PRODUCT} {guarantee} did not become {state} within 30 s")
    return False


def _guarantees(mesh: str, where: list[str]) -> int:
    out.print(f"$ mesh guarantees {PRODUCT}", highlight=False)
    env = {**os.environ, "COLUMNS": str(out.width)}
    shown = subprocess.run(
        [mesh, "guarantees", PRODUCT, *where[:2]],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=env,
    )
    out.file.write(shown.stdout)
    out.print(f"(exit {shown.returncode}: 1 when a guarantee is breached)")
    return shown.returncode


def _product_show(mesh: str, where: list[str]) -> bool:
    """``mesh product show``'s guarantees part (the descriptor and schema come before it)."""
    out.print(f"$ mesh product show {PRODUCT}   (its end: the guarantees)", highlight=False)
    env = {**os.environ, "COLUMNS": str(out.width)}
    shown = subprocess.run(
        [mesh, "product", "show", PRODUCT, *where[:2]],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=env,
    )
    lines = shown.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("observed")), None)
    if shown.returncode != 0 or start is None:
        err.print(f"[red]mesh product show {PRODUCT} failed:\n{shown.stdout}{shown.stderr}")
        return False
    out.file.write("\n".join(lines[start:]) + "\n")
    out.print("(a sparkline per guarantee: its last 24 closed hours; a young platform has few)")
    return True


def _aggregate(settings: Settings) -> bool:
    """The aggregate's completeness now that its agent is stopped (step 11) and fresh plays
    moved the inputs' event time past the demo's hours: the hours that became due since were
    not emitted, and the monitor says so, naming them."""
    out.print(
        f"and {AGGREGATE}? Its agent was stopped in step 11; the fresh plays moved its "
        "input's time past the demo's hours:"
    )
    deadline, seen = time.monotonic() + 30, None
    while time.monotonic() < deadline:
        found = [
            o
            for o in observations(AGGREGATE, settings=settings)
            if o.guarantee == "completeness" and o.details.get("measure") == "windows"
        ]
        seen = found[0] if found else None
        if seen is not None and seen.state == "breached":
            break
        time.sleep(0.5)
    if seen is None or seen.state != "breached":
        err.print(f"[red]{AGGREGATE}: completeness did not breach within 30 s: {seen}")
        return False
    missing = seen.details.get("missing")
    example = missing[0] if isinstance(missing, list) and missing else {}
    hour = example.get("window_start_ms") if isinstance(example, dict) else None
    when = (
        datetime.datetime.fromtimestamp(hour / 1000, datetime.UTC).strftime("%Y-%m-%dT%H:%MZ")
        if isinstance(hour, int)
        else "?"
    )
    out.print(
        f"  completeness {seen.state}: {seen.details.get('emitted')} of the "
        f"{seen.details.get('expected')} (listener, hour) pairs due were emitted final "
        f"(promised >= {seen.promised}); missing e.g. {when}. Starting the agent again "
        f"(`mesh agent run {AGGREGATE}`) emits them, and it is met again.",
        highlight=False,
    )
    return True


def tour(info: PlatformInfo) -> bool:
    settings = info.client_settings()
    mesh = str(Path(sys.executable).parent / "mesh")
    where = ["--bootstrap-servers", info.bootstrap_servers, "--registry-url", info.registry_url]
    began = datetime.datetime.now(datetime.UTC)

    step("13. guarantees, measured continuously: the monitor `mesh up` started")
    out.print(
        f"fresh, valid plays for a while (the demo's monitor judges a {WINDOW_S} s window; "
        "the default is 5 minutes)"
    )
    if not _wait_for(settings, "validity", "met", invalid_every=0):
        return False
    # Validity is met; its exit status is not asserted: `usage` (the consumer groups' lag) may
    # already be breached, since step 11 stopped the agent's group (after 1 minute it is).
    _guarantees(mesh, where)

    out.print(
        "now a legacy producer (outside the library, which would refuse them) writes one play in"
        " ten with ms_played = -5, outside the descriptor's range rule"
    )
    if not _wait_for(settings, "validity", "breached", invalid_every=10):
        return False
    # The legacy producer goes on while the commands read: a window left empty meanwhile would
    # be judged "at risk" (no events to tell) instead of breached.
    stop, producing = _producing(settings, invalid_every=10)
    try:
        shown = _guarantees(mesh, where) == 1 and _product_show(mesh, where)
    finally:
        stop.set()
        producing.join()
    if not shown:
        return False

    out.print("valid plays again: once the invalid ones leave the window, validity is met")
    if not _wait_for(settings, "validity", "met", invalid_every=0):
        return False
    _guarantees(mesh, where)
    if not _aggregate(settings):
        return False
    out.print("the alerts on _mesh.alerts (streams.guarantees.alerts):")
    for alert in alerts(settings=settings, since=began):
        if alert.product == PRODUCT and alert.guarantee == "validity":
            out.print(
                f"  {alert.guarantee}: {alert.previous} -> {alert.state} "
                f"(promised {alert.promised}, observed {alert.observed})",
                highlight=False,
            )
    return True
