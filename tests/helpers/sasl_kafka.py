"""A second Apache Kafka whose only client listener wants SASL/SCRAM-SHA-512, for the session.

The session platform stays PLAINTEXT; tests that prove the settings reach every client (the
library, the registry server, ``mesh doctor``) use this one. Its users are created when its
storage is formatted (:class:`streams.local._kafka.ListenerSecurity`). Started when the first
test asks for it (one JVM, ~5 s), stopped by PID at the session's end. Without Java or the jars
the tests skip with one reason (fail under ``STREAMS_TEST_REQUIRE_KAFKA``).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from streams.config import KafkaSettings
from streams.local._kafka import (
    KafkaRuntime,
    ListenerSecurity,
    broker_command,
    find_java,
    format_storage,
    write_properties,
)
from streams.local._kafka_dist import resolve_libs
from streams.local._ports import find_free_port
from tests.helpers.brokers import kafka_settings

HOST = "127.0.0.1"
USERS = {"admin": "admin-secret", "alice": "alice-secret"}


@dataclass(frozen=True)
class SaslKafka:
    """Where the SASL Kafka listens and how to log in."""

    bootstrap_servers: str
    log: Path

    def settings(self, user: str = "alice", password: str | None = None) -> KafkaSettings:
        """Client settings for ``user`` (with its real password unless one is given)."""
        return KafkaSettings(
            bootstrap_servers=self.bootstrap_servers,
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username=user,
            sasl_password=USERS[user] if password is None else password,  # type: ignore[arg-type]
        )

    def env(self, user: str = "alice") -> dict[str, str]:
        """The ``STREAMS_KAFKA__...`` variables a user would set for this cluster."""
        return {
            "STREAMS_KAFKA__BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "STREAMS_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "STREAMS_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
            "STREAMS_KAFKA__SASL_USERNAME": user,
            "STREAMS_KAFKA__SASL_PASSWORD": USERS[user],
        }


@pytest.fixture(scope="session")
def sasl_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaslKafka]:
    """A running SASL_PLAINTEXT/SCRAM-SHA-512 Kafka (users admin and alice), stopped by PID."""
    local = kafka_settings()
    java, major = find_java(os.environ)
    runtime = KafkaRuntime(java=java, java_major=major, libs=resolve_libs(local))
    state = tmp_path_factory.mktemp("sasl-kafka")
    port, controller = find_free_port(HOST), find_free_port(HOST)
    security = ListenerSecurity(users=USERS)
    properties = write_properties(
        kafka_dir=state / "kafka",
        host=HOST,
        port=port,
        controller_port=controller,
        security=security,
    )
    log = state / "broker.log"
    format_storage(runtime, properties=properties, log_path=log, timeout_s=120, security=security)
    with log.open("ab") as sink:
        process = subprocess.Popen(
            broker_command(runtime, properties=properties, heap="256m"),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        cluster = SaslKafka(bootstrap_servers=f"{HOST}:{port}", log=log)
        _wait(cluster, process)
        yield cluster
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait(cluster: SaslKafka, process: subprocess.Popen[bytes]) -> None:
    conf = cluster.settings().librdkafka()
    conf["log_level"] = 0  # quiet while the broker starts
    admin = AdminClient(conf)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"SASL Kafka exited {process.returncode}: {cluster.log.read_text()[-3000:]}"
            )
        try:
            admin.list_topics(timeout=2)
        except KafkaException:
            continue
        return
    pytest.fail(f"SASL Kafka did not answer in 120 s: {cluster.log.read_text()[-3000:]}")
