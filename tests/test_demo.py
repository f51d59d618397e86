"""`scripts/demo` end to end: it completes, shows the derived product's agent output, replay and
lineage, and leaves no agent running."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from streams.local import stop

REPO = Path(__file__).parents[1]


@pytest.fixture
def demo_state() -> Iterator[Path]:
    """The demo's state directory; whatever platform it recorded there is stopped by PID after
    the test, also when the demo was killed before its own cleanup (a timeout)."""
    state = REPO / ".mesh" / "demo"
    yield state
    if (state / "platform.json").exists():
        stop(state, timeout_s=15.0)


@pytest.mark.timeout(420)  # about 90 s alone; several times that beside the suite's workers
def test_the_demo_runs_the_agent_and_stops_it(demo_state: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    assert not (demo_state / "platform.json").exists()  # the demo stopped its platform
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "demo complete" in done.stdout
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
    (pid,) = re.findall(r"kill -TERM (\d+)", output)
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)


def test_the_demos_plays_make_valid_hourly_sessions() -> None:
    """The monitor checks the aggregate's quality rules: the demo's plays must not fit more
    than an hour of audio into one listener's hour (they once did: validity 43 %)."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from _demo_agents import HOUR_MS, plays
    finally:
        sys.path.remove(str(REPO / "scripts"))
    descriptor = yaml.safe_load(
        (REPO / "products" / "player" / "hourly_play_sessions.yaml").read_text()
    )
    (limit,) = (rule["max"] for rule in descriptor["quality"] if rule["field"] == "total_ms_played")
    played: Counter[tuple[str, int]] = Counter()
    for event in plays(1200):
        played[event["user_id"], event["event_time"] // HOUR_MS] += event["ms_played"]
    assert len(played) == 36
    assert max(played.values()) <= limit
