"""The demo's derived-product tour: `mesh agent run`, its output, a replay into v2, lineage.

The agent runs in the background for a bounded time and is always stopped by its PID: on
success, on failure, and when the demo itself is interrupted (SIGINT/SIGTERM).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console

from streams.local import PlatformInfo

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = "player.hourly_play_sessions"
AGENT_SECONDS = 60  # the agent is stopped after this long whatever happens
HOUR_MS = 3_600_000
START_MS = 1_795_510_800_000  # 2026-11-24T09:00Z, after the events tour's plays (08:00-08:17)
out = Console()
err = Console(stderr=True)


def step(title: str) -> None:
    out.rule(f"[bold cyan]{title}", align="left")


def plays(count: int, *, users: int = 12, hours: int = 3) -> list[dict[str, Any]]:
    """PlayEvents as JSON lines for `mesh produce`: ``hours`` of event time, a few listeners.

    A listener's play lasts at most the time since their previous play (and since the start of
    the hour), so nobody plays more than an hour of audio in an hour: the hourly sessions pass
    the descriptor's ``total_ms_played`` range rule, which the monitor checks."""
    rng = random.Random(9)
    user_ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(users)]
    previous: dict[str, int] = {}
    events = []
    for n in range(count):
        at, user = START_MS + n * hours * HOUR_MS // count, rng.choice(user_ids)
        since = at - max(previous.get(user, 0), at // HOUR_MS * HOUR_MS)
        previous[user] = at
        events.append(
            {
                "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "event_time": at,
                "user_id": user,
                "track_id": str(uuid.UUID(int=rng.getrandbits(128) % 400)),
                "device": rng.choice(["IOS", "ANDROID", "WEB"]),
                "country": "SE",
                "ms_played": min(rng.randrange(5_000, 240_000), max(since, 1_000)),
                "context_type": "PLAYLIST",
                "context_id": None,
                "end_reason": rng.choice(["TRACK_DONE", "TRACK_DONE", "SKIPPED_FORWARD"]),
                "offline": False,
                "app_version": "8.9.2",
                "session_hint": None,
            }
        )
    return events


class Agent:
    """`mesh agent run` in the background, stopped by PID (SIGTERM, then SIGKILL)."""

    def __init__(self, command: list[str], logs: Path) -> None:
        logs.mkdir(parents=True, exist_ok=True)
        self.stdout_path = logs / "agent.out"
        self.stderr_path = logs / "agent.err"
        with self.stdout_path.open("wb") as stdout, self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=ROOT)
        self.started = time.monotonic()

    def check(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(
                f"the agent exited with {self.process.returncode}:\n"
                + self.stderr_path.read_text()[-2000:]
            )
        if time.monotonic() - self.started > AGENT_SECONDS:
            raise RuntimeError(f"the agent ran out of its {AGENT_SECONDS} s")

    def stop(self) -> int:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return self.process.returncode


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(out.width)}
    return subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=120, env=env, **kwargs
    )


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through the finally that stops the agent


def tour(info: PlatformInfo, logs: Path) -> bool:
    mesh = str(Path(sys.executable).parent / "mesh")
    where = ["--bootstrap-servers", info.bootstrap_servers, "--registry-url", info.registry_url]

    step("10. a derived product: `mesh agent run player.hourly_play_sessions`")
    events = plays(1_200)
    out.print(
        f"$ mesh produce player.play_events   # {len(events):,} plays, 3 hours of event time, "
        "12 listeners, keyed by the descriptor's key user_id",
        highlight=False,
    )
    sent = run(
        [mesh, "produce", "player.play_events", *where],
        input="".join(json.dumps(event) + "\n" for event in events),
    )
    out.print(sent.stderr.strip() or sent.stdout.strip(), highlight=False)
    if sent.returncode:
        return False
    command = [mesh, "agent", "run", PRODUCT, "--root", str(ROOT), "--batch-within", "0.2"]
    command += ["--idle-check", "1", "--heartbeat", "5", *where]
    out.print(f"$ mesh agent run {PRODUCT} &   # in the background, at most {AGENT_SECONDS} s")
    previous = signal.signal(signal.SIGTERM, _interrupted)
    agent = Agent(command, logs)
    try:
        ok = _while_running(info, agent, mesh, where)
    finally:
        code = agent.stop()
        signal.signal(signal.SIGTERM, previous)
    out.print(f"$ kill -TERM {agent.process.pid}   # the agent stops cleanly (exit {code})")
    stopped = [
        line.split("streams.agents.live: ", 1)[-1]
        for line in agent.stderr_path.read_text().splitlines()
        if ") stopped: " in line
    ]
    for line in [*stopped, *agent.stdout_path.read_text().strip().splitlines()[-1:]]:
        out.print(f"  {line}", highlight=False)
    if not ok or code != 0 or not stopped:
        return False
    return _lineage(mesh, where)


