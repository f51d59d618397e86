"""Settings: translation to client configs, validation, precedence, profiles."""

from __future__ import annotations

import json
from pathlib import Path

import certifi
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from pydantic import ValidationError

from streams.config import (
    KafkaSettings,
    RegistrySettings,
    Settings,
    find_state_dir,
    load_settings,
)
from streams.errors import ConfigError, PlatformNotRunningError


@pytest.fixture
def pem(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    # One file may hold the certificate and its key, as mutual-TLS bundles often do.
    path.write_text("-----BEGIN CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n")
    return path


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No STREAMS_ variable or .env from the developer's shell leaks into these tests."""
    import os

    for name in list(os.environ):
        if name.startswith("STREAMS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_plaintext_is_only_the_bootstrap_servers() -> None:
    assert KafkaSettings(bootstrap_servers="b:9092").librdkafka() == {"bootstrap.servers": "b:9092"}


def test_every_kafka_option_maps_to_its_librdkafka_key(pem: Path) -> None:
    settings = KafkaSettings(
        bootstrap_servers="b1:9093,b2:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="alice",
        sasl_password="s3cret",  # type: ignore[arg-type]
        ssl_ca_location=pem,
        ssl_certificate_location=pem,
        ssl_key_location=pem,
        ssl_key_password="keypass",  # type: ignore[arg-type]
        ssl_endpoint_identification=False,
        extra={"client.id": "me", "sasl.username": "overridden"},
    )
    assert settings.librdkafka(group_id="g") == {
        "bootstrap.servers": "b1:9093,b2:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "overridden",
        "sasl.password": "s3cret",
        "ssl.ca.location": str(pem),
        "ssl.certificate.location": str(pem),
        "ssl.key.location": str(pem),
        "ssl.key.password": "keypass",
        "ssl.endpoint.identification.algorithm": "none",
        "client.id": "me",
        "group.id": "g",
    }


def test_secrets_are_masked_when_printed() -> None:
    settings = KafkaSettings(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="alice",
        sasl_password="s3cret",  # type: ignore[arg-type]
    )
    registry = RegistrySettings(basic_auth_username="u", basic_auth_password="p4ss")  # type: ignore[arg-type]
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in str(settings.model_dump())
    assert "p4ss" not in repr(registry)


def test_every_registry_option_maps_to_its_client_key(pem: Path) -> None:
    settings = RegistrySettings(
        url="https://registry:8081",
        basic_auth_username="key",
        basic_auth_password="secret",  # type: ignore[arg-type]
        ssl_ca_location=pem,
    )
    assert settings.client_conf(max_retries=0) == {
        "url": "https://registry:8081",
        "basic.auth.user.info": "key:secret",
        "ssl.ca.location": str(pem),
        "max.retries": 0,
    }
    assert RegistrySettings(url="http://r:1").client_conf() == {"url": "http://r:1"}


def test_confluents_client_accepts_the_registry_conf() -> None:
    """The client refuses unknown keys (e.g. the Java-only basic.auth.credentials.source)."""
    pem = Path(certifi.where())  # a real CA bundle: the client loads it
    settings = RegistrySettings(
        url="https://registry:8081",
        basic_auth_username="key",
        basic_auth_password="secret",  # type: ignore[arg-type]
        ssl_ca_location=pem,
    )
    with SchemaRegistryClient(settings.client_conf(max_retries=0, timeout=3)):
        pass


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"security_protocol": "SASL_SSL"}, "kafka.sasl_mechanism"),
        (
            {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN"},
            "kafka.sasl_username",
        ),
        ({"sasl_mechanism": "PLAIN"}, "kafka.sasl_mechanism"),
        ({"ssl_ca_location": "/nonexistent/ca.pem"}, "kafka.ssl_ca_location"),
        ({"ssl_key_location": "/nonexistent/key.pem"}, "ssl_certificate_location"),
        ({"security_protocol": "TLS"}, "security_protocol"),
    ],
)
def test_invalid_kafka_settings_name_the_setting(kwargs: dict[str, str], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        KafkaSettings(**kwargs)  # type: ignore[arg-type]


def test_registry_basic_auth_needs_both_halves() -> None:
    with pytest.raises(ValidationError, match=r"registry\.basic_auth_username"):
        RegistrySettings(basic_auth_username="u")


def test_load_settings_error_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMS_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(ConfigError, match=r"kafka\.sasl_mechanism: security_protocol SASL_SSL"):
        load_settings()


def _profiles(tmp_path: Path) -> Path:
    path = tmp_path / "mesh.toml"
    path.write_text(
        """
[profiles.prod.kafka]
bootstrap_servers = "prod:9092"
security_protocol = "SASL_SSL"
sasl_mechanism = "PLAIN"
sasl_username = "from-profile"
sasl_password = "profile-secret"
session_timeout_ms = 10000

[profiles.prod.registry]
url = "https://registry.prod"
"""
    )
    return path


def test_a_profile_fills_the_settings(tmp_path: Path) -> None:
    settings = load_settings(profile="prod", profile_files=[_profiles(tmp_path)])
    assert settings.kafka.librdkafka()["sasl.username"] == "from-profile"
    assert settings.kafka.bootstrap_servers == "prod:9092"
    assert settings.registry.url == "https://registry.prod"


def test_precedence_env_over_dotenv_over_profile_over_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = _profiles(tmp_path)
    (tmp_path / ".env").write_text(
        "STREAMS_KAFKA__SASL_USERNAME=from-dotenv\nSTREAMS_KAFKA__BOOTSTRAP_SERVERS=dotenv:9092\n"
    )
    monkeypatch.setenv("STREAMS_KAFKA__BOOTSTRAP_SERVERS", "env:9092")
    settings = load_settings(profile="prod", profile_files=[profiles])
    assert settings.kafka.bootstrap_servers == "env:9092"  # env > .env
    assert settings.kafka.sasl_username == "from-dotenv"  # .env > profile
    assert settings.kafka.session_timeout_ms == 10000  # profile > defaults
    assert settings.local.broker_port == 9092  # defaults


def test_every_part_of_the_tree_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # load_settings once rebuilt the tree field by field and forgot `monitor`: its variables
    # were read by Settings() but silently dropped by load_settings().
    monkeypatch.setenv("STREAMS_MONITOR__PUBLISH_EVERY_S", "1.5")
    monkeypatch.setenv("STREAMS_LOCAL__BROKER_PORT", "19092")
    monkeypatch.setenv("STREAMS_REGISTRY__URL", "http://env:8081")
    monkeypatch.setenv("STREAMS_KAFKA__BOOTSTRAP_SERVERS", "env:9092")
    monkeypatch.setenv("STREAMS_IDENTITY__NAME", "player")
    monkeypatch.setenv("STREAMS_IDENTITY__SECRET", "s" * 30)
    settings = load_settings()
    assert settings.identity.name == "player"
    assert settings.monitor.publish_every_s == 1.5
    assert settings.local.broker_port == 19092
    assert settings.registry.url == "http://env:8081"
    assert settings.kafka.bootstrap_servers == "env:9092"
    assert set(Settings.model_fields) == {"kafka", "registry", "local", "monitor", "identity"}


def test_flags_beat_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.cli._context import connection_settings

    monkeypatch.setenv("STREAMS_KAFKA__BOOTSTRAP_SERVERS", "env:9092")
    monkeypatch.setenv("STREAMS_LOCAL__STATE_DIR", str(tmp_path / "none"))
    settings = connection_settings(
        bootstrap_servers="flag:9092", registry_url="http://flag", check=False
    )
    assert settings.kafka.bootstrap_servers == "flag:9092"
    assert settings.registry.url == "http://flag"


def test_a_missing_profile_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"profile 'qa' not found.*known profiles: prod"):
        load_settings(profile="qa", profile_files=[_profiles(tmp_path)])


