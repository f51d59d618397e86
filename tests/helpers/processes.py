"""Processes a test started, as /proc shows them (the tests run on Linux)."""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["children", "running"]


def children(pid: int) -> list[int]:
    """The child processes of ``pid``."""
    tasks = Path(f"/proc/{pid}/task").glob("*/children")
    return [int(child) for task in tasks for child in task.read_text().split()]


def running(pid: int, *, within_s: float = 10.0) -> bool:
    """Whether ``pid`` still runs after ``within_s`` (a zombie waiting to be reaped does not)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        if state == "Z":
            return False
        time.sleep(0.1)
    return True