def _while_running(info: PlatformInfo, agent: Agent, mesh: str, where: list[str]) -> bool:
    out.print(f"$ mesh tail {PRODUCT} --from-beginning --max 60   # 5 of them:")
    tail = [mesh, "tail", PRODUCT, "--from-beginning", "--max", "60", "--idle-timeout", "15"]
    shown: list[str] = []
    while len(shown) < 60:
        agent.check()
        tailed = run([*tail, *where])
        if tailed.returncode:
            err.print(f"[red]mesh tail failed:[/] {tailed.stderr[-2000:]}")
            return False
        shown = tailed.stdout.strip().splitlines()
    for record in _some(json.loads(line) for line in shown):
        out.print(
            f"  user …{record['user_id'][-4:]} {record['window_start']}: {record['plays']} plays, "
            f"{record['skips']} skips, {record['total_ms_played'] / 60000:.0f} min, "
            f"{record['distinct_tracks']} tracks, on {record['device']}, "
            f"final={str(record['final']).lower()}",
            highlight=False,
        )
    return _replay(mesh, where)


def _some(records: Iterable[dict[str, Any]], count: int = 5) -> list[dict[str, Any]]:
    """``count`` records, from as many different hours as there are."""
    by_hour: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_hour.setdefault(record["window_start"], []).append(record)
    for found in by_hour.values():
        found.sort(key=lambda record: not record["final"])  # settled ones first
    picked: list[dict[str, Any]] = []
    while len(picked) < count and any(by_hour.values()):
        for hour in sorted(by_hour):
            if by_hour[hour] and len(picked) < count:
                picked.append(by_hour[hour].pop(0))
    return picked


def _replay(mesh: str, where: list[str]) -> bool:
    step("11. backfill: replay the same code over history into v2 (blue/green)")
    with tempfile.TemporaryDirectory(prefix="mesh-demo-") as scratch:
        root = Path(scratch)
        shutil.copytree(ROOT / "schemas", root / "schemas")
        shutil.copytree(ROOT / "products" / "player", root / "products" / "player")
        player = root / "products" / "player"
        v1 = (player / "hourly_play_sessions.yaml").rename(player / "hourly_play_sessions.v1.yaml")
        v2 = v1.read_text().replace("\nversion: 1\n", "\nversion: 2\n")
        (player / "hourly_play_sessions.yaml").write_text(v2)
        out.print("$ mesh product apply   # with a v2 descriptor: its topic and schema")
        applied = run([mesh, "product", "apply", str(root), "--output", "json", *where])
        if applied.returncode:
            err.print(f"[red]apply of v2 failed:[/] {applied.stderr}")
            return False
    out.print(f"$ mesh replay {PRODUCT} --from 2026-11-01T00:00:00Z --into-version 2")
    replay = [mesh, "replay", PRODUCT, "--from", "2026-11-01T00:00:00Z", "--into-version", "2"]
    replayed = run([*replay, "--root", str(ROOT), *where])
    out.print(replayed.stdout.strip(), highlight=False)
    if replayed.returncode:
        err.print(f"[red]replay failed:[/] {replayed.stderr[-2000:]}")
    return replayed.returncode == 0


def _lineage(mesh: str, where: list[str]) -> bool:
    step("12. lineage: what each version comes from, and every run that wrote it")
    shown = []
    for name in (f"{PRODUCT}.v1", f"{PRODUCT}.v2"):
        out.print(f"$ mesh lineage {name}", highlight=False)
        shown.append(run([mesh, "lineage", name, *where[:2]]))
        out.file.write(shown[-1].stdout)
    if any(found.returncode for found in shown):
        err.print(f"[red]lineage failed:[/] {''.join(found.stderr for found in shown)}")
        return False
    live, replayed = (found.stdout for found in shown)
    return f"completed {PRODUCT}.v1 " in live and f"completed {PRODUCT}.v2.replay " in replayed