def test_extra_librdkafka_properties_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMS_KAFKA__EXTRA", '{"client.id": "mesh", "linger.ms": 7}')
    monkeypatch.setenv("STREAMS_KAFKA__BOOTSTRAP_SERVERS", "b:9092")
    conf = load_settings().kafka.librdkafka()
    assert conf["client.id"] == "mesh"
    assert conf["linger.ms"] == 7


def test_secrets_from_the_environment_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMS_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("STREAMS_KAFKA__SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("STREAMS_KAFKA__SASL_USERNAME", "svc")
    monkeypatch.setenv("STREAMS_KAFKA__SASL_PASSWORD", "env-secret")
    monkeypatch.setenv("STREAMS_KAFKA__BOOTSTRAP_SERVERS", "b:9092")
    settings = load_settings()
    assert settings.kafka.librdkafka()["sasl.password"] == "env-secret"
    assert "env-secret" not in repr(settings)


def test_a_missing_ca_file_names_its_variable() -> None:
    with pytest.raises(ValidationError, match=r"kafka\.ssl_ca_location \(STREAMS_KAFKA__SSL_CA"):
        KafkaSettings(ssl_ca_location="/nonexistent/ca.pem")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("ssl_ca_location", "STREAMS_KAFKA__SSL_CA_LOCATION"),
        ("ssl_certificate_location", "STREAMS_KAFKA__SSL_CERTIFICATE_LOCATION"),
        ("ssl_key_location", "STREAMS_KAFKA__SSL_KEY_LOCATION"),
    ],
)
def test_a_tls_file_without_pem_content_is_refused_at_once(
    tmp_path: Path, pem: Path, name: str, variable: str
) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    files = {"ssl_certificate_location": pem, "ssl_key_location": tmp_path / "key.pem"}
    files["ssl_key_location"].write_text("-----BEGIN PRIVATE KEY-----\n")
    files[name] = junk
    with pytest.raises(ValidationError, match=rf"kafka\.{name} \({variable}\): .*holds no PEM"):
        KafkaSettings(security_protocol="SSL", **files)  # type: ignore[arg-type]


