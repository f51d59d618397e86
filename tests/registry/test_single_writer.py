"""Two registries on one `_schemas` topic never hand out colliding ids: the newer one fences the
older, which refuses writes loudly and keeps serving reads."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

from streams.kafka.topics import read_to_end
from streams.local import PlatformInfo
from streams.registry import KafkaStorage
from streams.registry.state import RegistryState
from tests.registry.conftest import ThreadedRegistry

PER_WORKER = 40


def _schema(name: str) -> str:
    return json.dumps({"type": "record", "name": name, "fields": [{"name": "f", "type": "int"}]})


def _register(
    url: str, prefix: str, acked: list[dict[str, Any]], refused: list[Any], count: int
) -> None:
    """Register ``count`` schemas, stopping at the first refusal."""
    with httpx.Client(base_url=url, timeout=60) as http:
        for n in range(count):
            subject, schema = f"{prefix}{n}-value", _schema(f"{prefix.title().strip('-')}_{n}")
            answer = http.post(f"/subjects/{subject}/versions", json={"schema": schema})
            if answer.status_code == 200:
                acked.append({"subject": subject, "schema": schema, **answer.json()})
            else:
                refused.append((answer.status_code, answer.json()))
                return


def _rebuild(bootstrap: str, topic: str) -> RegistryState:
    state = RegistryState()
    conf = {"bootstrap.servers": bootstrap, "isolation.level": "read_committed"}
    for message in read_to_end(conf, topic):
        key = message.key()
        assert key is not None
        assert state.apply(key, message.value()) is None
    return state


def test_a_second_registry_fences_the_first_and_no_id_collides(
    platform: PlatformInfo, registry_topic: str
) -> None:
    def storage() -> KafkaStorage:
        return KafkaStorage(bootstrap_servers=platform.bootstrap_servers, topic=registry_topic)

    first = ThreadedRegistry(storage()).start()
    second: ThreadedRegistry | None = None
    acked: list[dict[str, Any]] = []
    refused: list[Any] = []
    try:
        workers = [
            # Until refused: the first instance is still writing when the second one starts.
            threading.Thread(target=_register, args=(first.url, f"a{w}-", acked, refused, 10**6))
            for w in range(2)
        ]
        for worker in workers:
            worker.start()
        time.sleep(0.3)
        second = ThreadedRegistry(storage()).start()
        workers += [
            threading.Thread(
                target=_register, args=(second.url, f"b{w}-", acked, refused, PER_WORKER)
            )
            for w in range(2)
        ]
        for worker in workers[2:]:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)

        # The first instance refused writes after the second took over, clearly...
        assert len(refused) == 2, "the fenced instance kept accepting writes"
        for status, body in refused:
            assert status == 503, body
            assert body["error_code"] == 50004
            assert "Another registry instance now writes to" in body["message"]
        # ...and keeps serving reads, including what the second one registered.
        latest = next(a for a in reversed(acked) if a["subject"].startswith("b"))
        with httpx.Client(base_url=first.url) as http:
            deadline = time.monotonic() + 5
            while http.get(f"/schemas/ids/{latest['id']}").status_code != 200:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        for registry in (first, second):
            if registry is not None:
                registry.stop()

    rebuilt = _rebuild(platform.bootstrap_servers, registry_topic)
    assert sum(a["subject"].startswith("b") for a in acked) == PER_WORKER * 2
    ids: dict[int, str] = {}
    for answer in acked:
        record = rebuilt.versions(answer["subject"])[answer["version"] - 1]
        assert record.id == answer["id"]
        assert record.schema == answer["schema"].replace(" ", "")
        assert ids.setdefault(answer["id"], record.schema) == record.schema
    assert len(ids) == len(acked)
