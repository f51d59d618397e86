"""The registry server and the library on a SASL/SCRAM Kafka: every client takes the settings.

Runs on the session's SASL Kafka (``tests/helpers/sasl_kafka.py``): the registry's storage,
transactional writer, election and admin clients must all authenticate, or it cannot start,
write or serve.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from streams.catalog.doctor import diagnose
from streams.cli import EXIT_FAILED, EXIT_OK, main
from streams.config import RegistrySettings, Settings
from streams.kafka import Consumer as StreamsConsumer
from streams.kafka import Producer
from streams.kafka.topics import read_to_end
from streams.local._ports import find_free_port
from streams.naming import ProductRef
from streams.registry import KafkaStorage
from tests.helpers.kafka import PLAY_V1, drain, play
from tests.helpers.sasl_kafka import SaslKafka
from tests.registry.conftest import ThreadedRegistry

pytestmark = pytest.mark.brokers("kafka")


def _log_records(sasl_kafka: SaslKafka, topic: str) -> list[bytes]:
    """The values of ``topic`` read by an independent SASL consumer, once there are any.

    Kafka acknowledges a commit before it writes the commit markers, and ``read_committed``
    readers see the records only after them: read again until they are there.
    """
    conf = sasl_kafka.settings().librdkafka(group_id="check")
    deadline = time.monotonic() + 10
    while True:
        values = [message.value() or b"" for message in read_to_end(conf, topic)]
        if values or time.monotonic() > deadline:
            return values
        time.sleep(0.1)


def test_the_registry_stores_and_serves_schemas_on_a_sasl_cluster(
    broker_kind: str, sasl_kafka: SaslKafka
) -> None:
    topic = f"_schemas_sasl_{uuid.uuid4().hex[:10]}"
    registry = ThreadedRegistry(KafkaStorage(kafka=sasl_kafka.settings(), topic=topic)).start()
    try:
        with SchemaRegistryClient({"url": registry.url}) as client:
            schema_id = client.register_schema("sasl-value", Schema(json.dumps(PLAY_V1), "AVRO"))
            assert json.loads(client.get_schema(schema_id).schema_str)["name"] == "PlayEvent"
    finally:
        registry.stop()
    # The record is on the SASL cluster, and a new instance replays it from there.
    assert any(b"PlayEvent" in value for value in _log_records(sasl_kafka, topic))
    again = ThreadedRegistry(KafkaStorage(kafka=sasl_kafka.settings(), topic=topic)).start()
    try:
        with SchemaRegistryClient({"url": again.url}) as client:
            assert client.get_latest_version("sasl-value").schema_id == schema_id
    finally:
        again.stop()


class _Served:
    """``mesh registry serve`` in a subprocess (cwd ``tmp``), stopped by its PID."""

    def __init__(self, tmp: Path, env: dict[str, str], *args: str) -> None:
        self.port = find_free_port("127.0.0.1")
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "registry.log"
        command = [sys.executable, "-m", "streams.cli", "registry", "serve"]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=tmp,
                env=env,
            )

    def wait(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/subjects", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def _clean_env() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if not key.startswith("STREAMS_")}


@pytest.fixture(scope="module")
def served(
    broker_kind: str, sasl_kafka: SaslKafka, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[_Served, str]]:
    """``mesh registry serve --profile corp``: the profile names the cluster, the environment
    holds the password (as a deployment would keep its secret out of the file)."""
    topic = f"_schemas_cli_{uuid.uuid4().hex[:10]}"
    tmp_path = tmp_path_factory.mktemp("served")
    kafka = sasl_kafka.settings()
    (tmp_path / "mesh.toml").write_text(
        "[profiles.corp.kafka]\n"
        f'bootstrap_servers = "{kafka.bootstrap_servers}"\n'
        'security_protocol = "SASL_PLAINTEXT"\n'
        'sasl_mechanism = "SCRAM-SHA-512"\n'
        f'sasl_username = "{kafka.sasl_username}"\n'
        "[profiles.corp.registry]\n"
        f'topic = "{topic}"\n'
        "auth = false\n"  # what is tested here is Kafka's SASL, not the registry's own
    )
    env = _clean_env() | {
        "STREAMS_KAFKA__SASL_PASSWORD": sasl_kafka.env()["STREAMS_KAFKA__SASL_PASSWORD"]
    }
    instance = _Served(tmp_path, env, "--profile", "corp")
    try:
        instance.wait()
        yield instance, topic
    finally:
        instance.stop()


def test_mesh_registry_serve_and_our_clients_run_on_a_sasl_cluster(
    sasl_kafka: SaslKafka, served: tuple[_Served, str]
) -> None:
    instance, topic = served
    settings = Settings(kafka=sasl_kafka.settings(), registry=RegistrySettings(url=instance.url))
    ref = ProductRef(domain=f"t{uuid.uuid4().hex[:10]}", name="play_events")
    admin = AdminClient(settings.kafka.librdkafka())
    admin.create_topics([NewTopic(ref.topic, num_partitions=1, replication_factor=1)])[
        ref.topic
    ].result(10)
    with SchemaRegistryClient(settings.registry.client_conf()) as client:
        client.register_schema(ref.subject, Schema(json.dumps(PLAY_V1), "AVRO"))

    with Producer(settings=settings) as producer:
        for n in range(3):
            producer.emit(ref.id, play(n))
    with StreamsConsumer(
        ref.id, group_id=f"g-{uuid.uuid4().hex[:8]}", settings=settings, from_beginning=True
    ) as consumer:
        events = drain(consumer, 3)
    assert [event.value["user_id"] for event in events] == ["user-0", "user-1", "user-2"]
    assert any(b"PlayEvent" in value for value in _log_records(sasl_kafka, topic))


def test_mesh_registry_serve_names_refused_credentials(
    broker_kind: str, sasl_kafka: SaslKafka, tmp_path: Path
) -> None:
    # Kafka's SASL is tested here, not the registry's own authentication.
    wrong = {"STREAMS_KAFKA__SASL_PASSWORD": "wrong", "STREAMS_REGISTRY__AUTH": "false"}
    env = _clean_env() | sasl_kafka.env() | wrong
    instance = _Served(tmp_path, env, "--topic", f"_schemas_{uuid.uuid4().hex[:10]}")
    try:
        code = instance.process.wait(timeout=60)
    finally:
        instance.stop()
    lines = instance.log.read_text().splitlines()
    assert code == 1, lines
    problem = [line for line in lines if line.startswith("error:")]
    assert len(problem) == 1, lines
    assert "refused the registry's credentials (SCRAM-SHA-512 user 'alice'" in problem[0]
    assert "kafka.sasl_password (STREAMS_KAFKA__SASL_PASSWORD)" in problem[0]
    assert "wrong" not in "\n".join(lines)


@pytest.fixture
def doctor_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sasl_kafka: SaslKafka) -> None:
    """``STREAMS_KAFKA__...`` for alice, and no local platform to fall back on."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STREAMS_LOCAL__STATE_DIR", str(tmp_path / "no-platform"))
    for key, value in sasl_kafka.env().items():
        monkeypatch.setenv(key, value)


