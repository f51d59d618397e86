"""A second Apache Kafka whose client listeners want SASL/SCRAM-SHA-512, for the session.

The session platform stays PLAINTEXT; tests that prove the settings reach every client (the
library, the registry server, ``mesh doctor``) use this one. Its users are created when its
storage is formatted (:class:`streams.local._kafka.ListenerSecurity`). It has a SASL_PLAINTEXT
listener and a SASL_SSL one whose certificate is signed by a throwaway CA made here with the
``openssl`` command. Started when the first test asks for it (one JVM, ~5 s), stopped by PID at
the session's end. Without Java or the jars the tests skip with one reason (fail under
``STREAMS_TEST_REQUIRE_KAFKA``); without ``openssl`` only the SASL_SSL tests skip.
"""

from __future__ import annotations

import os
import shutil
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
    ssl_bootstrap_servers: str | None = None
    ca: Path | None = None

    def settings(self, user: str = "alice", password: str | None = None) -> KafkaSettings:
        """Client settings for ``user`` (with its real password unless one is given)."""
        return KafkaSettings(
            bootstrap_servers=self.bootstrap_servers,
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username=user,
            sasl_password=USERS[user] if password is None else password,  # type: ignore[arg-type]
        )

    def ssl_settings(self, user: str = "alice") -> KafkaSettings:
        """Client settings for the SASL_SSL listener, trusting the throwaway CA (or skip)."""
        if self.ssl_bootstrap_servers is None or self.ca is None:
            pytest.skip("SASL_SSL listener skipped: no `openssl` to make its certificate")
        return KafkaSettings(
            bootstrap_servers=self.ssl_bootstrap_servers,
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username=user,
            sasl_password=USERS[user],  # type: ignore[arg-type]
            ssl_ca_location=self.ca,
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
    tls = _certificates(state / "tls") if shutil.which("openssl") else None
    ssl_port = find_free_port(HOST, exclude=frozenset({port, controller})) if tls else None
    security = ListenerSecurity(users=USERS, keystore=tls[1] if tls else None)
    properties = write_properties(
        kafka_dir=state / "kafka",
        host=HOST,
        port=port,
        controller_port=controller,
        security=security,
        ssl_port=ssl_port,
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
        cluster = SaslKafka(
            bootstrap_servers=f"{HOST}:{port}",
            log=log,
            ssl_bootstrap_servers=f"{HOST}:{ssl_port}" if ssl_port else None,
            ca=tls[0] if tls else None,
        )
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


def _certificates(folder: Path) -> tuple[Path, Path]:
    """A throwaway CA and the broker's PEM keystore (key + certificate for 127.0.0.1)."""
    folder.mkdir()

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    key = ["-newkey", "rsa:2048", "-nodes"]
    openssl("req", "-x509", *key, "-days", "1", "-subj", "/CN=streams test CA",
            "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    openssl("req", *key, "-subj", f"/CN={HOST}", "-keyout", "broker.key", "-out", "broker.csr")
    signed_by_ca = ["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1"]
    (folder / "san.cnf").write_text(f"subjectAltName=IP:{HOST},DNS:localhost\n")
    openssl("x509", "-req", "-in", "broker.csr", *signed_by_ca,
            "-extfile", "san.cnf", "-out", "broker.pem")  # fmt: skip
    keystore = folder / "keystore.pem"
    keystore.write_text((folder / "broker.key").read_text() + (folder / "broker.pem").read_text())
    return folder / "ca.pem", keystore