def test_extra_that_is_not_json_is_one_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMS_KAFKA__EXTRA", "{client.id: mesh}")
    with pytest.raises(ConfigError, match=r"kafka\.extra \(STREAMS_KAFKA__EXTRA\).*not valid JSON"):
        load_settings()


def test_a_misspelt_setting_suggests_the_right_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMS_KAFKA__BOOTSTRAP_SERVER", "b:9092")
    with pytest.raises(ConfigError, match=r"did you mean kafka\.bootstrap_servers"):
        load_settings()


@pytest.mark.parametrize(
    ("reason", "named"),
    [
        ('No such configuration property: "no.such.prop"', "kafka.extra (STREAMS_KAFKA__EXTRA)"),
        ('Invalid value for configuration property "request.required.acks"', "kafka.extra"),
        (
            "Failed to create consumer: ssl.ca.location failed: error:05800088:x509 certificate "
            "routines::no certificate or crl found",
            "kafka.ssl_ca_location (STREAMS_KAFKA__SSL_CA_LOCATION)",
        ),
    ],
)
def test_librdkafka_refusals_name_the_setting(pem: Path, reason: str, named: str) -> None:
    settings = KafkaSettings(
        security_protocol="SSL", ssl_ca_location=pem, extra={"no.such.prop": 1, "acks": "x"}
    )
    message = settings.refusal(reason)
    assert message.startswith(named), message
    assert reason.split(":")[0] in message


