"""Restart the registry while clients register, once gracefully and once with kill -9: no
acknowledged registration is lost, and what clients get meanwhile is sane.

Only a durable log passes this: every instance keeps its state in memory and rebuilds it from
the topic on the shared broker. Clients (httpx, and confluent-kafka's SchemaRegistryClient)
treat a refused connection or a 503 with Confluent's error body as "not acknowledged" and
retry; anything else (a 500, a 404 for an acknowledged schema, a hang past the client timeout)
is a failure.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streams.kafka.schemas import unreachable
from streams.local import PlatformInfo
from tests.local.test_durable_broker import _schemas
from tests.registry.test_ha import TAKEOVER_S, Instance

WORKERS = 4
SUBJECTS = 3
# Acknowledged registrations to wait for with each instance before it is stopped.
PER_INSTANCE = 25
# A write waits up to 15 s for an election (README, "Highly available registry"): more than that.
CLIENT_TIMEOUT_S = 25.0


@dataclass(frozen=True)
class Ack:
    subject: str
    version: int
    id: int
    schema: str


def _schema(worker: int, n: int) -> str:
    """Distinct schemas that stay BACKWARD compatible with each other in any order."""
    optional = {"name": f"w{worker}_{n}", "type": ["null", "string"], "default": None}
    fields = [{"name": "id", "type": "long"}, optional]
    return json.dumps({"type": "record", "name": "Event", "fields": fields})


def _same(served: str, sent: str) -> bool:
    return bool(json.loads(served) == json.loads(sent))


class Clients:
    """Threads that register distinct schemas under shared subjects until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.acked: list[Ack] = []
        self.problems: list[str] = []
        self.outcomes: Counter[str] = Counter()
        self.phase = "up"  # which restart the outcomes belong to
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(w,), daemon=True) for w in range(WORKERS)
        ]

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=CLIENT_TIMEOUT_S * 3)
        assert not any(thread.is_alive() for thread in self._threads), "a client hangs"

    def wait_for(self, count: int, deadline_s: float) -> None:
        """Until ``count`` registrations were acknowledged in all (fails after ``deadline_s``)."""
        deadline = time.monotonic() + deadline_s
        while len(self.acked) < count:
            assert not self.problems, self.problems[:5]
            assert time.monotonic() < deadline, (len(self.acked), self.outcomes)
            time.sleep(0.05)

    def _run(self, worker: int) -> None:
        try:
            self._loop(worker)
        except Exception:  # the test must say what happened, not a thread warning
            self.problems.append(traceback.format_exc())

    def _loop(self, worker: int) -> None:
        n = 0
        config = {"url": self.url, "timeout": CLIENT_TIMEOUT_S}
        with (
            httpx.Client(base_url=self.url, timeout=CLIENT_TIMEOUT_S) as http,
            SchemaRegistryClient(config) as client,
        ):
            while not self._stop.is_set():
                subject, schema = f"restart{(worker + n) % SUBJECTS}-value", _schema(worker, n)
                # Worker 0 uses confluent-kafka's client (its own retries), the others httpx.
                if worker == 0:
                    ack = self._register_confluent(client, subject, schema)
                else:
                    ack = self._register(http, subject, schema)
                if ack is None:
                    time.sleep(0.05)
                    continue
                self.acked.append(ack)
                self.outcomes["200"] += 1
                self._read_back(http, ack)
                n += 1

    def _register(self, http: httpx.Client, subject: str, schema: str) -> Ack | None:
        try:
            answer = http.post(f"/subjects/{subject}/versions", json={"schema": schema})
        except httpx.TimeoutException as exc:
            self.problems.append(f"no answer within {CLIENT_TIMEOUT_S} s: {exc!r}")
            return None
        except httpx.TransportError as exc:  # down or going down: not acknowledged
            self.outcomes[f"{self.phase}: {type(exc).__name__}"] += 1
            return None
        if answer.status_code == 503 and self._confluent_error(answer):
            self.outcomes[f"{self.phase}: 503/{answer.json()['error_code']}"] += 1
            return None
        if answer.status_code != 200:
            self.problems.append(f"{subject}: {answer.status_code} {answer.text}")
            return None
        body = answer.json()
        return Ack(subject, body["version"], body["id"], schema)

    def _register_confluent(
        self, client: SchemaRegistryClient, subject: str, schema: str
    ) -> Ack | None:
        try:
            found = client.register_schema_full_response(subject, Schema(schema, "AVRO"))
        except SchemaRegistryError as exc:
            if exc.http_status_code == 503 and exc.error_code > 0:  # -1: no Confluent body
                self.outcomes[f"{self.phase}: 503/{exc.error_code}"] += 1
            else:
                self.problems.append(f"{subject}: {exc}")
            return None
        except Exception as exc:  # its HTTP library's (httpx2 since 2.16): see unreachable()
            if "TimeoutException" in {cls.__name__ for cls in type(exc).__mro__}:
                self.problems.append(f"no answer within {CLIENT_TIMEOUT_S} s: {exc!r}")
            elif unreachable(exc, self.url) is not None:
                self.outcomes[f"{self.phase}: {type(exc).__name__}"] += 1
            else:
                raise
            return None
        if found.version is None or found.schema_id is None:
            self.problems.append(f"{subject}: registered without a version or id: {found}")
            return None
        return Ack(subject, found.version, found.schema_id, schema)

    def _confluent_error(self, answer: httpx.Response) -> bool:
        try:
            body = answer.json()
        except ValueError:
            body = None
        if (
            isinstance(body, dict)
            and isinstance(body.get("error_code"), int)
            and isinstance(body.get("message"), str)
            and body["message"]
        ):
            return True
        self.problems.append(f"a 503 without Confluent's error body: {answer.text!r}")
        return False

    def _read_back(self, http: httpx.Client, ack: Ack) -> None:
        """An acknowledged schema is served at once (unless the instance just went down)."""
        try:
            by_id = http.get(f"/schemas/ids/{ack.id}")
        except httpx.TimeoutException as exc:
            self.problems.append(f"no answer within {CLIENT_TIMEOUT_S} s: {exc!r}")
            return
        except httpx.TransportError:
            return
        if by_id.status_code != 200 or not _same(by_id.json()["schema"], ack.schema):
            self.problems.append(f"acknowledged {ack} but served {by_id.status_code} {by_id.text}")


