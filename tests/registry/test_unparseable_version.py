"""A version another tool wrote to `_schemas` that this registry cannot parse does not make its
subject stuck behind a misleading error: the compatibility check names that version, says why it
is refused and how to go on (delete it, or set the subject's compatibility to NONE)."""

from __future__ import annotations

import json
import time

import httpx
from confluent_kafka import Producer

from streams.local import PlatformInfo
from streams.registry.state import SchemaRecord, schema_key
from tests.registry.conftest import ThreadedRegistry

# Scale above precision: Avro's spec calls it invalid, so our parser refuses it.
BAD_DECIMAL = json.dumps(
    {
        "type": "record",
        "name": "Price",
        "fields": [
            {
                "name": "amount",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 2, "scale": 5},
            }
        ],
    }
)


def _append_foreign(bootstrap: str, topic: str, subject: str, schema_id: int) -> None:
    record = SchemaRecord(subject=subject, version=1, id=schema_id, schema=BAD_DECIMAL)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    producer.produce(topic, key=schema_key(subject, 1), value=record.to_value(), partition=0)
    assert producer.flush(10) == 0


def _served(http: httpx.Client, schema_id: int) -> None:
    deadline = time.monotonic() + 10
    while http.get(f"/schemas/ids/{schema_id}").status_code != 200:
        assert time.monotonic() < deadline, "the registry did not see the record in time"
        time.sleep(0.05)


def test_an_unparseable_stored_version_is_named_with_the_way_out(
    kafka_registry: ThreadedRegistry, platform: PlatformInfo, registry_topic: str
) -> None:
    with httpx.Client(base_url=kafka_registry.url, timeout=30) as http:
        _append_foreign(platform.bootstrap_servers, registry_topic, "stuck-value", 100)
        _served(http, 100)

        refused = http.post("/subjects/stuck-value/versions", json={"schema": '"bytes"'})
        assert refused.status_code == 409
        message = refused.json()["message"]
        assert "version 1 of subject 'stuck-value' (id 100) is not a valid schema" in message
        assert "scale" in message  # why
        assert "DELETE /subjects/stuck-value/versions/1" in message
        assert "PUT /config/stuck-value" in message
        assert "NONE" in message

        checked = http.post(
            "/compatibility/subjects/stuck-value/versions/latest", json={"schema": '"bytes"'}
        )
        assert checked.status_code == 409
        assert "(id 100) is not a valid schema" in checked.json()["message"]

        # The way out the message gives works.
        http.put("/config/stuck-value", json={"compatibility": "NONE"}).raise_for_status()
        ok = http.post("/subjects/stuck-value/versions", json={"schema": '"bytes"'})
        assert ok.status_code == 200, ok.text
