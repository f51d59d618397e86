"""`mesh product apply` runs as a domain: it publishes its own products, signed by it, and is
refused another domain's before anything changes."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from streams.catalog import PRODUCTS_TOPIC, CatalogStore, apply, plan
from streams.config import IdentitySettings, Settings
from streams.errors import GovernanceError
from streams.identity import Credential, generate_credential
from streams.registry.control import ControlPlane
from tests.catalog import test_plan_apply
from tests.catalog.test_plan_apply import Repo, actions

repo = test_plan_apply.repo  # a fresh domain's PlayEvent product per test


def _as(settings: Settings, credential: Credential) -> Settings:
    identity = IdentitySettings(name=credential.name, secret=credential.secret)
    registry = settings.registry.model_copy(
        update={"basic_auth_username": None, "basic_auth_password": None}
    )
    return Settings(kafka=settings.kafka, registry=registry, identity=identity)


@pytest.fixture
def domain(repo: Repo) -> Iterator[Credential]:
    credential = generate_credential(repo.domain)
    with ControlPlane(repo.settings.registry) as control:
        control.create_domain(credential)
        yield credential
        control.revoke_domain(credential.name)


def _signer(settings: Settings, key: str) -> str | None:
    consumer = Consumer({"bootstrap.servers": settings.kafka.bootstrap_servers, "group.id": "x"})
    consumer.assign([TopicPartition(PRODUCTS_TOPIC, 0, OFFSET_BEGINNING)])
    found = None
    try:
        while (message := consumer.poll(2)) is not None:
            if message.error() is None and message.key() == key.encode() and message.value():
                found = orjson.loads(message.value()).get("signed_by")
    finally:
        consumer.close()
    return found


def test_a_domain_applies_its_own_product_signed_by_it(repo: Repo, domain: Credential) -> None:
    settings = _as(repo.settings, domain)
    apply(repo.load(), settings=settings)
    assert _signer(settings, repo.topic) == domain.name
    with CatalogStore(settings=settings) as store:
        assert repo.topic in store.read()  # readers accept the owner's signature
    assert actions(plan(repo.load(), settings=settings)) == []


def test_another_domain_is_refused_before_anything_changes(repo: Repo) -> None:
    intruder = generate_credential(f"{repo.domain}x")
    with ControlPlane(repo.settings.registry) as control:
        control.create_domain(intruder)
        try:
            settings = _as(repo.settings, intruder)
            changes = plan(repo.load(), settings=settings)
            assert [(c.action, c.blocking) for c in changes] == [("blocked", True)]
            assert f"identity {intruder.name!r} may not apply the products of" in changes[0].detail
            assert f"mesh --as {repo.domain} product apply" in changes[0].detail
            with pytest.raises(GovernanceError, match="may not apply"):
                apply(repo.load(), settings=settings)
            assert repo.partitions() == {}  # no topic was created
        finally:
            control.revoke_domain(intruder.name)
