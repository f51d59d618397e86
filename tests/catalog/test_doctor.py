"""``diagnose`` against the session platform (both brokers) and against closed ports."""

from __future__ import annotations

import socket

from confluent_kafka.admin import AdminClient

from streams.catalog.doctor import diagnose
from streams.config import KafkaSettings, RegistrySettings, Settings

CHECKS = ["broker", "topics", "catalog", "registry", "compatibility"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_every_check_passes_on_the_platform(settings: Settings) -> None:
    findings = diagnose(settings, timeout_s=10)
    assert [f.check for f in findings] == CHECKS
    assert [f.outcome for f in findings] == ["ok"] * 5, findings
    by_check = {f.check: f.detail for f in findings}
    assert "1 broker(s)" in by_check["broker"]
    assert "compatibility level BACKWARD" in by_check["compatibility"]
    assert "_mesh.products" in by_check["catalog"]
    doctor_topics = [
        name
        for name in AdminClient(settings.kafka.librdkafka()).list_topics(timeout=10).topics
        if name.startswith("_mesh.doctor_")
    ]
    assert doctor_topics == []  # the probe topic was deleted


def test_closed_ports_are_unreachable() -> None:
    settings = Settings(
        kafka=KafkaSettings(bootstrap_servers=f"127.0.0.1:{_closed_port()}"),
        registry=RegistrySettings(url=f"http://127.0.0.1:{_closed_port()}"),
    )
    findings = diagnose(settings, timeout_s=1)
    assert [(f.check, f.outcome) for f in findings] == [
        ("broker", "unreachable"),
        ("topics", "skipped"),
        ("catalog", "skipped"),
        ("registry", "unreachable"),
        ("compatibility", "skipped"),
    ]
    assert all("\n" not in f.detail for f in findings)
    assert "STREAMS_KAFKA__BOOTSTRAP_SERVERS" in findings[0].fix
    assert "STREAMS_REGISTRY__URL" in findings[3].fix


def test_wrong_credentials_never_appear_in_findings() -> None:
    settings = Settings(
        kafka=KafkaSettings(
            bootstrap_servers=f"127.0.0.1:{_closed_port()}",
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="PLAIN",
            sasl_username="alice",
            sasl_password="hunter2-secret",  # type: ignore[arg-type]
        ),
        registry=RegistrySettings(
            url=f"http://127.0.0.1:{_closed_port()}",
            basic_auth_username="bob",
            basic_auth_password="registry-secret",  # type: ignore[arg-type]
        ),
    )
    text = repr(diagnose(settings, timeout_s=1))
    assert "hunter2-secret" not in text
    assert "registry-secret" not in text
