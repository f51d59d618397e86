"""The worked example, products/player/hourly_play_sessions.py, on real decoded PlayEvents."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from streams.agents.definition import Tumbling, Window, load_definition
from streams.agents.engine import InputRecord, Task
from streams.agents.state import decode_checkpoint, encode_checkpoint
from streams.serialization.avro import AvroDecoder, AvroEncoder

ROOT = Path(__file__).parents[2]
PLAY = (ROOT / "schemas/player/PlayEvent.avsc").read_text()
SESSION = (ROOT / "schemas/player/HourlyPlaySession.avsc").read_text()
HOUR = 3_600_000
START = 1_780_000_000_000 // HOUR * HOUR
DEVICES = ["IOS", "ANDROID", "WEB", "CAR"]
REASONS = ["TRACK_DONE", "SKIPPED_FORWARD", "SKIPPED_BACKWARD", "STOPPED", "APP_CLOSED"]


def play_events(rng: random.Random, count: int) -> list[dict[str, Any]]:
    users = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(5)]
    tracks = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(8)]
    return [
        {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "event_time": START + rng.randrange(6 * HOUR),
            "user_id": rng.choice(users),
            "track_id": rng.choice(tracks),
            "device": rng.choice(DEVICES),
            "country": "DE",
            "ms_played": rng.choice([0, 1000, 30_000, 200_000]),
            "context_type": "PLAYLIST",
            "context_id": None,
            "end_reason": rng.choice(REASONS),
            "offline": rng.random() < 0.2,
            "app_version": "8.9.12",
            "session_hint": None,
        }
        for _ in range(count)
    ]


def expected(events: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """Straight from the HourlyPlaySession field docs, one bucket per user and hour."""
    buckets: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for event in events:
        start = event["event_time"] // HOUR * HOUR
        buckets.setdefault((event["user_id"], start), []).append(event)
    found = {}
    symbols = ["UNKNOWN", "IOS", "ANDROID", "WEB", "DESKTOP", "SMART_SPEAKER", "CAR"]
    for (user, start), plays in buckets.items():
        per_device = {d: sum(p["ms_played"] for p in plays if p["device"] == d) for d in symbols}
        best = max(per_device.values())
        found[(user, start)] = {
            "window_start": start,
            "window_end": start + HOUR,
            "event_time": max(p["event_time"] for p in plays),
            "user_id": user,
            "plays": len(plays),
            "skips": sum(p["end_reason"].startswith("SKIPPED") for p in plays),
            "total_ms_played": sum(p["ms_played"] for p in plays),
            "distinct_tracks": len({p["track_id"] for p in plays}),
            "offline_plays": sum(p["offline"] for p in plays),
            "device": next(
                d for d in symbols if per_device[d] == best and any(p["device"] == d for p in plays)
            ),
            "final": True,
        }
    return found


def test_the_example_computes_every_field_of_hourly_play_sessions() -> None:
    product = load_definition(ROOT / "products/player/hourly_play_sessions.py")
    assert product.window == Tumbling(timedelta(hours=1))
    assert product.allowed_lateness == timedelta(hours=1)  # latency 2h: 1h window + 1h grace
    rng = random.Random(9)
    events = sorted(play_events(rng, 600), key=lambda e: e["event_time"])
    # Out of order, but never by more than the grace period: nothing is late.
    arrival = sorted(events, key=lambda e: e["event_time"] + rng.randrange(HOUR))
    encode, decode = AvroEncoder(PLAY, schema_id=1), AvroDecoder(PLAY, schema_id=1)
    records = [
        InputRecord(
            "player.play_events.v1",
            4,
            offset,
            0,
            str(event["user_id"]).encode(),
            decode(encode(event)),
        )
        for offset, event in enumerate(arrival)
    ]
    task = Task(product, partition=4, clock=lambda: 0.0)
    finals = {}
    output = AvroEncoder(SESSION, schema_id=2, product="player.hourly_play_sessions")
    for index in range(0, len(records), 97):
        step = task.process(records[index : index + 97])
        assert step.late == []
        for update in step.updates:
            output(update.value)  # every update is a valid HourlyPlaySession
            if update.final:
                finals[(update.key, update.window.start_ms)] = update.value
        # The example's state checkpoints (sets of track ids, device totals).
        task.restore(decode_checkpoint(encode_checkpoint(task.snapshot()), source="test"))
    want = expected(events)
    closed = {name: value for name, value in want.items() if name[1] + 2 * HOUR <= task.watermark}
    assert len(closed) > 10
    assert finals == closed


def test_a_device_tie_goes_to_the_first_symbol() -> None:
    product = load_definition(ROOT / "products/player/hourly_play_sessions.py")
    aggregation = product.aggregation
    acc = aggregation.init()
    for device in ("WEB", "IOS", "CAR"):
        acc = aggregation.add(
            acc,
            {
                "ms_played": 1000 if device != "CAR" else 10,
                "end_reason": "TRACK_DONE",
                "track_id": "t",
                "offline": False,
                "device": device,
                "event_time": 5,
            },
        )
    assert aggregation.result(acc, "u", Window(0, HOUR))["device"] == "IOS"
