"""``mesh registry serve`` takes the whole settings tree: env, ``--profile``, then flags.

The server itself is replaced by a recorder (no network): these tests pin what reaches it.
The same settings on a real SASL cluster: ``test_sasl_cluster.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import streams.registry
from streams.cli import EXIT_FAILED, EXIT_OK, main
from streams.config import KafkaSettings

SASL_ENV = {
    "STREAMS_KAFKA__BOOTSTRAP_SERVERS": "corp-1:9096,corp-2:9096",
    "STREAMS_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
    "STREAMS_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
    "STREAMS_KAFKA__SASL_USERNAME": "registry",
    "STREAMS_KAFKA__SASL_PASSWORD": "s3cret",
}


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """What ``serve()`` was called with; no ``STREAMS_`` variables or ``.env`` from outside."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(streams.registry, "serve", lambda **kw: calls.append(kw), raising=False)
    monkeypatch.chdir(tmp_path)
    for key in [key for key in os.environ if key.startswith("STREAMS_")]:
        monkeypatch.delenv(key)
    return calls


def _serve(*args: str) -> Any:
    return CliRunner().invoke(main, ["registry", "serve", *args])


def test_the_kafka_settings_reach_the_server_and_a_flag_overrides_one(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in SASL_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("STREAMS_REGISTRY__TOPIC", "_env_schemas")
    assert _serve().exit_code == EXIT_OK
    assert served[0]["topic"] == "_env_schemas"
    assert served[0]["kafka"].bootstrap_servers == "corp-1:9096,corp-2:9096"
    result = _serve("--bootstrap-servers", "flag:9096", "--topic", "_flag_schemas")
    assert result.exit_code == EXIT_OK, result.output
    assert served[1]["topic"] == "_flag_schemas"
    kafka: KafkaSettings = served[1]["kafka"]
    assert kafka.librdkafka() == {
        "bootstrap.servers": "flag:9096",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "registry",
        "sasl.password": "s3cret",
    }


def test_a_profile_names_the_cluster_and_the_environment_the_password(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "mesh.toml").write_text(
        "[profiles.corp.kafka]\n"
        'bootstrap_servers = "corp-1:9096"\n'
        'security_protocol = "SASL_PLAINTEXT"\n'
        'sasl_mechanism = "PLAIN"\n'
        'sasl_username = "registry"\n'
        'extra = { "client.id" = "registry-a" }\n'
        "[profiles.corp.registry]\n"
        'topic = "_corp_schemas"\n'
        'advertised_url = "http://reg-a:8081"\n'
    )
    monkeypatch.setenv("STREAMS_KAFKA__SASL_PASSWORD", "from-env")
    result = _serve("--profile", "corp")
    assert result.exit_code == EXIT_OK, result.output
    call = served[0]
    assert call["topic"] == "_corp_schemas"
    assert call["advertised_url"] == "http://reg-a:8081"
    conf = call["kafka"].librdkafka()
    assert conf["sasl.password"] == "from-env"
    assert conf["client.id"] == "registry-a"
    assert conf["bootstrap.servers"] == "corp-1:9096"


def test_the_advertised_url_setting_the_old_variable_and_the_flag(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMS_REGISTRY__ADVERTISED_URL", "http://setting:8081")
    assert _serve().exit_code == EXIT_OK
    monkeypatch.setenv("STREAMS_REGISTRY_ADVERTISED_URL", "http://old-variable:8081")
    assert _serve().exit_code == EXIT_OK
    assert _serve("--advertised-url", "http://flag:8081").exit_code == EXIT_OK
    assert [call["advertised_url"] for call in served] == [
        "http://setting:8081",
        "http://old-variable:8081",
        "http://flag:8081",
    ]


def test_incomplete_sasl_settings_are_one_line_naming_the_setting(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMS_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    result = _serve()
    assert result.exit_code == EXIT_FAILED, result.output
    assert served == []
    assert result.output.count("\n") == 1
    assert "kafka.sasl_mechanism" in result.output
    assert "STREAMS_KAFKA__SASL_MECHANISM" in result.output
