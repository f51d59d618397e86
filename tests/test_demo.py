"""`scripts/demo`: the company's simulators keep the story's rules (pure, no platform), and the
live demo tells its story end to end, twice in a row, stops cleanly on Ctrl-C, and leaves
nothing running; ``--tour`` still shows the fifteen steps."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import yaml

from streams.local import stop
from streams.serialization import AvroEncoder

REPO = Path(__file__).parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from _demo_company import DAY_MS, HOUR_MS, Company, day_start  # noqa: E402

NOW_MS = 1_796_130_000_000  # 2026-12-01T13:00Z
SCHEMAS = {
    "listeners.registrations": "listeners/ListenerRegistered.avsc",
    "artists.signings": "artists/ArtistSigned.avsc",
    "artists.track_releases": "artists/TrackReleased.avsc",
    "player.play_events": "player/PlayEvent.avsc",
    "playlists.generated_playlists": "playlists/PlaylistGenerated.avsc",
}


def _ms(event: dict[str, Any]) -> int:
    return int(event["event_time"].timestamp() * 1000)


@pytest.fixture(scope="module")
def company() -> Iterator[tuple[Company, list[tuple[str, dict[str, Any]]]]]:
    """A company's founding, its past day, and two live minutes of plays and releases, in the
    order the demo sends them."""
    made = Company(seed=7)
    events = made.founding(NOW_MS, listeners=300, artists=20, tracks=200)
    events += [("player.play_events", play) for play in made.past_day(NOW_MS, peak_per_hour=300)]
    for second in range(120):
        at = NOW_MS + second * 1000
        if second % 10 == 0:
            events.append(("listeners.registrations", made.register(at)))
            events.append(("artists.track_releases", made.release(at)))
        events += [("player.play_events", made.play(at)) for _ in range(5)]
        events.append(("player.play_events", made.late_play(at)))
        playlist = made.playlist(at)
        if playlist is not None:
            events.append(("playlists.generated_playlists", playlist))
    return made, events


def test_listeners_register_and_tracks_come_out_before_they_are_played(
    company: tuple[Company, list[tuple[str, dict[str, Any]]]],
) -> None:
    registered: dict[Any, int] = {}
    released: dict[Any, int] = {}
    signed: set[Any] = set()
    plays = 0
    for product, event in company[1]:
        if product == "listeners.registrations":
            registered.setdefault(event["user_id"], _ms(event))
        elif product == "artists.signings":
            signed.add(event["artist_id"])
        elif product == "artists.track_releases":
            assert event["artist_id"] in signed
            released[event["track_id"]] = _ms(event)
        elif product == "player.play_events":
            plays += 1
            assert registered[event["user_id"]] < _ms(event)
            assert released[event["track_id"]] <= _ms(event)
    assert plays > 3000


def test_yesterdays_plays_follow_the_daily_curve_and_fit_the_hour(
    company: tuple[Company, list[tuple[str, dict[str, Any]]]],
) -> None:
    """The evening peak has many times the plays of the night; and nobody hears more than an
    hour of audio in an hour (the aggregate's rule the monitor checks; it once failed)."""
    descriptor = yaml.safe_load(
        (REPO / "products" / "player" / "hourly_play_sessions.yaml").read_text()
    )
    (limit,) = (rule["max"] for rule in descriptor["quality"] if rule["field"] == "total_ms_played")
    yesterday = day_start(NOW_MS) - DAY_MS
    by_hour: Counter[int] = Counter()
    heard: Counter[tuple[Any, int]] = Counter()
    for product, event in company[1]:
        if product != "player.play_events" or event["offline"]:
            continue
        at = _ms(event)
        if yesterday <= at < yesterday + DAY_MS:
            by_hour[(at - yesterday) // HOUR_MS] += 1
        heard[event["user_id"], at // HOUR_MS] += event["ms_played"]
        assert event["ms_played"] > 0
    assert sorted(by_hour) == list(range(24))
    assert by_hour[19] > 5 * by_hour[4]
    assert max(heard.values()) <= limit


def test_new_releases_are_played_and_playlists_come_from_plays(
    company: tuple[Company, list[tuple[str, dict[str, Any]]]],
) -> None:
    made, events = company
    new = {e["track_id"] for p, e in events if p == "artists.track_releases" and _ms(e) >= NOW_MS}
    played: dict[Any, set[Any]] = {}
    for product, event in events:
        if product == "player.play_events":
            played.setdefault(event["user_id"], set()).add(event["track_id"])
    assert new & set().union(*played.values())
    known = {track.track_id for track in made.tracks}
    playlists = [e for p, e in events if p == "playlists.generated_playlists"]
    assert len(playlists) > 100
    for playlist in playlists:
        assert set(playlist["track_ids"]) <= known
        assert played[playlist["user_id"]] & set(playlist["track_ids"])


def test_late_plays_are_hours_old_and_offline(
    company: tuple[Company, list[tuple[str, dict[str, Any]]]],
) -> None:
    late = [e for p, e in company[1] if p == "player.play_events" and e["offline"]]
    assert len(late) == 120
    for event in late:
        assert 3 * HOUR_MS <= NOW_MS + 120_000 - _ms(event) <= 20 * HOUR_MS + 120_000


def test_every_simulated_event_fits_its_registered_schema(
    company: tuple[Company, list[tuple[str, dict[str, Any]]]],
) -> None:
    encoders = {
        product: AvroEncoder((REPO / "schemas" / path).read_text(), schema_id=1, product=product)
        for product, path in SCHEMAS.items()
    }
    for product, event in company[1]:
        encoders[product](event)  # raises SerializationError naming the field


def test_rare_events_come_at_their_rate_however_short_the_ticks() -> None:
    from _demo_live import Due

    due = Due()
    counts = [due.count("defect", 1 / 3.3, 0.1) for _ in range(100)]  # 10 s of 100 ms ticks
    assert sum(counts) == 3
    assert max(counts) == 1
    assert sum(due.count("plays", 18.6, 0.1) for _ in range(100)) == 186


def test_the_demo_refuses_both_minutes_and_seconds() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py"), "--minutes", "1", "--seconds", "5"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "give --minutes or --seconds, not both" in done.stderr


# --- the demo on a real platform ----------------------------------------------------------------


@pytest.fixture
def demo_state(tmp_path: Path) -> Iterator[Path]:
    """The demo's state directory (the test's own, so demos run side by side on the suite's
    workers); whatever platform it recorded there is stopped by PID after the test, also when
    the demo was killed before its own cleanup (a timeout)."""
    state = tmp_path / "demo"
    yield state
    if (state / "platform.json").exists():
        stop(state, timeout_s=15.0)


def _demo(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py"), "--state-dir", str(state), *args],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie, dead but not yet reaped by its new parent once the
    demo that started it exited, does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _recorded(state: Path) -> list[int]:
    recorded = json.loads((state / "platform.json").read_text())
    return [
        service["pid"]
        for service in recorded.values()
        if isinstance(service, dict) and isinstance(service.get("pid"), int)
    ]


@pytest.mark.timeout(420)  # about 2 minutes alone; more beside the suite's workers
def test_the_live_demo_tells_its_story_and_runs_twice_in_a_row(demo_state: Path) -> None:
    kept = _demo(demo_state, "--seconds", "20", "--keep")
    output = kept.stdout + kept.stderr
    assert kept.returncode == 0, output[-5000:]
    assert "demo complete" in kept.stdout
    assert "\x1b[" not in kept.stderr
    # Published, the history sent along the daily curve, four domains live.
    assert "player.hourly_play_sessions.v1     create-topic" in output
    assert re.search(r"1,500 listeners\.registrations", output)
    assert re.search(r"[\d,]+ plays of \d{4}-\d\d-\d\d \(UTC\), per hour 00→23: \S{24}", output)
    live = re.findall(r"t\+ *\d+s +(\d+) plays, +(\d+) other events", output)
    assert len(live) >= 3
    assert all(int(plays) > 0 for plays, _ in live)
    sent = dict(re.findall(r"│ ([a-z_]+\.[a-z_]+) +│ +([\d,]+) │", output))
    assert set(sent) >= {
        "player.play_events",
        "listeners.registrations",
        "artists.signings",
        "artists.track_releases",
        "playlists.generated_playlists",
    }
    # The registry refuses an incompatible change; the backfill counts yesterday's plays.
    assert re.search(r"refused \(HTTP 409, error 409\)", output)
    replayed = re.search(
        r"([\d,]+) plays of \S+ read, ([\d,]+) counted in their hour \(.*?\), ([\d,]+) final",
        output.replace("\n", " "),
    )
    assert replayed, output[-5000:]
    assert int(replayed[2].replace(",", "")) > 1000
    assert int(replayed[3].replace(",", "")) > 500
    # Every injected defect is a breach of its guarantee, and `mesh guarantees` shows them.
    for defect in ("duplicate plays", "invalid plays", "late plays", "undecodable records"):
        assert re.search(rf"✓ {defect}.*→ player\.play_events \w+ breached", output), defect
    assert re.search(r"✓ duplicate registrations.*→ listeners\.registrations duplicates", output)
    assert "✗" not in output
    assert re.search(r"validity +>= 100 % +[\d.]+ % +breached", output)
    assert re.search(r"\d+ dead letters: \d+ not-framed", output)
    # The agent stopped by its PID; lineage of both versions; a Confluent client reads.
    (agent,) = re.findall(r"kill -TERM (\d+)", output)
    assert not _alive(int(agent))
    assert re.search(r"worker \(pid \d+\) stopped: \d+ events, \d+ window updates", output)
    assert re.search(r"completed player\.hourly_play_sessions\.v1 ", output)
    assert re.search(r"completed player\.hourly_play_sessions\.v2\.replay ", output)
    assert len(re.findall(r"played \d+ s on [A-Z_]+ \((TRACK_DONE|SKIPPED_FORWARD)\)", output)) == 3
    assert re.search(r"listeners\.registrations: email enc1:", output)  # encrypted by emit
    assert "scripts/demo --tour" in output
    # `mesh query` reads the backfilled aggregate as a table: yesterday's hours.
    assert 'mesh query "SELECT window_start AS hour' in output.replace("\n", "")
    hours = re.findall(r"│ \d{4}-\d\d-\d\d (\d\d):00:00\+00:00 │ +\d+ │ +\d+ │", output)
    assert sorted(set(hours)) == [f"{hour:02}" for hour in range(24)], output[-5000:]
    # --keep: the platform runs on, and the demo says how to stop it.
    assert f"mesh down --state-dir {demo_state}" in output
    first = _recorded(demo_state)
    assert len(first) == 4  # broker, registry, monitor, web catalog
    assert all(_alive(pid) for pid in first)
    # The web catalog it printed serves the company's products while the platform runs.
    web = re.search(r"web catalog: (http://127\.0\.0\.1:\d+)", output)
    assert web, output[-3000:]
    page = httpx.get(f"{web[1]}/products/player.hourly_play_sessions", timeout=30)
    assert page.status_code == 200
    assert "player.hourly_play_sessions" in page.text

    again = _demo(demo_state, "--seconds", "5")
    output = again.stdout + again.stderr
    assert again.returncode == 0, output[-5000:]
    assert "stopping the demo platform an earlier run left" in output
    assert not any(_alive(pid) for pid in first)
    assert not (demo_state / "platform.json").exists()
    stopped = re.search(r"platform stopped \((.*)\)", output)
    assert stopped, output[-2000:]
    assert stopped[1].count(" stopped") == len(first)
    for pid in re.findall(r"pid (\d+)", stopped[1]):
        assert not _alive(int(pid))


@pytest.mark.timeout(240)
def test_ctrl_c_stops_everything_the_demo_started(demo_state: Path) -> None:
    command = [sys.executable, str(REPO / "scripts" / "demo.py"), "--state-dir", str(demo_state)]
    demo = subprocess.Popen(
        [*command, "--minutes", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert demo.stdout is not None
    lines: list[str] = []
    started: list[int] = []
    try:
        for line in demo.stdout:
            lines.append(line)
            if line.startswith("4. live:"):
                break
        started += [int(pid) for pid in re.findall(r"pid (\d+)", "".join(lines))]
        # broker, registry, monitor, web catalog, agent
        assert len(started) == 5, "".join(lines)
        time.sleep(2)
        began = time.monotonic()
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:  # the demo did not stop: stop it, and its agent, by PID
            demo.kill()
            demo.wait()
            for pid in started[4:]:
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)
    output = "".join(lines) + rest
    assert demo.returncode == 130, output[-3000:]
    assert time.monotonic() - began < 30
    assert "interrupted: stopping everything the demo started" in output
    assert "Traceback" not in output, output[-5000:]
    assert not (demo_state / "platform.json").exists()
    assert not any(_alive(pid) for pid in started)


@pytest.mark.timeout(420)  # about 90 s alone; several times that beside the suite's workers
def test_the_tour_runs_the_agent_and_stops_it(demo_state: Path) -> None:
    done = _demo(demo_state, "--tour")
    assert not (demo_state / "platform.json").exists()  # the demo stopped its platform
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "demo complete" in done.stdout
    # Steps 1-4: the registry; compatible evolution accepted, an incompatible one refused.
    assert "accepted: new optional field device" in output
    assert re.search(r"refused \(HTTP 409", output)
    # The agent's output records, as `mesh tail` shows them.
    assert len(re.findall(r"user …\w{4} 2026-11-24T\d\d:00:00\+00:00: \d+ plays", output)) == 5
    # Stopped by its PID, it said what it did; the replay into v2 and both runs are in lineage.
    stopped = re.search(
        r"worker \(pid \d+\) stopped: (\d+) events, (\d+) window updates emitted, \d+ late, "
        r"(\d+) dead letters",
        output,
    )
    assert stopped, output[-3000:]
    # Only the two undecodable records step 8 writes on purpose: `mesh produce` keyed every play
    # by the descriptor's user_id (a null key would dead-letter all 1,200).
    assert stopped[3] == "2"
    assert int(stopped[1]) >= 1200  # at least the agent tour's own plays
    assert int(stopped[2]) > 0
    assert "stopped (1 worker stopped cleanly)" in output
    assert "replayed player.hourly_play_sessions into player.hourly_play_sessions.v2" in output
    assert re.search(r"completed player\.hourly_play_sessions\.v1 ", output), output[-3000:]
    # The monitor checks the aggregate's windows: its agent stopped, the hours due since are
    # missing (step 13).
    assert re.search(r"completeness breached: \d+ of the \d+ \(listener, hour\) pairs due", output)
    assert "\x1b[" not in done.stderr
    # Step 14: a product made by `mesh product new` takes events at once (ISO times included),
    # and `mesh dlq show` explains the dead letters step 8 left.
    assert "next: mesh product apply, then mesh produce partners.trial_signups" in output
    assert "sent 2 events to partners.trial_signups.v1" in output
    assert '"seats":3' in output.replace("\n", "")
    assert "reason: not-framed" in output
    # Step 15 checks its own exit codes (a forged entry refused, access denied without a grant):
    # the demo's exit 0 above says they held.
    assert "15. access and privacy" in output
    (pid,) = re.findall(r"kill -TERM (\d+)", output)
    assert not _alive(int(pid))


def test_the_tours_plays_make_valid_hourly_sessions() -> None:
    """The monitor checks the aggregate's quality rules: the tour's plays must not fit more
    than an hour of audio into one listener's hour (they once did: validity 43 %)."""
    from _demo_agents import HOUR_MS as TOUR_HOUR_MS
    from _demo_agents import plays

    descriptor = yaml.safe_load(
        (REPO / "products" / "player" / "hourly_play_sessions.yaml").read_text()
    )
    (limit,) = (rule["max"] for rule in descriptor["quality"] if rule["field"] == "total_ms_played")
    played: Counter[tuple[str, int]] = Counter()
    for event in plays(1200):
        played[event["user_id"], event["event_time"] // TOUR_HOUR_MS] += event["ms_played"]
    assert len(played) == 36
    assert max(played.values()) <= limit
