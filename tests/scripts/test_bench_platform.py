"""The benchmarks' platforms (scripts/_brokers.py) are stopped by PID when the benchmark is
stopped with SIGTERM (``kill``, ``timeout``), not only when it ends or fails."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

SCRIPTS = Path(__file__).parents[2] / "scripts"
CHILD = f"""
import json, sys, time
sys.path.insert(0, {str(SCRIPTS)!r})
import _brokers
with _brokers.platform("tansu") as info:
    pids = [info.broker_pid, info.registry_pid, info.monitor_pid]
    print(json.dumps([pid for pid in pids if pid]), flush=True)
    time.sleep(120)
"""


def test_a_benchmark_stopped_by_sigterm_stops_its_platform() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env={**os.environ}
    ) as child:
        assert child.stdout is not None
        pids = json.loads(child.stdout.readline())
        try:
            _stop_and_check(child, pids)
        finally:  # whatever the benchmark left is stopped here
            for pid in pids:
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)


def _stop_and_check(child: subprocess.Popen[str], pids: list[int]) -> None:
    try:
        assert all(psutil.pid_exists(pid) for pid in pids)
        child.send_signal(signal.SIGTERM)
        assert child.wait(30) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in pids)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
