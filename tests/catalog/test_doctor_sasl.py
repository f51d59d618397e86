"""A SASL_PLAINTEXT Apache Kafka: the settings reach librdkafka and ``mesh doctor`` passes.

Starts its own single-node Kafka (the session platform stays PLAINTEXT) with a SASL/PLAIN
listener configured inline (``listener.name.<name>.plain.sasl.jaas.config``, no JAAS file).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from streams.catalog.doctor import diagnose
from streams.config import KafkaSettings, RegistrySettings, Settings
from streams.local._kafka import (
    KafkaRuntime,
    broker_command,
    find_java,
    format_storage,
    write_properties,
)
from streams.local._kafka_dist import resolve_libs
from tests.helpers.brokers import kafka_settings

HOST = "127.0.0.1"
PASSWORD = "alice-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
    return port


def _sasl(port: int, password: str) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=f"{HOST}:{port}",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="alice",
        sasl_password=password,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def sasl_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A Kafka whose only client listener wants SASL/PLAIN (alice), stopped by PID."""
    local = kafka_settings()
    java, major = find_java(os.environ)
    runtime = KafkaRuntime(java=java, java_major=major, libs=resolve_libs(local))
    state = tmp_path_factory.mktemp("sasl-kafka")
    port, controller = _free_port(), _free_port()
    properties = write_properties(
        kafka_dir=state / "kafka", host=HOST, port=port, controller_port=controller
    )
    jaas = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="alice" password="{PASSWORD}" user_alice="{PASSWORD}";'
    )
    sasl = {  # later lines win in a Java properties file
        "listeners": f"SASL_PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller}",
        "advertised.listeners": f"SASL_PLAINTEXT://{HOST}:{port}",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
        "sasl.enabled.mechanisms": "PLAIN",
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": jaas,
    }
    with properties.open("a") as out:
        out.writelines(f"{key}={value}\n" for key, value in sasl.items())
    log = state / "broker.log"
    format_storage(runtime, properties=properties, log_path=log, timeout_s=120)
    with log.open("ab") as sink:
        process = subprocess.Popen(
            broker_command(runtime, properties=properties, heap="256m"),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(port, process, log)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    conf = _sasl(port, PASSWORD).librdkafka()
    conf["log_level"] = 0
    admin = AdminClient(conf)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"SASL Kafka exited {process.returncode}: {log.read_text()[-2000:]}")
        try:
            admin.list_topics(timeout=2)
        except KafkaException:
            continue
        return
    pytest.fail(f"SASL Kafka did not answer in 120 s: {log.read_text()[-2000:]}")


@pytest.mark.brokers("kafka")
def test_doctor_passes_with_the_right_credentials(broker_kind: str, sasl_port: int) -> None:
    settings = Settings(
        kafka=_sasl(sasl_port, PASSWORD), registry=RegistrySettings(url=f"http://{HOST}:1")
    )
    found = {f.check: f.outcome for f in diagnose(settings, timeout_s=10)}
    assert found["broker"] == "ok"
    assert found["topics"] == "ok"
    assert found["catalog"] == "ok"


@pytest.mark.brokers("kafka")
def test_doctor_names_a_wrong_password(broker_kind: str, sasl_port: int) -> None:
    settings = Settings(
        kafka=_sasl(sasl_port, "wrong"), registry=RegistrySettings(url=f"http://{HOST}:1")
    )
    broker = diagnose(settings, timeout_s=5)[0]
    assert broker.outcome == "failed"
    assert "refused the credentials" in broker.detail
    assert "kafka.sasl_password" in broker.fix
    assert "wrong" not in broker.detail