def _record_platform(
    state_dir: Path, servers: str = "rec:19092", url: str = "http://rec:18081"
) -> None:
    """A state file as `mesh up` writes it (only the two addresses matter to the settings)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "platform.json").write_text(
        json.dumps({"bootstrap_servers": servers, "registry_url": url, "state_dir": str(state_dir)})
    )


def test_the_recorded_platform_is_found_from_a_subdirectory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record_platform(tmp_path / ".mesh")
    (tmp_path / "products" / "player").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "products" / "player")
    settings = load_settings()
    assert settings.kafka.librdkafka()["bootstrap.servers"] == "rec:19092"
    assert settings.registry.client_conf()["url"] == "http://rec:18081"
    assert find_state_dir(settings.local) == tmp_path / ".mesh"


def test_settings_beat_the_recorded_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record_platform(tmp_path / ".mesh")
    monkeypatch.setenv("STREAMS_KAFKA__BOOTSTRAP_SERVERS", "env:9092")
    settings = load_settings()
    assert settings.kafka.bootstrap_servers == "env:9092"
    assert settings.registry.url == "http://rec:18081"


def test_an_explicit_state_dir_is_where_the_platform_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record_platform(tmp_path / ".mesh")
    _record_platform(tmp_path / "elsewhere", servers="other:1")
    monkeypatch.setenv("STREAMS_LOCAL__STATE_DIR", str(tmp_path / "elsewhere"))
    assert load_settings().kafka.bootstrap_servers == "other:1"


def test_nothing_configured_is_one_line_saying_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    settings = load_settings()  # settings alone do not fail: only using an address does
    for use in (settings.kafka.librdkafka, settings.registry.client_conf):
        with pytest.raises(PlatformNotRunningError) as caught:
            use()
        message = str(caught.value)
        assert "\n" not in message
        assert f".mesh/platform.json in {tmp_path / 'sub'} or its parents" in message
        assert "run `mesh up`" in message
        assert "STREAMS_KAFKA__BOOTSTRAP_SERVERS and STREAMS_REGISTRY__URL" in message


def test_only_the_unset_address_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMS_KAFKA__BOOTSTRAP_SERVERS", "env:9092")
    settings = load_settings()
    assert settings.kafka.librdkafka()["bootstrap.servers"] == "env:9092"
    with pytest.raises(
        PlatformNotRunningError, match=r"registry\.url \(STREAMS_REGISTRY__URL\) is"
    ):
        settings.registry.client_conf()
    # An address given later (a command-line flag) is used.
    flagged = settings.registry.model_copy(update={"url": "http://flag"})
    assert flagged.client_conf()["url"] == "http://flag"


def test_an_explicit_state_dir_without_a_platform_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMS_LOCAL__STATE_DIR", str(tmp_path / "none"))
    with pytest.raises(PlatformNotRunningError) as caught:
        load_settings().kafka.librdkafka()
    assert f"no platform recorded in {tmp_path / 'none' / 'platform.json'} (local.state_dir" in str(
        caught.value
    )


def test_the_state_dir_is_the_nearest_mesh_or_the_repository_root(tmp_path: Path) -> None:
    deep = tmp_path / "repo" / "products" / "player"
    deep.mkdir(parents=True)
    local = load_settings().local
    # No .mesh yet: the repository's root (it holds products/), not the directory we are in.
    assert find_state_dir(local, start=deep) == tmp_path / "repo" / ".mesh"
    (deep / ".mesh").mkdir()
    assert find_state_dir(local, start=deep) == deep / ".mesh"
    assert find_state_dir(local, start=tmp_path) == tmp_path / ".mesh"


def test_a_producer_without_settings_never_falls_back_to_default_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streams.kafka import Producer

    with pytest.raises(PlatformNotRunningError, match="run `mesh up`"):
        Producer(domain="player")
    _record_platform(tmp_path / ".mesh", servers="127.0.0.1:1", url="http://127.0.0.1:1")
    with Producer(domain="player") as producer:  # found: the recorded (closed) ports, no error
        assert producer is not None


def test_a_profile_in_the_repository_root_is_found_from_a_subdirectory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mesh.toml").write_text('[profiles.prod.kafka]\nbootstrap_servers = "prod:9092"\n')
    (tmp_path / "products" / "player").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "products" / "player")
    settings = load_settings(profile="prod", profile_files=[Path("mesh.toml")])
    assert settings.kafka.bootstrap_servers == "prod:9092"
