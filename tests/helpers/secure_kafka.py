"""Apache Kafka as `mesh up --broker kafka` starts it with authentication (SASL_PLAINTEXT
SCRAM-SHA-256, StandardAuthorizer, the registry and monitor logging in as the admin), for the
session, and raw clients logging in as any identity. The session platform's Kafka stays
PLAINTEXT (its tests' raw clients carry no credentials); tests of the broker's enforcement
point use this one. Started when the first test asks for it, stopped by PID at the end.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from streams.config import KafkaSettings
from streams.identity import Credential, read_credential
from streams.local import EmbeddedPlatform, PlatformInfo
from tests.helpers.brokers import kafka_settings

__all__ = [
    "admin_of",
    "assert_none",
    "connects",
    "create",
    "eventually",
    "login",
    "produce",
    "read",
    "secure",
]


@pytest.fixture(scope="session")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformInfo]:
    """``mesh up --broker kafka`` with authentication (and its monitor), stopped by PID."""
    settings = kafka_settings(kafka_sasl=True, state_dir=tmp_path_factory.mktemp("mesh-secure"))
    with EmbeddedPlatform(settings=settings, free_ports=True) as info:
        yield info


def login(info: PlatformInfo, credential: Credential) -> KafkaSettings:
    """Client settings logging in to ``info``'s Kafka as ``credential``."""
    return KafkaSettings(
        bootstrap_servers=info.bootstrap_servers,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username=credential.name,
        sasl_password=credential.secret,  # type: ignore[arg-type]
    )


def admin_of(info: PlatformInfo) -> Credential:
    """The admin credential ``mesh up`` wrote for the platform."""
    return read_credential(info.state_dir / "credentials" / "admin.json")


def eventually(check: Callable[[], object], *, timeout_s: float = 20.0) -> object:
    """``check()`` once it stops raising AssertionError (ACLs reach the broker's cache)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def produce(settings: KafkaSettings, topic: str) -> KafkaError | None:
    """Produce one record ``b"v"``: None, or the error the broker answered."""
    conf = settings.librdkafka(message_timeout_ms=5000)
    conf["log_level"] = 0
    producer = Producer(conf)
    errors: list[KafkaError | None] = []
    producer.produce(topic, b"v", on_delivery=lambda err, _msg: errors.append(err))
    producer.flush(10)
    return errors[0] if errors else KafkaError(KafkaError._TIMED_OUT)


def read(settings: KafkaSettings, topic: str) -> KafkaError | bytes | None:
    """The first record's value, or the error the broker answered (subscribed in the reader's
    own group, so a refusal is reported)."""
    conf = settings.librdkafka(
        group_id=f"{settings.sasl_username}.{uuid.uuid4().hex}", auto_offset_reset="earliest"
    )
    conf["log_level"] = 0
    consumer = Consumer(conf)
    consumer.subscribe([topic])
    try:
        for _ in range(30):
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            return message.value() if error is None else error  # type: ignore[no-any-return]
    finally:
        consumer.close()
    return None


def create(settings: KafkaSettings, topic: str) -> KafkaError | None:
    """Create ``topic`` as ``settings``' user: None, or the error the broker answered."""
    conf = settings.librdkafka()
    conf["log_level"] = 0
    admin = AdminClient(conf)
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(10)
    except KafkaException as exc:
        error: KafkaError = exc.args[0]
        return None if error.code() == KafkaError.TOPIC_ALREADY_EXISTS else error
    return None


def connects(settings: KafkaSettings) -> KafkaError | None:
    """None when ``settings`` log in and read metadata, else the authentication error."""
    errors: list[KafkaError] = []
    conf = settings.librdkafka()
    conf |= {"log_level": 0, "error_cb": errors.append}
    admin = AdminClient(conf)
    try:
        admin.list_topics(timeout=5)
    except Exception:
        admin.poll(1)  # serves error_cb
        failed = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
        assert failed, f"failed without an authentication error: {errors}"
        return failed[0]
    return None


def assert_none(error: KafkaError | None) -> None:
    assert error is None, error
