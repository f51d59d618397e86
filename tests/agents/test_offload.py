"""The batch process beside a live worker: it answers like the processor it runs, reports its
failures with their traceback, and never outlives its worker. No broker is needed: nothing
here reaches Kafka or the registry."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from streams.agents.definition import load_definition
from streams.agents.offload import RemoteProcessor
from streams.config import KafkaSettings, RegistrySettings, Settings
from streams.errors import BatchProcessError
from tests.helpers.processes import running

REPO = Path(__file__).parents[2]
CODE = REPO / "products/player/hourly_play_sessions.py"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def settings() -> Settings:
    """Nothing listens there: the batch process starts without connecting anywhere."""
    return Settings(
        kafka=KafkaSettings(bootstrap_servers=f"127.0.0.1:{_closed_port()}"),
        registry=RegistrySettings(url=f"http://127.0.0.1:{_closed_port()}"),
    )


def test_it_answers_like_the_processor_and_reports_a_failed_call(settings: Settings) -> None:
    remote = RemoteProcessor(load_definition(CODE), CODE, settings=settings, partitions=4)
    pid = remote.pid
    try:
        assert pid is not None
        assert pid != os.getpid()
        assert remote.ref.id == "player.hourly_play_sessions"
        assert remote.tasks == []
        remote.drop({1, 2})  # nothing to drop: a round trip that changes nothing
        assert remote.counters.batches == 0
        with pytest.raises(BatchProcessError, match=r"(?s)failed:.*unknown call 'explode'"):
            remote._call("explode")
        # A failed call ends the batch process; the next call says so instead of hanging.
        with pytest.raises(BatchProcessError, match="died"):
            remote.drop({1})
    finally:
        remote.close(timeout_s=5)
    assert not running(pid)


def test_close_stops_the_batch_process(settings: Settings) -> None:
    remote = RemoteProcessor(load_definition(CODE), CODE, settings=settings, partitions=4)
    pid = remote.pid
    assert pid is not None
    remote.close()
    assert not running(pid, within_s=5)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_kill_9_of_the_worker_kills_its_batch_process(settings: Settings) -> None:
    """A batch process left running could write a checkpoint after a new owner read an older
    one: it must die with its worker, however the worker dies, even mid-call (when it is not
    reading its pipe, so it would not notice the worker is gone)."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from streams.agents.definition import load_definition\n"
        "from streams.agents.offload import RemoteProcessor\n"
        "from streams.config import KafkaSettings, RegistrySettings, Settings\n"
        "path = Path(sys.argv[1])\n"
        "settings = Settings(kafka=KafkaSettings(bootstrap_servers=sys.argv[2]),\n"
        "                    registry=RegistrySettings(url=sys.argv[3]))\n"
        "remote = RemoteProcessor(load_definition(path), path, settings=settings, partitions=4)\n"
        "import threading\n"
        "# Busy: opening task 0 reads its checkpoint from a broker that is not there.\n"
        "threading.Thread(target=remote.flush_idle, args=({0},), daemon=True).start()\n"
        "time.sleep(1)\n"
        "print(remote.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            str(CODE),
            settings.kafka.bootstrap_servers,
            settings.registry.url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None
        child = int(worker.stdout.readline())
        assert running(child, within_s=0.5)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        orphan = running(child)
        if orphan:  # the test failed: stop what it started
            os.kill(child, signal.SIGKILL)
        assert not orphan, f"batch process {child} outlived its worker"
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        assert worker.stdout is not None
        worker.stdout.close()
