"""PII protection end to end on the session platform (both brokers), through the registry's key
service: ``Producer.emit`` protects transparently, our ``Consumer`` reveals what its identity
may read, an independent confluent consumer sees pseudonyms and ciphertexts, and ``mesh forget``
shreds one data subject in every product, a replay and a derived product included."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka.schema_registry import Metadata, Schema, SchemaRegistryClient

from streams.access import AccessClient
from streams.cli import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, main
from streams.config import Settings
from streams.errors import RegistryRequestError
from streams.identity import Credential, generate_credential, write_credential
from streams.kafka import Consumer, Producer
from streams.kafka._keyclient import KeyClient
from streams.local import PlatformInfo
from streams.naming import ProductRef
from streams.pii import CIPHER_PREFIX, PSEUDONYM_PREFIX
from streams.registry.control import ControlPlane
from tests.helpers.brokers import settings_as
from tests.helpers.kafka import Product, create_topic, drain

ADA, BOB, EVE = "ada-1", "bob-2", "eve-3"
USERS = [ADA, BOB, ADA, EVE, BOB, ADA]
SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Registration",
    "namespace": "music.listeners",
    "fields": [
        {"name": "event_id", "type": "string"},
        {"name": "user_id", "type": "string", "pii": "pseudonymize"},
        {"name": "email", "type": "string", "pii": "encrypt"},
        {"name": "photo", "type": ["null", "bytes"], "default": None, "pii": "encrypt"},
        {"name": "country", "type": "string"},
    ],
}


def event(n: int, user: str) -> dict[str, Any]:
    return {
        "event_id": f"e-{n}",
        "user_id": user,
        "email": f"{user}@example.org",
        "photo": user.encode(),
        "country": "SE",
    }


@dataclass
class Mesh:
    platform: PlatformInfo
    owner: Credential
    other: Credential
    owner_file: Path

    def settings(self, who: Credential | None) -> Settings:
        """Client settings acting as ``who`` (None: the platform's admin)."""
        return settings_as(self.platform, who)

    def product(self, domain: str, name: str, classification: str | None = None) -> ProductRef:
        """A product with :data:`SCHEMA`, its classification registered as `mesh product
        apply` does (in the schema's metadata)."""
        ref = ProductRef(domain=domain, name=name)
        create_topic(self.platform.bootstrap_servers, ref.topic)
        metadata = None
        if classification is not None:
            metadata = Metadata.from_dict({"properties": {"classification": classification}})
        with SchemaRegistryClient(self.platform.registry_conf()) as registry:
            registry.register_schema(
                ref.subject, Schema(json.dumps(SCHEMA), "AVRO", metadata=metadata)
            )
        return ref

    def read(
        self, ref: ProductRef, who: Credential | None, count: int, **options: Any
    ) -> list[dict[str, Any]]:
        consumer = Consumer(
            ref, group_id=None, settings=self.settings(who), from_beginning=True, **options
        )
        try:
            return [item.value for item in drain(consumer, count)]
        finally:
            consumer.close()


@pytest.fixture
def mesh(platform: PlatformInfo, tmp_path: Path) -> Mesh:
    owner = generate_credential(f"o{uuid.uuid4().hex[:10]}")
    other = generate_credential(f"x{uuid.uuid4().hex[:10]}")
    with ControlPlane(platform.client_settings().registry) as control:
        for credential in (owner, other):
            control.create_domain(credential)
    return Mesh(platform, owner, other, write_credential(owner, tmp_path / "owner.json"))


def _tail(mesh: Mesh, ref: ProductRef, credential_file: Path) -> Any:
    env = {"STREAMS_IDENTITY__FILE": str(credential_file)}
    where = ["--bootstrap-servers", mesh.platform.bootstrap_servers]
    where += ["--registry-url", mesh.platform.registry_url]
    args = ["tail", ref.id, "--from-beginning", "--max", str(len(USERS)), *where]
    return CliRunner().invoke(main, args, env=env)


def _forget(mesh: Mesh, subject: str, credential_file: Path, url: str | None = None) -> Any:
    env = {"STREAMS_IDENTITY__FILE": str(credential_file)}
    args = ["forget", "--subject", subject, "--registry-url", url or mesh.platform.registry_url]
    return CliRunner().invoke(main, args, env=env)


def test_protected_end_to_end_and_forgetting_one_subject(mesh: Mesh) -> None:
    registrations = mesh.product(mesh.owner.name, "registrations")
    with Producer(settings=mesh.settings(mesh.owner), domain=mesh.owner.name) as producer:
        for n, user in enumerate(USERS):
            producer.emit(registrations, event(n, user), key=user)

    # Any Kafka tool reads the records: pseudonyms (also as the Kafka key) and ciphertexts.
    raw = Product(registrations, mesh.settings(None), None, mesh.platform.bootstrap_servers)  # type: ignore[arg-type]
    messages = raw.read_raw(count=len(USERS))
    assert len(messages) == len(USERS)
    for message in messages:
        assert message.key().startswith(PSEUDONYM_PREFIX.encode())
        assert b"example.org" not in message.value()
        assert b"ada-1" not in message.value() + message.key()
        assert CIPHER_PREFIX.encode() in message.value()

    # The owner reads plaintext (pseudonyms stay pseudonyms).
    mine = mesh.read(registrations, mesh.owner, len(USERS))
    assert [value["email"] for value in mine] == [f"{user}@example.org" for user in USERS]
    assert [value["photo"] for value in mine] == [user.encode() for user in USERS]
    assert all(value["user_id"].startswith(PSEUDONYM_PREFIX) for value in mine)
    # Another domain without a grant: ciphertext by default, None when it chooses so.
    theirs = mesh.read(registrations, mesh.other, len(USERS))
    assert all(value["email"].startswith(CIPHER_PREFIX) for value in theirs)
    assert [value["country"] for value in theirs] == ["SE"] * len(USERS)
    nulls = mesh.read(registrations, mesh.other, len(USERS), unreadable="null")
    assert {(value["email"], value["photo"]) for value in nulls} == {(None, None)}
    # `mesh tail` shows what its identity may see.
    other_file = write_credential(mesh.other, mesh.owner_file.with_name("other.json"))
    for who, readable in ((mesh.owner_file, True), (other_file, False)):
        shown = _tail(mesh, registrations, who)
        assert shown.exit_code == EXIT_OK, shown.output
        assert ("ada-1@example.org" in shown.stdout) is readable
        # Count the e-mails only (a bytes field's ciphertext may show "enc1:" too), in the
        # output with its line breaks taken out (the console may wrap long lines).
        flat = shown.stdout.replace("\n", "")
        assert flat.count(f'"email":"{CIPHER_PREFIX}') == (0 if readable else len(USERS))
    # ... because the registry refuses it the keys.
    kid = theirs[0]["email"][len(CIPHER_PREFIX) :].rpartition(":")[0]
    client = KeyClient(mesh.settings(mesh.other).registry)
    with pytest.raises(RegistryRequestError) as refused:
        client.release(registrations.id, [kid])
    client.close()
    assert refused.value.status == 403

    # A derived product of another domain carries the ciphertext it could not read.
    copies = mesh.product(mesh.other.name, "copies")
    with Producer(settings=mesh.settings(mesh.other), domain=mesh.other.name) as producer:
        for value in theirs:
            producer.emit(copies, value)
    carried = mesh.read(copies, mesh.owner, len(USERS))
    assert [value["email"] for value in carried] == [f"{user}@example.org" for user in USERS]

    # The owner forgets Ada: one line, the keys of every product that holds them.
    result = _forget(mesh, ADA, mesh.owner_file)
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.startswith(f"forgot data subject {ADA}: shredded 2 keys in 2 products")

    # A replay over the retained history, and the derived product: Ada's fields are
    # unreadable, the others' stay readable.
    for ref in (registrations, copies):
        for unreadable in ("null", "ciphertext"):
            again = mesh.read(ref, mesh.owner, len(USERS), unreadable=unreadable)
            assert len(again) == len(USERS)
            for user, value in zip(USERS, again, strict=True):
                if user != ADA:
                    assert value["email"] == f"{user}@example.org"
                elif unreadable == "null":
                    assert (value["email"], value["photo"]) == (None, None)
                else:
                    assert value["email"].startswith(CIPHER_PREFIX)
    # Forgetting again finds nothing left.
    again = _forget(mesh, ADA, mesh.owner_file)
    assert again.exit_code == EXIT_OK
    assert "shredded 0 keys in 0 products" in again.stdout
    assert "no data key of" in again.stderr  # a typo, or already forgotten: said so


def test_forget_refuses_a_domain_without_the_subjects_data_and_says_why(
    mesh: Mesh, tmp_path: Path, closed_url: str
) -> None:
    registrations = mesh.product(mesh.owner.name, "registrations")
    with Producer(settings=mesh.settings(mesh.owner), domain=mesh.owner.name) as producer:
        producer.emit(registrations, event(0, EVE), key=EVE)
    other_file = write_credential(mesh.other, tmp_path / "other.json")
    refused = _forget(mesh, EVE, other_file)
    assert refused.exit_code == EXIT_FAILED
    assert "owns none of the products" in refused.output
    stranger = write_credential(generate_credential("nobody"), tmp_path / "nobody.json")
    unknown = _forget(mesh, EVE, stranger)
    assert unknown.exit_code == EXIT_FAILED
    assert "'nobody' is not known" in unknown.output
    down = _forget(mesh, EVE, mesh.owner_file, url=closed_url)
    assert down.exit_code == EXIT_UNREACHABLE
    assert "cannot be reached" in down.output
    # Eve is still readable by her owner.
    (value,) = mesh.read(registrations, mesh.owner, 1)
    assert value["email"] == f"{EVE}@example.org"


def test_a_grant_releases_the_keys_and_a_revoke_takes_them_back(mesh: Mesh) -> None:
    registrations = mesh.product(mesh.owner.name, "registrations")
    with Producer(settings=mesh.settings(mesh.owner), domain=mesh.owner.name) as producer:
        for n, user in enumerate(USERS):
            producer.emit(registrations, event(n, user), key=user)
    plain = [f"{user}@example.org" for user in USERS]
    before = mesh.read(registrations, mesh.other, len(USERS))
    assert all(value["email"].startswith(CIPHER_PREFIX) for value in before)
    with ControlPlane(mesh.settings(mesh.owner).registry) as control:
        AccessClient(control).grant(registrations.id, mesh.other.name, purpose="support")
        granted = mesh.read(registrations, mesh.other, len(USERS))
        assert [value["email"] for value in granted] == plain
        AccessClient(control).revoke(registrations.id, mesh.other.name)
    after = mesh.read(registrations, mesh.other, len(USERS))  # a new Consumer: no cached keys
    assert all(value["email"].startswith(CIPHER_PREFIX) for value in after)


def test_an_internal_products_fields_are_readable_by_any_domain_a_restricted_ones_not(
    mesh: Mesh,
) -> None:
    internal = mesh.product(mesh.owner.name, "directory", classification="internal")
    restricted = mesh.product(mesh.owner.name, "registrations", classification="restricted")
    with Producer(settings=mesh.settings(mesh.owner), domain=mesh.owner.name) as producer:
        for n, user in enumerate(USERS):
            producer.emit(internal, event(n, user), key=user)
            producer.emit(restricted, event(n, user), key=user)
    plain = [f"{user}@example.org" for user in USERS]
    assert [value["email"] for value in mesh.read(internal, mesh.other, len(USERS))] == plain
    hidden = mesh.read(restricted, mesh.other, len(USERS))
    assert all(value["email"].startswith(CIPHER_PREFIX) for value in hidden)