@pytest.mark.usefixtures("doctor_env")
def test_mesh_doctor_passes_on_the_sasl_cluster(served: tuple[_Served, str]) -> None:
    instance, _ = served
    result = CliRunner().invoke(main, ["doctor", "--registry-url", instance.url, "--timeout", "10"])
    assert result.exit_code == EXIT_OK, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert all(line.startswith("ok ") for line in lines), lines


@pytest.mark.usefixtures("doctor_env")
def test_mesh_doctor_names_a_wrong_password_in_one_line(
    monkeypatch: pytest.MonkeyPatch, served: tuple[_Served, str]
) -> None:
    monkeypatch.setenv("STREAMS_KAFKA__SASL_PASSWORD", "wrong")
    instance, _ = served
    result = CliRunner().invoke(main, ["doctor", "--registry-url", instance.url, "--timeout", "2"])
    assert result.exit_code == EXIT_FAILED, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["failed", "broker"]
    assert "refused the credentials" in lines[0]
    assert "kafka.sasl_password (STREAMS_KAFKA__SASL_PASSWORD)" in lines[0]
    # The other broker checks do not blame the network: only the broker line names a problem.
    assert [line.split()[:2] for line in lines[1:3]] == [
        ["skipped", "topics"],
        ["skipped", "catalog"],
    ]
    assert all("unreachable" not in line for line in lines[1:3]), lines
    assert "wrong" not in result.output


def test_the_registry_our_clients_and_doctor_run_on_sasl_ssl(
    broker_kind: str, sasl_kafka: SaslKafka
) -> None:
    kafka = sasl_kafka.ssl_settings()  # TLS with the test CA, SCRAM-SHA-512 inside
    topic = f"_schemas_ssl_{uuid.uuid4().hex[:10]}"
    registry = ThreadedRegistry(KafkaStorage(kafka=kafka, topic=topic)).start()
    try:
        settings = Settings(kafka=kafka, registry=RegistrySettings(url=registry.url))
        ref = ProductRef(domain=f"t{uuid.uuid4().hex[:10]}", name="play_events")
        admin = AdminClient(kafka.librdkafka())
        admin.create_topics([NewTopic(ref.topic, 1, 1)])[ref.topic].result(10)
        with SchemaRegistryClient(settings.registry.client_conf()) as client:
            client.register_schema(ref.subject, Schema(json.dumps(PLAY_V1), "AVRO"))
        with Producer(settings=settings) as producer:
            producer.emit(ref.id, play(7))
        with StreamsConsumer(
            ref.id, group_id=f"g-{uuid.uuid4().hex[:8]}", settings=settings, from_beginning=True
        ) as consumer:
            assert [event.value["user_id"] for event in drain(consumer, 1)] == ["user-7"]
        found = {f.check: f.outcome for f in diagnose(settings, timeout_s=10)}
        assert set(found.values()) == {"ok"}, found
    finally:
        registry.stop()
