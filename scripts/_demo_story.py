"""``scripts/demo``: the music company, live, on the platform ``demo.py`` started.

1. ``mesh product apply`` publishes every product in ``products/``;
2. the company's history is sent: artists signed, tracks released, listeners registered, and
   yesterday's plays along the daily curve;
3. ``mesh agent run player.hourly_play_sessions`` starts in the background (stopped by PID);
4. the four domains run live for the demo's time, defects included (``_demo_live.py``); halfway
   through, a team tries an incompatible schema change and the registry refuses it;
5. a replay backfills yesterday into ``player.hourly_play_sessions.v2``;
6. the ending (``_demo_summary.py``): the catalog, ``mesh guarantees`` with the defects as
   breaches, dead letters, lineage, a Confluent client reading a product, where to look next.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import _demo_summary as summary
from _demo_agents import Agent
from _demo_backfill import AGGREGATE, backfill
from _demo_company import DAILY_CURVE, DAY_MS, HOUR_MS, Company, day_start, utc
from _demo_live import Simulation
from _demo_steps import ROOT, Mesh, err, out, step
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streams.guarantees import observations
from streams.local import PlatformInfo

LISTENERS = 1_500
ARTISTS = 60
TRACKS = 600
PAST_PEAK_PER_HOUR = 400
BLOCKS = "▁▂▃▄▅▆▇█"


def window_s(seconds: float) -> int:
    """The demo's monitor judges a short window (the default is 5 minutes), so the live run's
    defects show within it and the history has left it by the end."""
    return 30 if seconds >= 60 else 10


def monitor_env(seconds: float) -> dict[str, str]:
    """The monitor's settings for a live run of ``seconds``: its window, publishing every
    second."""
    return {
        "STREAMS_MONITOR__WINDOW_S": str(window_s(seconds)),
        "STREAMS_MONITOR__PUBLISH_EVERY_S": "1",
        "STREAMS_MONITOR__CATALOG_EVERY_S": "1",
        "STREAMS_MONITOR__WINDOW_GRACE_S": "2",
    }


def _apply(mesh: Mesh) -> bool:
    step("1. self-serve publishing: `mesh product apply` publishes every product in products/")
    done = mesh.run("mesh product apply", ["product", "apply", "--output", "json"], show=False)
    if done.returncode:
        return False
    made: list[dict[str, Any]] = json.loads(done.stdout or "[]")
    for product in sorted({change["product"] for change in made}):
        actions = [c["action"] for c in made if c["product"] == product]
        out.print(f"  {product:34} {', '.join(dict.fromkeys(actions))}", highlight=False)
    return True


def _history(sim: Simulation, now_ms: int) -> tuple[int, int, str]:
    """Send the founding and yesterday's plays; the Kafka-time range of the plays, and the day."""
    step("3. the company's history: signings, releases, registrations, then yesterday's plays")
    company = sim.company
    founding = company.founding(now_ms, listeners=LISTENERS, artists=ARTISTS, tracks=TRACKS)
    sim.send_all(founding)
    kinds = Counter(product for product, _ in founding)
    out.print(
        "  " + ", ".join(f"{n:,} {product}" for product, n in sorted(kinds.items())),
        highlight=False,
    )
    plays = company.past_day(now_ms, peak_per_hour=PAST_PEAK_PER_HOUR)
    start_ms = int(time.time() * 1000)
    sim.send_all(("player.play_events", play) for play in plays)
    end_ms = int(time.time() * 1000) + 1
    day = utc(day_start(now_ms) - DAY_MS).strftime("%Y-%m-%d")
    per_hour = Counter(int(p["event_time"].timestamp() * 1000) % DAY_MS // HOUR_MS for p in plays)
    top = max(per_hour.values())
    line = "".join(BLOCKS[min(7, per_hour[h] * 8 // (top + 1))] for h in range(len(DAILY_CURVE)))
    out.print(
        f"  {len(plays):,} plays of {day} (UTC), per hour 00→23: {line}  (the daily curve)",
        highlight=False,
    )
    return start_ms, end_ms, day


def _agent(mesh: Mesh, logs: Path) -> Agent:
    step(f"2. a derived product: `mesh agent run {AGGREGATE}` in the background")
    command = [mesh.exe, "agent", "run", AGGREGATE, "--root", str(ROOT), "--batch-within", "0.2"]
    command += ["--idle-check", "1", "--heartbeat", "5", *mesh.where]
    out.print(f"$ mesh agent run {AGGREGATE} &", highlight=False)
    agent = Agent(command, logs)
    out.print(f"  agent pid {agent.process.pid}; its log: {agent.stderr_path}", highlight=False)
    return agent


def _refused(info: PlatformInfo) -> None:
    """The artists team tries to make duration_ms a string: old releases could not be read."""
    registry = SchemaRegistryClient(info.registry_conf())
    subject = "artists.track_releases.v1-value"
    latest = registry.get_latest_version(subject)
    schema = json.loads(latest.schema.schema_str)
    for field in schema["fields"]:
        if field["name"] == "duration_ms":
            field["type"] = "string"
    out.print(
        f"  meanwhile the artists team registers {subject} with duration_ms: string …",
        highlight=False,
    )
    try:
        registry.register_schema(subject, Schema(json.dumps(schema), "AVRO"))
    except SchemaRegistryError as exc:
        out.print(
            f"  refused (HTTP {exc.http_status_code}, error {exc.error_code}): "
            f"[yellow]{exc.error_message[:160]}[/]",
            highlight=False,
        )
    else:
        err.print("[red]  the registry accepted an incompatible schema")


def _states(info: PlatformInfo) -> str:
    found = Counter(o.state for o in observations(settings=info.client_settings()))
    return ", ".join(f"{found[s]} {s}" for s in ("met", "at_risk", "breached") if found[s])


def _live(info: PlatformInfo, sim: Simulation, agent: Agent, seconds: float) -> bool:
    step(f"4. live: four domains for {seconds:g} s (Ctrl-C stops the demo cleanly)")
    every = 5.0 if seconds <= 60 else 15.0
    last, _ = sim.tally.snapshot()  # the history is not the live run's
    sim.start()
    began = time.monotonic()
    refused = False
    while (elapsed := time.monotonic() - began) < seconds:
        time.sleep(min(every, seconds - elapsed))
        if sim.error is not None:
            err.print(f"[red]the simulators failed:[/] {sim.error!r}")
            return False
        if agent.process.poll() is not None:
            err.print(f"[red]the agent exited:[/] {agent.stderr_path.read_text()[-2000:]}")
            return False
        counts, defects = sim.tally.snapshot()
        plays = counts["player.play_events"] - last["player.play_events"]
        others = sum(counts.values()) - sum(last.values()) - plays
        out.print(
            f"  t+{time.monotonic() - began:3.0f}s  {plays:4} plays, {others:3} other events, "
            f"{sum(defects.values()):3} defects so far | guarantees: {_states(info)}",
            highlight=False,
        )
        last = counts
        if not refused and time.monotonic() - began >= seconds / 2:
            _refused(info)
            refused = True
    return True


def _stop_agent(agent: Agent) -> bool:
    code = agent.stop()
    out.print(f"$ kill -TERM {agent.process.pid}   # the agent stops cleanly (exit {code})")
    for line in agent.stderr_path.read_text().splitlines():
        if ") stopped: " in line:
            out.print(f"  {line.split('streams.agents.live: ', 1)[-1]}", highlight=False)
    return code == 0


def run(info: PlatformInfo, *, seconds: float, keep: bool) -> bool:
    """The live story; every process it starts is stopped by PID before it returns, also when
    it fails or is interrupted (``demo.py`` turns SIGTERM into KeyboardInterrupt)."""
    mesh = Mesh(info)
    if not _apply(mesh):
        return False
    sim = Simulation(Company(), info.client_settings(), rare_every_s=window_s(seconds) / 3)
    agent: Agent | None = None
    try:
        agent = _agent(mesh, info.state_dir / "logs")  # it reads the history as it is sent
        start_ms, end_ms, day = _history(sim, int(time.time() * 1000))
        if not _live(info, sim, agent, seconds):
            return False
        # The company goes on while the backfill runs and the guarantees are shown: the
        # monitor's window keeps the live run's defects.
        step(f"5. backfill: replay {day} through the same code into {AGGREGATE}.v2")
        if backfill(mesh, start_ms=start_ms, end_ms=end_ms, day=day) is None:
            return False
        step("6. the catalog: `mesh product list`")
        listed = mesh.run("mesh product list", ["product", "list"])
        step("7. guarantees, measured by the monitor over its window: `mesh guarantees`")
        mesh.run("mesh guarantees", ["guarantees"], where="kafka")
        counts, defects = sim.tally.snapshot()
        visible = summary.breaches(info.client_settings(), defects)
        sim.stop()
        ok = _stop_agent(agent)
        agent = None
        summary.sent(counts, defects)
        return _ending(info, mesh, keep=keep) and ok and visible and listed.returncode == 0
    finally:
        sim.stop()
        if agent is not None:
            agent.stop()


def _ending(info: PlatformInfo, mesh: Mesh, *, keep: bool) -> bool:
    step("8. dead letters: what the agent could not decode")
    letters = mesh.run(
        "mesh dlq show player.play_events --output json",
        ["dlq", "show", "player.play_events", "--output", "json"],
        show=False,
    )
    if letters.returncode == 0:
        summary.dead_letters(json.loads(letters.stdout))
    step(f"9. lineage: where {AGGREGATE} comes from, and the runs that wrote it")
    lineage = [
        mesh.run(f"mesh lineage {name}", ["lineage", name], where="kafka")
        for name in (f"{AGGREGATE}.v1", f"{AGGREGATE}.v2")
    ]
    confluent = summary.confluent_reads(info)
    queried = summary.query(mesh)
    summary.look_next(info, keep=keep)
    return (
        letters.returncode == 0
        and all(found.returncode == 0 for found in lineage)
        and confluent
        and queried
    )
