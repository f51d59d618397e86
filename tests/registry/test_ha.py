"""Two registry processes on one topic: one primary writes, the other forwards; kill -9 of the
primary hands writing to the survivor within seconds and loses no acknowledged registration."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from streams.local import PlatformInfo
from streams.local._ports import find_free_port
from streams.registry._election import SESSION_TIMEOUT_MS
from tests.registry.test_single_writer import _rebuild

# Expiry of the dead member (session timeout) plus a rejoin and the takeover, with slack.
TAKEOVER_S = SESSION_TIMEOUT_MS / 1000 * 2 + 10


class Instance:
    """``mesh registry serve`` in a subprocess, stopped by its PID."""

    def __init__(
        self, platform: PlatformInfo, topic: str, log: Path, *, port: int | None = None
    ) -> None:
        self.port = port or find_free_port("127.0.0.1")
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [
            sys.executable,
            "-m",
            "streams.cli",
            "registry",
            "serve",
            "--port",
            str(self.port),
            "--bootstrap-servers",
            platform.bootstrap_servers,
            "--topic",
            topic,
            "--advertised-url",
            self.url,
        ]
        with log.open("wb") as out:
            # What is tested here is the election, not authentication (tests/registry/test_auth.py).
            env = {**os.environ, "STREAMS_REGISTRY__AUTH": "false"}
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{self.url}/subjects", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


@pytest.fixture
def instances(
    platform: PlatformInfo, registry_topic: str, tmp_path: Path
) -> Iterator[list[Instance]]:
    started: list[Instance] = []
    try:
        started.append(Instance(platform, registry_topic, tmp_path / "a.log"))
        started.append(Instance(platform, registry_topic, tmp_path / "b.log"))
        yield started
    finally:
        for instance in started:
            instance.stop()


def _schema(name: str) -> str:
    return json.dumps({"type": "record", "name": name, "fields": [{"name": "f", "type": "int"}]})


def _register(url: str, n: int) -> httpx.Response:
    return httpx.post(
        f"{url}/subjects/ha{n}-value/versions",
        json={"schema": _schema(f"Ha{n}")},
        timeout=40,
    )


def test_the_secondary_forwards_and_takes_over_when_the_primary_is_killed(
    instances: list[Instance], platform: PlatformInfo, registry_topic: str
) -> None:
    first, second = instances
    acked: dict[int, int] = {}  # registration number -> id
    for n in range(20):  # through both: the secondary forwards to the primary
        answer = _register((first, second)[n % 2].url, n)
        assert answer.status_code == 200, answer.text
        acked[n] = answer.json()["id"]
    # The first instance started alone, so it won the election.
    for n in range(20):
        seen = httpx.get(f"{second.url}/subjects/ha{n}-value/versions/1", timeout=5)
        deadline = time.monotonic() + 5
        while seen.status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
            seen = httpx.get(f"{second.url}/subjects/ha{n}-value/versions/1", timeout=5)
        assert seen.json()["id"] == acked[n]

    first.stop(signal.SIGKILL)
    killed = time.monotonic()
    refusals: list[Any] = []
    n = 20
    while n < 30:
        answer = _register(second.url, n)
        if answer.status_code == 200:
            acked[n] = answer.json()["id"]
            n += 1
            continue
        # Until it takes over: a clear refusal that says what to do.
        assert answer.status_code == 503, answer.text
        assert answer.json()["error_code"] == 50004
        assert "primary" in answer.json()["message"]
        refusals.append(answer.json())
        assert time.monotonic() - killed < TAKEOVER_S, (refusals[-1], second.log.read_text())
        time.sleep(0.2)
    takeover = time.monotonic() - killed
    print(f"takeover after kill -9 of the primary: {takeover:.1f} s")

    rebuilt = _rebuild(platform.bootstrap_servers, registry_topic)
    for n, schema_id in acked.items():
        record = rebuilt.versions(f"ha{n}-value")[0]
        assert record.id == schema_id
    assert len(set(acked.values())) == len(acked)
