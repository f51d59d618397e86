"""The broker's enforcement point on real brokers.

On Apache Kafka started by ``mesh up`` with authentication (its own platform: SASL_PLAINTEXT
SCRAM-SHA-256 and StandardAuthorizer; the session platform stays PLAINTEXT): SCRAM users,
domain ACLs, grants. On brokers without an authorizer (Tansu, PLAINTEXT Kafka): "not enforced",
checked in a child process, since an ACL call on Tansu would abort the process.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from streams.identity import Credential, generate_credential, read_credential
from streams.kafka.access import ENFORCED, NOT_ENFORCED, KafkaBrokerAccess
from streams.local import PlatformInfo, start, status
from streams.local._state import read_state
from tests.helpers.brokers import kafka_settings
from tests.helpers.secure_kafka import (
    admin_of,
    assert_none,
    connects,
    create,
    eventually,
    login,
    produce,
    read,
)


def _domain(info: PlatformInfo, access: KafkaBrokerAccess) -> Credential:
    credential = generate_credential(f"d{uuid.uuid4().hex[:8]}")
    assert access.upsert_user(credential) == ENFORCED
    assert access.allow_domain(credential.name) == ENFORCED
    return credential


def test_mesh_up_records_sasl_and_keeps_the_admin_secret_private(secure: PlatformInfo) -> None:
    state = read_state(secure.state_dir)
    assert state is not None
    assert (state.security_protocol, state.sasl_mechanism) == ("SASL_PLAINTEXT", "SCRAM-SHA-256")
    assert (secure.security_protocol, secure.sasl_mechanism) == ("SASL_PLAINTEXT", "SCRAM-SHA-256")
    path = secure.state_dir / "credentials" / "admin.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    admin = read_credential(path)
    assert admin.secret not in (secure.state_dir / "platform.json").read_text()
    assert all(admin.secret not in " ".join(r.command) for r in state.services)
    # The monitor started and logged in (it is ready only once it consumes).
    assert secure.monitor_pid is not None


def test_the_registry_logs_in_as_the_admin(secure: PlatformInfo) -> None:
    # Registering writes _schemas: only a logged-in super user may.
    with SchemaRegistryClient(secure.registry_conf()) as registry:
        schema = Schema(json.dumps({"type": "record", "name": "R", "fields": []}), "AVRO")
        assert registry.register_schema(f"d{uuid.uuid4().hex[:8]}.r.v1-value", schema) >= 1


def test_an_unknown_password_cannot_connect(secure: PlatformInfo) -> None:
    error = connects(login(secure, generate_credential("nobody")))
    assert error is not None
    assert "SCRAM-SHA-256" in error.str()
    assert connects(login(secure, admin_of(secure))) is None


def test_a_domain_writes_its_own_topics_only(secure: PlatformInfo) -> None:
    access = KafkaBrokerAccess(login(secure, admin_of(secure)), broker_kind="kafka")
    assert access.enforced
    player, other = _domain(secure, access), _domain(secure, access)
    own, foreign = f"{player.name}.plays.v1", f"{other.name}.plays.v1"

    eventually(lambda: assert_none(create(login(secure, player), own)))
    eventually(lambda: assert_none(create(login(secure, other), foreign)))
    assert eventually(lambda: assert_none(produce(login(secure, player), own))) is None
    refused = produce(login(secure, player), foreign)
    assert refused is not None
    assert refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # Creating a topic under another domain's prefix is refused too.
    stolen = create(login(secure, player), f"{other.name}.stolen.v1")
    assert stolen is not None
    assert stolen.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_reading_another_domain_needs_a_grant(secure: PlatformInfo) -> None:
    access = KafkaBrokerAccess(login(secure, admin_of(secure)), broker_kind="kafka")
    owner, reader = _domain(secure, access), _domain(secure, access)
    topic = f"{owner.name}.plays.v1"
    eventually(lambda: assert_none(create(login(secure, owner), topic)))
    assert eventually(lambda: assert_none(produce(login(secure, owner), topic))) is None

    def refused() -> None:
        got = read(login(secure, reader), topic)
        assert isinstance(got, KafkaError), got
        assert got.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, got

    def granted() -> None:
        assert read(login(secure, reader), topic) == b"v"

    refused()
    assert access.grant_read(f"{owner.name}.plays", reader.name) == ENFORCED
    assert access.grant_read(f"{owner.name}.plays", reader.name) == ENFORCED  # idempotent
    eventually(granted)
    assert access.revoke_read(f"{owner.name}.plays", reader.name) == ENFORCED
    eventually(refused)
    assert access.revoke_read(f"{owner.name}.plays", reader.name) == ENFORCED  # idempotent


def test_a_removed_user_cannot_connect_and_a_revoked_domain_writes_nothing(
    secure: PlatformInfo,
) -> None:
    access = KafkaBrokerAccess(login(secure, admin_of(secure)), broker_kind="kafka")
    gone = _domain(secure, access)
    topic = f"{gone.name}.plays.v1"
    eventually(lambda: assert_none(create(login(secure, gone), topic)))
    eventually(lambda: assert_none(produce(login(secure, gone), topic)))
    assert access.revoke_domain(gone.name) == ENFORCED

    def write_refused() -> None:
        error = produce(login(secure, gone), topic)
        assert error is not None
        assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED

    eventually(write_refused)
    assert access.remove_user(gone.name) == ENFORCED
    assert access.remove_user(gone.name) == ENFORCED  # idempotent

    def cannot_connect() -> None:
        assert connects(login(secure, gone)) is not None, "a deleted SCRAM user still connects"

    eventually(cannot_connect)


_PROBE = """
import sys
from streams.config import KafkaSettings
from streams.kafka.access import KafkaBrokerAccess
from streams.identity import generate_credential
kind = sys.argv[2] or None
access = KafkaBrokerAccess(KafkaSettings(bootstrap_servers=sys.argv[1]), broker_kind=kind)
print(access.enforced)
print(access.upsert_user(generate_credential("player")))
print(access.allow_domain("player"))
print(access.grant_read("player.plays", "listeners"))
print(access.revoke_read("player.plays", "listeners"))
print(access.revoke_domain("player"))
print(access.remove_user("player"))
"""


@pytest.mark.parametrize("known", [True, False], ids=["kind-recorded", "kind-detected"])
def test_a_broker_without_acls_is_reported_and_never_asked(
    platform: PlatformInfo, tmp_path: Path, known: bool
) -> None:
    # In a child process: on Tansu a single ACL call would abort it (rc -6, SIGABRT).
    script = tmp_path / "probe.py"
    script.write_text(_PROBE)
    kind = platform.broker_kind if known else ""
    done = subprocess.run(
        [sys.executable, str(script), platform.bootstrap_servers, kind],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["False"] + [NOT_ENFORCED] * 6


def test_a_restarted_registry_logs_in_again(secure: PlatformInfo) -> None:
    # The monitor, started beside it, consumes as the admin: it runs and logged no refusal.
    monitor = secure.monitor_log
    assert monitor is not None
    assert "uthentication failed" not in monitor.read_text()
    os.kill(secure.registry_pid, signal.SIGTERM)  # our own child, by its recorded PID
    deadline = time.monotonic() + 15
    while status(secure.state_dir).running and time.monotonic() < deadline:
        time.sleep(0.1)
    settings = kafka_settings(kafka_sasl=True, state_dir=secure.state_dir)
    again = start(settings)
    assert again.registry_restarted
    with SchemaRegistryClient(again.registry_conf()) as registry:
        schema = Schema(json.dumps({"type": "record", "name": "R", "fields": []}), "AVRO")
        assert registry.register_schema(f"d{uuid.uuid4().hex[:8]}.r.v1-value", schema) >= 1


def test_a_domain_writes_the_shared_catalog_but_neither_writes_nor_reads_wrapped_keys(
    secure: PlatformInfo,
) -> None:
    admin = login(secure, admin_of(secure))
    access = KafkaBrokerAccess(admin, broker_kind="kafka")
    player = _domain(secure, access)
    for topic in ("_mesh.products", "_mesh.keys"):
        assert_none(create(admin, topic))
    eventually(lambda: assert_none(produce(login(secure, player), "_mesh.products")))
    assert read(login(secure, player), "_mesh.products") == b"v"
    # Only the registry's key service (the admin) writes and reads the data keys.
    written = produce(login(secure, player), "_mesh.keys")
    assert isinstance(written, KafkaError)
    assert written.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    refused = read(login(secure, player), "_mesh.keys")
    assert isinstance(refused, KafkaError)
    assert refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
