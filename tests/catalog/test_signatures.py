"""Catalog entries are signed by who published them; readers ignore what the owner did not sign.

The topic is shared by every test on the broker, so each test checks its own uuid domain's keys
only. The keys are given to the store directly here; tests/registry checks that the registry
publishes them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson
import pytest
from confluent_kafka import Producer

from streams.catalog import PRODUCTS_TOPIC, Catalog, CatalogEntry, CatalogStore, Signatures
from streams.config import IdentitySettings, Settings
from streams.errors import ConfigError
from streams.identity import ADMIN, Credential, generate_credential, seal
from streams.registry.control import ControlPlane
from tests.catalog._entries import descriptor, domain, entry

ADMIN_CREDENTIAL = generate_credential(ADMIN)


def _as(settings: Settings, credential: Credential | None) -> Settings:
    identity = (
        IdentitySettings()
        if credential is None
        else IdentitySettings(name=credential.name, secret=credential.secret)
    )
    return settings.model_copy(update={"identity": identity})


@pytest.fixture
def owner() -> Credential:
    return generate_credential(domain())


@pytest.fixture
def signatures(owner: Credential) -> Signatures:
    return Signatures(
        enforced=True,
        keys={owner.name: owner.public_key(), ADMIN: ADMIN_CREDENTIAL.public_key()},
    )


@pytest.fixture
def reader(settings: Settings, signatures: Signatures) -> Iterator[CatalogStore]:
    with CatalogStore(settings=settings, signatures=signatures) as store:
        yield store


def _publish(settings: Settings, credential: Credential | None, item: CatalogEntry) -> None:
    with CatalogStore(settings=_as(settings, credential)) as store:
        store.publish(item)


def _raw(settings: Settings, key: str, value: bytes | None) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap_servers})
    producer.produce(PRODUCTS_TOPIC, key=key.encode(), value=value)
    assert producer.flush(10) == 0


def _rejection(store: CatalogStore, key: str) -> str | None:
    return next((r.reason for r in store.rejected if r.key == key), None)


def test_an_entry_signed_by_its_domain_is_read(
    settings: Settings, owner: Credential, reader: CatalogStore
) -> None:
    item = entry(descriptor(owner.name))
    _publish(settings, owner, item)
    assert reader.read()[item.key] == item
    assert _rejection(reader, item.key) is None


def test_the_admin_may_publish_for_a_domain(
    settings: Settings, owner: Credential, reader: CatalogStore
) -> None:
    item = entry(descriptor(owner.name))
    _publish(settings, ADMIN_CREDENTIAL, item)
    assert item.key in reader.read()


def test_another_domain_cannot_publish_a_domains_product(
    settings: Settings, owner: Credential, reader: CatalogStore, signatures: Signatures
) -> None:
    intruder = generate_credential(domain())
    keys = {**signatures.keys, intruder.name: intruder.public_key()}
    item = entry(descriptor(owner.name))
    _publish(settings, intruder, item)
    with CatalogStore(settings=settings, signatures=Signatures(True, keys)) as store:
        assert item.key not in store.read()
        reason = _rejection(store, item.key)
    assert reason is not None
    assert f"signed by {intruder.name!r}" in reason
    assert f"only domain {owner.name!r}" in reason


def test_a_forged_entry_is_ignored_and_reported(
    settings: Settings,
    owner: Credential,
    reader: CatalogStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    genuine = entry(descriptor(owner.name))
    _publish(settings, owner, genuine)
    # Someone who can write the topic but does not hold the domain's secret: they claim to be
    # the owner, with a key of their own.
    forger = Credential(name=owner.name, secret="f" * 43)
    forged = entry(descriptor(owner.name, description={"purpose": "Forged.", "usage": "x"}))
    _raw(settings, forged.key, orjson.dumps(seal(forged.to_data(), forger)))
    with caplog.at_level(logging.INFO, logger="streams.catalog.store"):
        found = reader.read()
    assert found[genuine.key] == genuine  # the forgery did not replace the genuine entry
    reason = _rejection(reader, genuine.key)
    assert reason is not None
    assert "forged or altered" in reason
    reasons = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(genuine.key in message and "forged" in message for message in reasons)
    summary = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(summary) == 1
    assert "catalog record(s) in _mesh.products" in summary[0]


def test_an_altered_entry_is_ignored(
    settings: Settings, owner: Credential, reader: CatalogStore
) -> None:
    item = entry(descriptor(owner.name))
    sealed = seal(item.to_data(), owner)
    sealed["schema_id"] = 999  # changed after signing
    _raw(settings, item.key, orjson.dumps(sealed))
    assert item.key not in reader.read()
    assert "forged or altered" in (_rejection(reader, item.key) or "")


def test_an_unsigned_entry_is_ignored_when_signatures_are_enforced(
    settings: Settings, owner: Credential, reader: CatalogStore
) -> None:
    item = entry(descriptor(owner.name))
    _publish(settings, None, item)
    assert item.key not in reader.read()
    assert "not signed" in (_rejection(reader, item.key) or "")
    catalog = Catalog(reader.read(), rejected=reader.rejected)
    with pytest.raises(ConfigError, match=r"in the catalog .* but ignored: not signed"):
        catalog.show(item.key)


def test_a_signed_value_moved_to_another_key_is_ignored(
    settings: Settings, owner: Credential, reader: CatalogStore
) -> None:
    item = entry(descriptor(owner.name))
    other = f"{owner.name}.other_events.v1"
    _raw(settings, other, orjson.dumps(seal(item.to_data(), owner)))
    assert other not in reader.read()
    assert f"not {other!r}" in (_rejection(reader, other) or "")


def test_only_a_signed_removal_removes(
    settings: Settings, owner: Credential, reader: CatalogStore
) -> None:
    item = entry(descriptor(owner.name))
    _publish(settings, owner, item)
    _raw(settings, item.key, None)  # an unsigned tombstone: anyone could write it
    assert item.key in reader.read()
    assert "unsigned tombstone" in (_rejection(reader, item.key) or "")
    with CatalogStore(settings=_as(settings, owner)) as store:
        store.remove(item.key)
    assert item.key not in reader.read()
    assert _rejection(reader, item.key) is None


def test_a_revoked_domains_entries_are_ignored(
    settings: Settings, owner: Credential, signatures: Signatures
) -> None:
    item = entry(descriptor(owner.name))
    _publish(settings, owner, item)
    revoked = Signatures(True, {ADMIN: ADMIN_CREDENTIAL.public_key()})
    with CatalogStore(settings=settings, signatures=revoked) as store:
        assert item.key not in store.read()
        assert "no published key (revoked?)" in (_rejection(store, item.key) or "")


def test_without_auth_every_entry_is_read(settings: Settings, owner: Credential) -> None:
    item = entry(descriptor(owner.name))
    _publish(settings, None, item)
    with CatalogStore(settings=settings, signatures=Signatures(enforced=False)) as store:
        assert item.key in store.read()


def test_the_keys_come_from_the_registry(settings: Settings) -> None:
    # The session platform's registry authenticates: the domains the admin created sign, and a
    # revoked domain's entries are ignored from then on.
    owner = generate_credential(domain())
    item = entry(descriptor(owner.name))
    with ControlPlane(settings.registry) as control:
        control.create_domain(owner)
        _publish(settings, owner, item)
        with CatalogStore(settings=settings) as store:
            assert store.signatures().enforced is True
            assert store.read()[item.key] == item
        control.revoke_domain(owner.name)
    with CatalogStore(settings=settings) as store:
        assert item.key not in store.read()
        reason = _rejection(store, item.key) or ""
    assert f"signed by {owner.name!r}, a domain the admin revoked" in reason
    assert f"mesh domain create {owner.name} --rotate" in reason


def test_the_admin_key_is_the_registrys_admin(settings: Settings) -> None:
    trust = Signatures.load(settings)
    assert trust.enforced is True
    assert trust.keys[ADMIN] == settings.identity.credential().public_key()  # type: ignore[union-attr]