def _stop_gracefully(instance: Instance) -> None:
    instance.stop(signal.SIGTERM)
    assert instance.process.returncode == 0, instance.log.read_text()


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Instance]]:
    """Every instance the test starts, stopped by PID at the end (also on failure)."""
    instances: list[Instance] = []
    try:
        yield instances
    finally:
        for instance in instances:
            instance.stop()


def test_restarting_the_registry_loses_no_acknowledged_registration(
    platform: PlatformInfo, registry_topic: str, tmp_path: Path, started: list[Instance]
) -> None:
    def start(name: str, port: int | None = None) -> Instance:
        started.append(Instance(platform, registry_topic, tmp_path / f"{name}.log", port=port))
        return started[-1]

    first = start("first")
    timings: dict[str, float] = {}
    with Clients(first.url) as clients:
        clients.wait_for(PER_INSTANCE, TAKEOVER_S)
        began, clients.phase = time.monotonic(), "SIGTERM"
        _stop_gracefully(first)
        timings["SIGTERM to exit"] = time.monotonic() - began
        second = start("second", first.port)
        timings["SIGTERM to serving"] = time.monotonic() - began
        clients.wait_for(len(clients.acked) + PER_INSTANCE, TAKEOVER_S)
        timings["SIGTERM to writing"] = time.monotonic() - began
        began, clients.phase = time.monotonic(), "kill -9"
        second.stop(signal.SIGKILL)
        third = start("third", first.port)
        timings["kill -9 to serving"] = time.monotonic() - began
        # The killed instance holds the election until its session expires: writes wait.
        clients.wait_for(len(clients.acked) + PER_INSTANCE, TAKEOVER_S)
        timings["kill -9 to writing"] = time.monotonic() - began
    print(f"{len(clients.acked)} acknowledged; answers: {dict(clients.outcomes)}")
    print(", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items()))
    assert not clients.problems, clients.problems[:5]
    # The clients did meet both restarts.
    assert clients.outcomes["SIGTERM: ConnectError"] > 0
    assert clients.outcomes["kill -9: ConnectError"] > 0

    served = _schemas(third.url)
    with httpx.Client(base_url=third.url, timeout=10) as http:
        for ack in clients.acked:
            version = http.get(f"/subjects/{ack.subject}/versions/{ack.version}").json()
            found = (version["subject"], version["version"], version["id"])
            assert found == (ack.subject, ack.version, ack.id)
            assert _same(version["schema"], ack.schema), ack
            by_id = http.get(f"/schemas/ids/{ack.id}")
            assert by_id.status_code == 200, ack
            assert _same(by_id.json()["schema"], ack.schema), ack
    rows = [(schema_id, schema) for listed in served.values() for _, schema_id, schema in listed]
    assert len({schema_id for schema_id, _ in rows}) == len(rows)  # one id per schema
    assert len({schema for _, schema in rows}) == len(rows)
    for subject, listed in served.items():
        assert [version for version, _, _ in listed] == list(range(1, len(listed) + 1)), subject

    _stop_gracefully(third)
    fresh = start("fresh")
    assert _schemas(fresh.url) == served
