"""Spawning, identifying and stopping the platform's background processes by PID.

The services must outlive the command that starts them, so they are spawned with
``os.posix_spawn`` in their own session rather than kept as ``subprocess.Popen`` objects (a
``Popen`` dropped while its child still runs emits a ``ResourceWarning``). Every PID is checked
against the command line (and start time) we recorded before it is signalled, so a recycled PID
is never killed. Processes are inspected with psutil, not ``/proc``, so this works on macOS too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import psutil

__all__ = [
    "cmdline",
    "create_time",
    "exit_status",
    "is_alive",
    "owns",
    "spawn",
    "tail",
    "terminate",
]

_POLL_S = 0.02


def spawn(command: Sequence[str], *, log_path: Path, env: Mapping[str, str]) -> int:
    """Start ``command`` in a new session with stdout and stderr appended to ``log_path``.

    Args:
        command: Argument vector; ``command[0]`` must be an absolute path to an executable.
        log_path: File receiving both output streams (created if missing).
        env: Environment of the new process.

    Returns:
        The PID of the new process.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    file_actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    return os.posix_spawn(command[0], list(command), env, file_actions=file_actions, setsid=True)


def exit_status(pid: int) -> int | None:
    """Reap ``pid`` if it is our child and has exited.

    Args:
        pid: Process id.

    Returns:
        The exit code (negative signal number when killed by a signal), or None while it runs
        or when it is not a child of this process.
    """
    try:
        reaped, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    if reaped == 0:
        return None
    return os.waitstatus_to_exitcode(status)


def is_alive(pid: int) -> bool:
    """Whether ``pid`` names a live (not zombie) process.

    Args:
        pid: Process id.

    Returns:
        True when the process exists and has not exited.
    """
    if pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError):
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # someone else's process: it exists


def cmdline(pid: int) -> list[str] | None:
    """The argument vector of ``pid`` as the kernel reports it.

    Args:
        pid: Process id.

    Returns:
        The arguments, or None when the process is gone or unreadable.
    """
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return None


def create_time(pid: int) -> float | None:
    """When ``pid`` started, in seconds since the epoch (as psutil reports it).

    Args:
        pid: Process id.

    Returns:
        The start time, or None when unavailable.
    """
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


# psutil derives a start time from the kernel's clock ticks: the same process always gets the
# same value; another process started in the same tick is caught by the command line.
_SAME_START_S = 0.05


def owns(pid: int, *, command: Sequence[str], created: float | None = None) -> bool:
    """Whether ``pid`` is still the process we started with ``command``.

    Args:
        pid: Recorded process id.
        command: Recorded argument vector.
        created: Recorded start time (:func:`create_time`), compared when both sides know it.

    Returns:
        True when the process is alive and its command line (and start time) match.
    """
    if not is_alive(pid) or cmdline(pid) != list(command):
        return False
    if created is not None:
        current = create_time(pid)
        if current is not None and abs(current - created) > _SAME_START_S:
            return False
    return True


def _wait_gone(pid: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return True
        time.sleep(_POLL_S)
    return not is_alive(pid)


def terminate(pid: int, *, timeout_s: float = 10.0) -> Literal["stopped", "killed", "already-dead"]:
    """Stop ``pid``: SIGTERM, wait up to ``timeout_s``, then SIGKILL.

    The caller must have checked :func:`owns` first.

    Args:
        pid: Process id.
        timeout_s: Grace period after SIGTERM.

    Returns:
        ``"stopped"`` when SIGTERM sufficed, ``"killed"`` when SIGKILL was needed,
        ``"already-dead"`` when the process was gone before we signalled it.
    """
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        exit_status(pid)
        return "already-dead"
    if _wait_gone(pid, time.monotonic() + timeout_s):
        return "stopped"
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, time.monotonic() + 5.0)
    return "killed"


def tail(path: Path, *, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file.

    Args:
        path: Log file.
        lines: How many lines to keep.

    Returns:
        The text, or a note when the file cannot be read.
    """
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc.strerror})"
    return "\n".join(text.splitlines()[-lines:])
