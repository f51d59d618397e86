"""Waiting out a registry outage (no network: a stand-in for the registry client).

The live driver must hold a batch while the registry is unreachable and go on when it is back;
only an answer that retrying cannot change (404: the id is unknown) dead-letters the record.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka.schema_registry import RegisteredSchema, Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streams.agents.outage import PatientSchemaSource
from streams.agents.runtime import Runtime
from streams.errors import DeserializationError, RegistryUnavailableError

URL = "http://registry.test:8081"
TEXT = '{"type": "record", "name": "R", "fields": [{"name": "x", "type": "int"}]}'


class FlakyClient:
    """Refuses connections ``down`` times, then answers; counts the calls."""

    def __init__(self, down: int, *, error: BaseException | None = None) -> None:
        self.down = down
        self.error = error or ConnectionRefusedError(111, "Connection refused")
        self.calls = 0

    def get_schema(self, schema_id: int) -> Schema:
        self.calls += 1
        if self.calls <= self.down:
            raise self.error
        return Schema(TEXT, "AVRO")

    def get_latest_version(self, subject: str) -> RegisteredSchema:
        self.calls += 1
        if self.calls <= self.down:
            raise self.error
        return RegisteredSchema(
            schema_id=7, guid=None, schema=Schema(TEXT, "AVRO"), subject=subject, version=1
        )


def source(client: Any, **options: Any) -> PatientSchemaSource:
    return PatientSchemaSource(
        url=URL, client=client, first_wait_s=0.01, max_wait_s=0.02, **options
    )


def test_a_writer_schema_is_fetched_once_the_registry_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = FlakyClient(down=3)
    with caplog.at_level(logging.WARNING, logger="streams.agents.outage"):
        assert source(client).writer(42) == (TEXT, [])
    assert client.calls == 4
    waits = [r.getMessage() for r in caplog.records if "waiting for" in r.getMessage()]
    assert len(waits) == 3
    assert URL in waits[0]
    assert "schema id 42" in waits[0]
    assert "is held (nothing of it is acknowledged)" in waits[0]
    assert "answered again" in caplog.records[-1].getMessage()


def test_the_output_schema_is_waited_for_too() -> None:
    client = FlakyClient(down=2)
    assert source(client).latest("d.p.v1-value") == (7, TEXT)
    assert client.calls == 3


def test_an_unknown_schema_id_is_not_retried() -> None:
    client = FlakyClient(down=1, error=SchemaRegistryError(404, 40403, "Schema not found"))
    with pytest.raises(DeserializationError) as caught:
        source(client).writer(42)
    assert caught.value.reason == "unknown-schema"
    assert client.calls == 1


def test_a_refusal_that_retrying_cannot_fix_is_raised_at_once() -> None:
    client = FlakyClient(down=1, error=SchemaRegistryError(401, 40101, "Unauthorized"))
    with pytest.raises(RegistryUnavailableError, match="Unauthorized"):
        source(client).writer(42)
    assert client.calls == 1


def test_a_server_error_is_retried() -> None:
    client = FlakyClient(down=2, error=SchemaRegistryError(503, 50003, "forwarding failed"))
    assert source(client).writer(42) == (TEXT, [])
    assert client.calls == 3


def test_stopping_ends_the_wait_with_a_clear_error() -> None:
    client = FlakyClient(down=10**9)
    patient = PatientSchemaSource(url=URL, client=client, first_wait_s=30, max_wait_s=30)
    threading.Timer(0.2, patient.stop_waiting).start()
    with pytest.raises(RegistryUnavailableError, match="the worker is stopping"):
        patient.writer(42)
    assert client.calls == 1


def test_a_worker_told_to_stop_ends_the_wait_and_does_not_acknowledge_the_batch() -> None:
    """faust cancels the agent on SIGTERM; the runtime then lets the batch thread finish, so
    a batch waiting for the registry must give up (and the worker exit without acknowledging
    it), or the worker would never stop."""
    patient = PatientSchemaSource(
        url=URL, client=FlakyClient(down=10**9), first_wait_s=30, max_wait_s=30
    )
    processor = SimpleNamespace(stop_waiting=patient.stop_waiting)
    crashes: list[BaseException | None] = []

    async def scenario() -> None:
        runtime = Runtime(app=None, processor=processor)  # type: ignore[arg-type]
        runtime._crash = lambda: crashes.append(sys.exc_info()[1])  # type: ignore[method-assign]
        handling = asyncio.ensure_future(runtime._run(patient.writer, 42))
        await asyncio.sleep(0.3)  # the batch thread is waiting for the registry now
        handling.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(handling, 10)

    asyncio.run(scenario())
    [error] = crashes
    assert isinstance(error, RegistryUnavailableError)
    assert "the worker is stopping" in str(error)
