"""The live demo's backfill: yesterday's plays replayed into a new version of the aggregate.

The same code as the live agent (``products/player/hourly_play_sessions.py``) reads the plays the
demo sent for the past day (selected by their Kafka timestamps: when the demo sent them) and
writes ``player.hourly_play_sessions.v2``, published first from a copy of the descriptor with
``version: 2`` (blue/green: v1 keeps serving while v2 fills).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from _demo_steps import ROOT, Mesh, out

AGGREGATE = "player.hourly_play_sessions"


@dataclass(frozen=True)
class Backfill:
    """What the replay did (``mesh replay --output json``)."""

    read: int
    counted: int
    outputs: int
    finals: int
    seconds: float


def publish_v2(mesh: Mesh) -> bool:
    """``mesh product apply`` of a v2 descriptor (a scratch copy: the checkout stays as it is)."""
    with tempfile.TemporaryDirectory(prefix="mesh-demo-") as scratch:
        root = Path(scratch)
        shutil.copytree(ROOT / "schemas", root / "schemas")
        shutil.copytree(ROOT / "products" / "player", root / "products" / "player")
        player = root / "products" / "player"
        v1 = (player / "hourly_play_sessions.yaml").rename(player / "hourly_play_sessions.v1.yaml")
        (player / "hourly_play_sessions.yaml").write_text(
            v1.read_text().replace("\nversion: 1\n", "\nversion: 2\n")
        )
        done = mesh.run(
            f"mesh product apply   # {AGGREGATE} version 2: its topic and schema",
            ["product", "apply", str(root), "--output", "json"],
            show=False,
        )
    return done.returncode == 0


def backfill(mesh: Mesh, *, start_ms: int, end_ms: int, day: str) -> Backfill | None:
    """Replay the plays sent between ``start_ms`` and ``end_ms`` (Kafka time) into v2."""
    if not publish_v2(mesh):
        return None
    begin, end = _iso(start_ms), _iso(end_ms)
    done = mesh.run(
        f"mesh replay {AGGREGATE} --from {begin} --to {end} --into-version 2"
        f"   # when the plays of {day} were sent (Kafka time)",
        [
            "replay",
            AGGREGATE,
            "--from",
            begin,
            "--to",
            end,
            "--into-version",
            "2",
            "--root",
            str(ROOT),
            "--output",
            "json",
        ],
        show=False,
    )
    if done.returncode != 0:
        return None
    found = json.loads(done.stdout)
    result = Backfill(
        read=found["read"],
        counted=found["counted"],
        outputs=found["outputs"],
        finals=found["finals"],
        seconds=found["seconds"],
    )
    out.print(
        f"replayed {AGGREGATE} into {AGGREGATE}.v2: {result.read:,} plays of {day} read, "
        f"{result.counted:,} counted in their hour (the others came late or could not be "
        f"decoded), {result.finals:,} final hourly sessions written in {result.seconds:.1f} s",
        highlight=False,
    )
    return result


def _iso(ms: int) -> str:
    """Kafka time ``ms`` as ISO 8601 in UTC, to the millisecond (what ``--from`` takes)."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
