"""player.hourly_play_sessions: the listening of one listener during one hour of event time.

The code of the derived product declared in ``hourly_play_sessions.yaml``: per ``user_id`` and
hour (a tumbling event-time window over ``player.play_events``), count plays, skips, time
played, distinct tracks and offline plays, and name the device with the most time played.

Grace period: the descriptor promises ``latency: 2h`` and says plays arriving after the grace
period are not counted. An hour's settled (final) record therefore comes at most two hours
after its first play: the one-hour window plus one hour of allowed lateness.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from streams.agents.definition import DerivedProduct, InputPort, Tumbling, Window
from streams.agents.engine import event_time_ms

_SCHEMA = Path(__file__).parents[2] / "schemas" / "player" / "HourlyPlaySession.avsc"


def _device_order() -> dict[str, int]:
    """Each Device symbol's position: ties on time played go to the first in symbol order."""
    schema = json.loads(_SCHEMA.read_text())
    device = next(f["type"] for f in schema["fields"] if f["name"] == "device")
    return {symbol: index for index, symbol in enumerate(device["symbols"])}


DEVICE_ORDER = _device_order()
SKIPS = frozenset({"SKIPPED_FORWARD", "SKIPPED_BACKWARD"})

# The accumulator is a small list (plain data, so it can be checkpointed); add() is the hot
# path of every replay, and indexing a list is cheaper than a dict of named fields.
_PLAYS, _SKIPS, _MS, _TRACKS, _OFFLINE, _DEVICES, _LATEST = range(7)


class HourlyPlaySessions:
    """Aggregation of PlayEvents into HourlyPlaySession records."""

    def init(self) -> list[Any]:
        """No plays yet."""
        return [0, 0, 0, set(), 0, {}, None]

    def add(self, acc: list[Any], event: Mapping[str, Any]) -> list[Any]:
        """Count one play."""
        ms = event["ms_played"]
        acc[_PLAYS] += 1
        if event["end_reason"] in SKIPS:
            acc[_SKIPS] += 1
        acc[_MS] += ms
        track = event["track_id"]  # a UUID once decoded; str keeps the accumulator plain data
        acc[_TRACKS].add(track if type(track) is str else str(track))
        if event["offline"]:
            acc[_OFFLINE] += 1
        devices = acc[_DEVICES]
        device = event["device"]
        devices[device] = devices.get(device, 0) + ms
        at = event["event_time"]
        if type(at) is not int:  # decoded with logical types: an aware datetime
            at = event_time_ms(at)
        if acc[_LATEST] is None or at > acc[_LATEST]:
            acc[_LATEST] = at
        return acc

    def merge(self, a: list[Any], b: list[Any]) -> list[Any]:
        """Both windows' plays (lets the same code run on session windows)."""
        for index in (_PLAYS, _SKIPS, _MS, _OFFLINE):
            a[index] += b[index]
        a[_TRACKS] |= b[_TRACKS]
        for device, ms in b[_DEVICES].items():
            a[_DEVICES][device] = a[_DEVICES].get(device, 0) + ms
        if a[_LATEST] is None or (b[_LATEST] is not None and b[_LATEST] > a[_LATEST]):
            a[_LATEST] = b[_LATEST]
        return a

    def result(self, acc: list[Any], key: str, window: Window) -> dict[str, Any]:
        """The HourlyPlaySession record (timestamps in epoch milliseconds)."""
        devices: dict[str, int] = acc[_DEVICES]
        device = min(devices, key=lambda d: (-devices[d], DEVICE_ORDER.get(d, len(DEVICE_ORDER))))
        return {
            "window_start": window.start_ms,
            "window_end": window.end_ms,
            "event_time": acc[_LATEST],
            "user_id": key,
            "plays": acc[_PLAYS],
            "skips": acc[_SKIPS],
            "total_ms_played": acc[_MS],
            "distinct_tracks": len(acc[_TRACKS]),
            "offline_plays": acc[_OFFLINE],
            "device": device,
            "final": False,
        }


product = DerivedProduct(
    product="player.hourly_play_sessions",
    version=1,
    inputs=(InputPort("player.play_events", 1),),
    key="user_id",
    window=Tumbling(timedelta(hours=1)),
    allowed_lateness=timedelta(hours=1),
    aggregation=HourlyPlaySessions(),
)
