"""The registry drives the broker's enforcement point, end to end through the CLI, on Apache
Kafka as ``mesh up`` starts it with authentication (tests/helpers/secure_kafka.py).

``mesh domain create`` gives the domain a working SCRAM login and its ACLs, ``mesh domain
revoke`` takes both away; ``mesh access grant`` lets a consumer read a product's topics and
``mesh access revoke`` stops it. Every client here is a raw confluent-kafka client logging in
with the credential file the CLI wrote.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from confluent_kafka import KafkaError

from streams.cli import EXIT_OK, main
from streams.identity import Credential, read_credential
from streams.kafka.access import ENFORCED
from streams.local import PlatformInfo
from tests.helpers.secure_kafka import (
    assert_none,
    connects,
    create,
    eventually,
    login,
    produce,
    read,
)


@pytest.fixture
def cli(secure: PlatformInfo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """``mesh ...`` on the secure platform: as its admin, or ``--as`` a domain whose credential
    ``mesh domain create`` wrote into the platform's state directory."""
    monkeypatch.setenv("STREAMS_LOCAL__STATE_DIR", str(secure.state_dir))
    monkeypatch.setenv("STREAMS_IDENTITY__FILE", str(secure.state_dir / "credentials/admin.json"))
    monkeypatch.chdir(tmp_path)

    def run(*args: str, who: str | None = None) -> Result:
        as_ = [] if who is None else ["--as", who]
        result = CliRunner().invoke(main, [*as_, *args, "--registry-url", secure.registry_url])
        assert result.exit_code == EXIT_OK, result.output
        return result

    return run


def _domain(cli: Any, secure: PlatformInfo) -> Credential:
    name = f"d{uuid.uuid4().hex[:8]}"
    created = json.loads(cli("domain", "create", name, "--output", "json").stdout)
    assert created["broker_acls"] == ENFORCED
    return read_credential(secure.state_dir / "credentials" / f"{name}.json")


def test_domain_create_gives_a_working_login_and_revoke_takes_it_away(
    cli: Any, secure: PlatformInfo
) -> None:
    player, other = _domain(cli, secure), _domain(cli, secure)
    own, foreign = f"{player.name}.plays.v1", f"{other.name}.plays.v1"
    assert connects(login(secure, player)) is None
    eventually(lambda: assert_none(create(login(secure, player), own)))
    eventually(lambda: assert_none(produce(login(secure, player), own)))
    eventually(lambda: assert_none(create(login(secure, other), foreign)))
    refused = produce(login(secure, player), foreign)
    assert refused is not None
    assert refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED

    revoked = json.loads(cli("domain", "revoke", player.name, "--output", "json").stdout)
    assert revoked["broker_acls"] == ENFORCED

    def cannot_connect() -> None:
        assert connects(login(secure, player)) is not None, "a revoked domain still logs in"

    eventually(cannot_connect)


def test_a_consumer_reads_a_product_only_while_granted(cli: Any, secure: PlatformInfo) -> None:
    owner, reader = _domain(cli, secure), _domain(cli, secure)
    product = f"{owner.name}.plays"
    topic = f"{product}.v1"
    eventually(lambda: assert_none(create(login(secure, owner), topic)))
    eventually(lambda: assert_none(produce(login(secure, owner), topic)))

    def refused() -> None:
        got = read(login(secure, reader), topic)
        assert isinstance(got, KafkaError), got
        assert got.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, got

    def granted() -> None:
        assert read(login(secure, reader), topic) == b"v"

    refused()
    asked = cli("access", "request", product, "--purpose", "weekly charts", who=reader.name)
    # The reader read the catalog over SASL as itself (the product is not published).
    assert f"{product} is not in the catalog (yet)" in asked.stderr
    refused()  # asking is not being granted
    answer = cli(
        "access", "grant", product, "--to", reader.name, "--output", "json", who=owner.name
    )
    assert json.loads(answer.stdout)["broker_acls"] == ENFORCED
    eventually(granted)
    answer = cli(
        "access", "revoke", product, "--from", reader.name, "--output", "json", who="admin"
    )
    assert json.loads(answer.stdout)["broker_acls"] == ENFORCED
    eventually(refused)
