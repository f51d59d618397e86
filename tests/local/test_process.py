"""``streams.local._process``: processes found, identified and stopped through psutil.

The platform also runs on macOS (the broker wheel ships for it), which has no ``/proc``: the
tests hide ``/proc`` from Python's file reads and check that nothing relies on it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.local import _process


@pytest.fixture
def no_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Path`` reads under ``/proc`` fail, as on macOS."""
    for name in ("read_bytes", "read_text"):
        original = getattr(Path, name)

        def refuse(self: Path, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            if str(self).startswith("/proc"):
                raise FileNotFoundError(f"no /proc on this system: {self}")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Path, name, refuse)


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[tuple[int, list[str]]]:
    sleep = shutil.which("sleep")
    assert sleep is not None
    command = [sleep, "30"]
    pid = _process.spawn(command, log_path=tmp_path / "sleep.log", env={})
    try:
        yield pid, command
    finally:
        if _process.is_alive(pid):
            _process.terminate(pid, timeout_s=5.0)


@pytest.mark.usefixtures("no_proc")
def test_a_process_is_identified_and_stopped_without_proc(
    sleeper: tuple[int, list[str]],
) -> None:
    pid, command = sleeper
    assert _process.is_alive(pid)
    assert _process.cmdline(pid) == command
    created = _process.create_time(pid)
    assert created is not None
    assert _process.owns(pid, command=command, created=created)
    assert not _process.owns(pid, command=[*command, "other"], created=created)
    # Same PID and command line, but started at another time: a recycled PID, not ours.
    assert not _process.owns(pid, command=command, created=created - 60)
    assert _process.terminate(pid, timeout_s=5.0) == "stopped"
    assert not _process.is_alive(pid)
    assert _process.cmdline(pid) is None
    assert not _process.owns(pid, command=command)


def test_a_pid_nobody_has_is_not_alive() -> None:
    assert not _process.is_alive(2**22 + 12345)
    assert _process.cmdline(2**22 + 12345) is None
