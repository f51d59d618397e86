"""The registry's key service (/mesh/v1/keys): who gets the pseudonym key, who may publish,
release and forget, and what a forgotten subject's keys answer. In-process registry with
authentication, memory logs, a local KEK in a temporary directory."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from streams.identity import Credential, generate_credential
from streams.pii import DataKey, LocalKeyProvider, Pseudonymizer, read_secret_file
from streams.registry import KeyService, MemoryDomainLog, MemoryStorage, RegistryAuth
from tests.registry.conftest import ThreadedRegistry

PRODUCT = "listeners.registrations"


class Keys:
    def __init__(self, tmp: Path, log: MemoryDomainLog | None = None, **service: Any) -> None:
        self.service = service
        self.admin = generate_credential("admin")
        self.player = generate_credential("player")
        self.listeners = generate_credential("listeners")
        self.log = log or MemoryDomainLog()
        self.tmp = tmp
        self.domains = MemoryDomainLog()
        self.registry = self._start()

    def _start(self) -> ThreadedRegistry:
        service = KeyService(
            provider=LocalKeyProvider(self.tmp / "kek.json"),
            pseudonym_key=read_secret_file(self.tmp / "pseudonym.json", create=True),
            log=self.log,
            **self.service,
        )
        auth = RegistryAuth(admin=self.admin, domains=self.domains)
        registry = ThreadedRegistry(MemoryStorage(), auth=auth, keys=service).start()
        with self.http(self.admin, registry.url) as client:
            for domain in (self.player, self.listeners):
                body = {"name": domain.name, "secret": domain.secret}
                assert client.post("/mesh/v1/domains", json=body).status_code == 200
        return registry

    def http(self, who: Credential | None, url: str | None = None) -> httpx.Client:
        auth = None if who is None else (who.name, who.secret)
        return httpx.Client(base_url=url or self.registry.url, auth=auth, trust_env=False)

    def pseudonyms(self) -> Pseudonymizer:
        with self.http(self.listeners) as client:
            key = client.get("/mesh/v1/keys/pseudonym").json()["key"]
        return Pseudonymizer(base64.b64decode(key))

    def new_keys(self, *subjects: str, product: str = PRODUCT) -> list[DataKey]:
        pseudonyms = self.pseudonyms()
        return [
            DataKey.create(product, pseudonyms.subject_tag(pseudonyms.string(subject)))
            for subject in subjects
        ]

    def publish(self, who: Credential, keys: list[DataKey]) -> httpx.Response:
        body = {
            "ids": [k.id for k in keys],
            "keys": base64.b64encode(b"".join(k.secret for k in keys)).decode(),
        }
        with self.http(who) as client:
            return client.post("/mesh/v1/keys/publish", json=body)

    def release(
        self, who: Credential, keys: list[DataKey], product: str = PRODUCT
    ) -> httpx.Response:
        with self.http(who) as client:
            body = {"product": product, "key_ids": [k.id for k in keys]}
            return client.post("/mesh/v1/keys/release", json=body)


def released(answer: httpx.Response) -> dict[str, bytes]:
    """The clear keys of a release answer (concatenated in ``ids`` order)."""
    body = answer.json()
    blob = base64.b64decode(body["keys"])
    return {kid: blob[n * 32 : (n + 1) * 32] for n, kid in enumerate(body["ids"])}


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[Keys]:
    found = Keys(tmp_path)
    try:
        yield found
    finally:
        found.registry.stop()


def test_the_pseudonym_key_is_the_registrys_and_needs_an_identity(keys: Keys) -> None:
    own = read_secret_file(keys.tmp / "pseudonym.json")
    assert keys.pseudonyms().string("ada") == Pseudonymizer(own).string("ada")
    with keys.http(None) as client:
        assert client.get("/mesh/v1/keys/pseudonym").status_code == 401


def test_one_record_per_batch_wrapped_by_the_registrys_kek(keys: Keys) -> None:
    batch = keys.new_keys("ada", "bob", "eve")
    answer = keys.publish(keys.listeners, batch)
    assert answer.json() == {"published": 3, "records": 1}
    [(name, value)] = keys.log.records
    assert name.startswith(f"{PRODUCT}/batch/".encode())
    record = orjson.loads(value)
    assert record["signed_by"] == "admin"
    assert record["ids"] == [k.id for k in batch]
    # One wrap for the batch, with the registry's KEK, bound to the record key; no clear key.
    assert all(key.secret not in value for key in batch)
    kek = LocalKeyProvider(keys.tmp / "kek.json")
    blob = kek.unwrap(base64.b64decode(record["wrapped"]), kek_id=record["kek"], context=name)
    assert blob == b"".join(key.secret for key in batch)
    with pytest.raises(ValueError, match="does not unwrap"):
        kek.unwrap(base64.b64decode(record["wrapped"]), kek_id=record["kek"], context=b"x")


def test_only_the_owner_or_the_admin_publishes(keys: Keys) -> None:
    batch = keys.new_keys("ada")
    refused = keys.publish(keys.player, batch)
    assert refused.status_code == 403
    assert "belongs to domain 'listeners'" in refused.text
    assert keys.publish(keys.admin, batch).status_code == 200
    assert keys.publish(keys.listeners, [*batch[:0], *keys.new_keys("bob")]).status_code == 200


def test_release_to_the_owner_and_the_admin_not_to_another_domain(keys: Keys) -> None:
    batch = keys.new_keys("ada", "bob")
    keys.publish(keys.listeners, batch)
    for who in (keys.listeners, keys.admin):
        assert released(keys.release(who, batch)) == {k.id: k.secret for k in batch}
    refused = keys.release(keys.player, batch)
    assert refused.status_code == 403
    assert refused.json()["error_code"] == 40301
    assert "mesh access request" in refused.text
    # A key id of another product is not released under this product's name.
    other = keys.release(keys.player, batch, product="player.plays")
    assert other.status_code == 200
    assert released(other) == {}


def test_forget_shreds_the_subject_in_every_product_and_survives_a_restart(keys: Keys) -> None:
    registrations = keys.new_keys("ada", "bob")
    profiles = keys.new_keys("ada", product="listeners.profiles")
    keys.publish(keys.listeners, [*registrations, *profiles])
    with keys.http(keys.player) as client:  # owns none of the products holding ada's keys
        refused = client.post("/mesh/v1/keys/forget", json={"subject": "ada"})
        assert refused.status_code == 403
    with keys.http(keys.listeners) as client:
        done = client.post("/mesh/v1/keys/forget", json={"subject": "ada"}).json()
    assert done == {
        "subject": "ada",
        "keys": 2,
        "products": ["listeners.profiles", "listeners.registrations"],
    }
    answer = keys.release(keys.listeners, registrations)
    assert released(answer) == {registrations[1].id: registrations[1].secret}
    assert answer.json()["forgotten"] == [registrations[0].id]
    # The last value of the batch record wraps bob's key alone.
    last = {name: orjson.loads(value) for name, value in keys.log.records}
    kek = LocalKeyProvider(keys.tmp / "kek.json")
    for name, record in last.items():
        blob = kek.unwrap(base64.b64decode(record["wrapped"]), kek_id=record["kek"], context=name)
        assert registrations[0].secret not in blob
        assert profiles[0].secret not in blob
        assert registrations[0].id not in record["ids"]
    keys.registry.stop()
    keys.registry = keys._start()  # rebuilt from the log
    answer = keys.release(keys.listeners, registrations)
    assert released(answer) == {registrations[1].id: registrations[1].secret}
    assert answer.json()["forgotten"] == [registrations[0].id]
    assert released(keys.release(keys.listeners, profiles, "listeners.profiles")) == {}


def test_a_forged_record_is_ignored(tmp_path: Path) -> None:
    log = MemoryDomainLog()
    forged = {"v": 2, "product": PRODUCT, "kek": "x", "ids": [], "wrapped": "", "forgotten": []}
    log.records.append((f"{PRODUCT}/batch/x".encode(), orjson.dumps(forged)))
    keys = Keys(tmp_path, log)
    try:
        assert keys.registry.server is not None
        assert keys.registry.server.keyring is not None
        assert keys.registry.server.keyring.batches == {}
    finally:
        keys.registry.stop()


def test_bad_requests_say_what_to_send(keys: Keys) -> None:
    with keys.http(keys.listeners) as client:
        bad = client.post("/mesh/v1/keys/publish", json={"ids": ["x"], "keys": "eQ=="})
        assert bad.status_code == 422
        assert "32-byte keys concatenated" in bad.text
        secret = base64.b64encode(os.urandom(32)).decode()
        bad = client.post("/mesh/v1/keys/publish", json={"ids": ["x"], "keys": secret})
        assert bad.status_code == 422
        assert "not a key id" in bad.text
        bad = client.post("/mesh/v1/keys/release", json={"product": 1})
        assert bad.status_code == 422
        bad = client.post("/mesh/v1/keys/forget", json={})
        assert bad.status_code == 422
        assert "mesh forget" in bad.text


def test_the_logs_echo_of_an_old_batch_does_not_bring_forgotten_keys_back(keys: Keys) -> None:
    batch = keys.new_keys("ada", "bob")
    keys.publish(keys.listeners, batch)
    with keys.http(keys.listeners) as client:
        client.post("/mesh/v1/keys/forget", json={"subject": "ada"})
    server = keys.registry.server
    assert server is not None
    assert server.keyring is not None
    # The log hands back the batch record's values in order: after the first (the batch as
    # published) Ada's key must still be forgotten, and after the second too.
    (first_name, first), (second_name, second) = keys.log.records
    for name, value in ((first_name, first), (second_name, second)):
        server.keyring.apply(name, value)
        answer = keys.release(keys.listeners, batch)
        assert answer.json()["forgotten"] == [batch[0].id]
        assert list(released(answer)) == [batch[1].id]


def test_release_asks_the_read_policy_with_the_products_classification(tmp_path: Path) -> None:
    asked: list[tuple[str | None, str, str | None]] = []

    def granted(caller: str | None, product: str, classification: str | None) -> bool:
        asked.append((caller, product, classification))
        return caller == "player"  # e.g. a grant of the listeners' product to player

    keys = Keys(tmp_path, may_read=granted, classify=lambda product: "confidential")
    try:
        batch = keys.new_keys("ada")
        keys.publish(keys.listeners, batch)
        assert released(keys.release(keys.player, batch)) == {batch[0].id: batch[0].secret}
        assert keys.release(keys.listeners, batch).status_code == 403  # the policy decides
        assert asked == [
            ("player", PRODUCT, "confidential"),
            ("listeners", PRODUCT, "confidential"),
        ]
    finally:
        keys.registry.stop()


def test_public_and_internal_products_release_to_any_identity(tmp_path: Path) -> None:
    keys = Keys(tmp_path, classify=lambda product: "internal")
    try:
        batch = keys.new_keys("ada")
        keys.publish(keys.listeners, batch)
        assert released(keys.release(keys.player, batch)) == {batch[0].id: batch[0].secret}
    finally:
        keys.registry.stop()


def _register(keys: Keys, subject: str, classification: str | None) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "string"}]}
    body: dict[str, Any] = {"schema": orjson.dumps(schema).decode()}
    if classification is not None:
        body["metadata"] = {"properties": {"classification": classification}}
    with keys.http(keys.listeners) as client:
        answer = client.post(f"/subjects/{subject}/versions", json=body)
    assert answer.status_code == 200, answer.text


def test_the_classification_is_read_from_the_registered_schemas_metadata(keys: Keys) -> None:
    # `mesh product apply` registers it (metadata.properties.classification); only the owning
    # domain may register under its subjects, so the owner decides who reads an internal product.
    batch = keys.new_keys("ada")
    keys.publish(keys.listeners, batch)
    assert keys.release(keys.player, batch).status_code == 403  # no schema: not classified
    _register(keys, f"{PRODUCT}.v1-value", "internal")
    assert released(keys.release(keys.player, batch)) == {batch[0].id: batch[0].secret}
    # The newest major version's newest schema decides.
    _register(keys, f"{PRODUCT}.v2-value", "restricted")
    assert keys.release(keys.player, batch).status_code == 403
    _register(keys, f"{PRODUCT}.v1-value", "confidential")  # an older major: not asked
    _register(keys, f"{PRODUCT}.v2-value", "public")
    assert keys.release(keys.player, batch).status_code == 200
    # A subject that only looks like the product's (another product's prefix) is not asked.
    _register(keys, f"{PRODUCT}_archive.v9-value", "restricted")
    assert keys.release(keys.player, batch).status_code == 200
