"""``ListenerSecurity``: a Kafka whose client listener wants SASL/SCRAM, users made at format.

No JVM here: the properties are parsed and ``format_storage`` runs a stand-in ``java`` that
records its arguments. The real broker with these settings: ``tests/helpers/sasl_kafka.py``.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from streams.local._kafka import KafkaRuntime, ListenerSecurity, format_storage, write_properties

USERS = {"admin": "admin-pw", "alice": "alice-pw"}


def _props(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_the_default_listener_stays_plaintext(tmp_path: Path) -> None:
    props = _props(
        write_properties(kafka_dir=tmp_path, host="127.0.0.1", port=1234, controller_port=1235)
    )
    assert props["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert not any(key.startswith(("sasl.", "ssl.", "listener.name.")) for key in props)


def test_a_scram_listener_and_the_broker_logs_in_as_the_first_user(tmp_path: Path) -> None:
    security = ListenerSecurity(users=USERS)
    path = write_properties(
        kafka_dir=tmp_path, host="127.0.0.1", port=1234, controller_port=1235, security=security
    )
    props = _props(path)
    assert props["listeners"] == "SASL_PLAINTEXT://127.0.0.1:1234,CONTROLLER://127.0.0.1:1235"
    assert props["advertised.listeners"] == "SASL_PLAINTEXT://127.0.0.1:1234"
    assert props["inter.broker.listener.name"] == "SASL_PLAINTEXT"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    jaas = props["listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config"]
    assert 'username="admin" password="admin-pw"' in jaas
    assert "ScramLoginModule" in jaas


def test_a_keystore_adds_a_sasl_ssl_listener(tmp_path: Path) -> None:
    keystore = tmp_path / "broker.pem"
    security = ListenerSecurity(users=USERS, keystore=keystore)
    props = _props(
        write_properties(
            kafka_dir=tmp_path,
            host="127.0.0.1",
            port=1,
            controller_port=2,
            security=security,
            ssl_port=3,
        )
    )
    assert props["advertised.listeners"] == "SASL_PLAINTEXT://127.0.0.1:1,SASL_SSL://127.0.0.1:3"
    assert props["inter.broker.listener.name"] == "SASL_PLAINTEXT"
    assert props["ssl.keystore.type"] == "PEM"
    assert props["ssl.keystore.location"] == str(keystore)
    assert "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config" in props
    with pytest.raises(ValueError, match="both a keystore and ssl_port"):
        write_properties(kafka_dir=tmp_path, host="h", port=1, controller_port=2, security=security)


def test_format_creates_the_users_and_logs_no_password(tmp_path: Path) -> None:
    argv = tmp_path / "argv"
    java = tmp_path / "java"
    java.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {argv}\n')
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    runtime = KafkaRuntime(java=str(java), java_major=17, libs=tmp_path)
    security = ListenerSecurity(users=USERS)
    properties = write_properties(
        kafka_dir=tmp_path / "kafka", host="h", port=1, controller_port=2, security=security
    )
    log = tmp_path / "broker.log"
    assert format_storage(
        runtime, properties=properties, log_path=log, timeout_s=30, security=security
    )
    args = argv.read_text().splitlines()
    assert args[args.index("--add-scram") + 1] == "SCRAM-SHA-512=[name=admin,password=admin-pw]"
    assert "SCRAM-SHA-512=[name=alice,password=alice-pw]" in args
    assert "--add-scram ..." in log.read_text()
    assert "admin-pw" not in log.read_text()
    assert "alice-pw" not in log.read_text()
    # The broker's own password is in its config: only its owner may read it.
    assert stat.S_IMODE(properties.stat().st_mode) == 0o600


@pytest.mark.parametrize("password", ['a"b', "a,b", "a]b"])
def test_a_password_the_formats_cannot_carry_is_refused(password: str) -> None:
    with pytest.raises(ValueError, match="may not contain"):
        ListenerSecurity(users={"admin": password}).scram_arguments()
    assert ListenerSecurity(users={"admin": "fine-pw"}).scram_arguments()


def test_the_broker_needs_a_user() -> None:
    with pytest.raises(ValueError, match="at least one user"):
        ListenerSecurity(users={})


def test_an_authorizer_makes_the_first_user_the_only_super_user(tmp_path: Path) -> None:
    security = ListenerSecurity(users=USERS, mechanism="SCRAM-SHA-256", authorizer=True)
    path = write_properties(
        kafka_dir=tmp_path, host="127.0.0.1", port=1234, controller_port=1235, security=security
    )
    props = _props(path)
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["super.users"] == "User:admin"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    # The controller knows the broker as the super user too (it checks its registration).
    assert props["listener.security.protocol.map"].endswith("CONTROLLER:SASL_PLAINTEXT")
    assert props["sasl.mechanism.controller.protocol"] == "PLAIN"
    assert 'user_admin="admin-pw"' in props["listener.name.controller.plain.sasl.jaas.config"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_without_an_authorizer_there_are_no_acls(tmp_path: Path) -> None:
    path = write_properties(
        kafka_dir=tmp_path,
        host="127.0.0.1",
        port=1234,
        controller_port=1235,
        security=ListenerSecurity(users=USERS),
    )
    props = _props(path)
    assert "authorizer.class.name" not in props
    assert props["listener.security.protocol.map"].endswith("CONTROLLER:PLAINTEXT")
