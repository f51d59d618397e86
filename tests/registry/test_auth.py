"""Registry authentication and authorization, through confluent-kafka's own client.

An in-process registry (memory log, memory domain log) running as the admin; domains are
created through the API, as `mesh domain create` does.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from streams.config import KafkaSettings
from streams.identity import Credential, generate_credential, seal
from streams.local import PlatformInfo
from streams.registry import (
    KafkaDomainLog,
    KafkaStorage,
    MemoryDomainLog,
    MemoryStorage,
    RegistryAuth,
)
from tests.registry.conftest import ThreadedRegistry

SCHEMA = json.dumps(
    {"type": "record", "name": "Play", "fields": [{"name": "id", "type": "string"}]}
)
PLAYER_SUBJECT = "player.play_events.v1-value"
LISTENERS_SUBJECT = "listeners.registered.v1-value"


class Mesh:
    """A registry with authentication, its admin and two domains."""

    def __init__(self, registry: ThreadedRegistry, admin: Credential) -> None:
        self.registry = registry
        self.admin = admin
        self.player = generate_credential("player")
        self.listeners = generate_credential("listeners")
        with self.http(admin) as client:
            for domain in (self.player, self.listeners):
                answer = client.post(
                    "/mesh/v1/domains", json={"name": domain.name, "secret": domain.secret}
                )
                assert answer.status_code == 200, answer.text

    @property
    def url(self) -> str:
        return self.registry.url

    def client(self, credential: Credential | None) -> SchemaRegistryClient:
        conf: dict[str, Any] = {"url": self.url, "max.retries": 0}
        if credential is not None:
            conf["basic.auth.user.info"] = credential.basic_auth()
        return SchemaRegistryClient(conf)

    def http(self, credential: Credential | None) -> httpx.Client:
        auth = None if credential is None else (credential.name, credential.secret)
        return httpx.Client(base_url=self.url, auth=auth, trust_env=False)


def start(
    *, anonymous_reads: bool = False, log: MemoryDomainLog | None = None
) -> tuple[ThreadedRegistry, Credential, MemoryDomainLog]:
    admin = generate_credential("admin")
    log = log or MemoryDomainLog()
    auth = RegistryAuth(admin=admin, domains=log, anonymous_reads=anonymous_reads)
    return ThreadedRegistry(MemoryStorage(), auth=auth).start(), admin, log


@pytest.fixture
def mesh() -> Iterator[Mesh]:
    registry, admin, _ = start()
    try:
        yield Mesh(registry, admin)
    finally:
        registry.stop()


def refused(call: Any) -> SchemaRegistryError:
    with pytest.raises(SchemaRegistryError) as caught:
        call()
    return caught.value


def test_a_domain_registers_its_own_subject_and_not_anothers(mesh: Mesh) -> None:
    with mesh.client(mesh.player) as player:
        assert player.register_schema(PLAYER_SUBJECT, Schema(SCHEMA, "AVRO")) > 0
        error = refused(lambda: player.register_schema(LISTENERS_SUBJECT, Schema(SCHEMA, "AVRO")))
    assert (error.http_status_code, error.error_code) == (403, 40301)
    assert "'player'" in error.error_message
    assert LISTENERS_SUBJECT in error.error_message
    assert "'listeners'" in error.error_message


def test_the_admin_may_change_every_subject(mesh: Mesh) -> None:
    with mesh.client(mesh.admin) as admin:
        admin.register_schema(LISTENERS_SUBJECT, Schema(SCHEMA, "AVRO"))
        admin.register_schema("anything-value", Schema(SCHEMA, "AVRO"))
        admin.set_compatibility(level="FULL")
        assert admin.delete_subject("anything-value") == [1]


def test_delete_and_config_of_anothers_subject_are_forbidden(mesh: Mesh) -> None:
    with mesh.client(mesh.listeners) as owner:
        owner.register_schema(LISTENERS_SUBJECT, Schema(SCHEMA, "AVRO"))
    with mesh.client(mesh.player) as player:
        for call in (
            lambda: player.delete_subject(LISTENERS_SUBJECT),
            lambda: player.set_compatibility(LISTENERS_SUBJECT, "NONE"),
            lambda: player.set_compatibility(level="NONE"),  # global: admin only
            lambda: player.register_schema("not-a-product", Schema(SCHEMA, "AVRO")),
        ):
            assert refused(call).error_code == 40301
    with mesh.client(mesh.listeners) as owner:
        owner.set_compatibility(LISTENERS_SUBJECT, "NONE")
        assert owner.delete_subject(LISTENERS_SUBJECT) == [1]


def test_reads_need_an_identity(mesh: Mesh) -> None:
    with mesh.client(mesh.player) as player:
        schema_id = player.register_schema(PLAYER_SUBJECT, Schema(SCHEMA, "AVRO"))
    with mesh.client(mesh.listeners) as reader:
        assert reader.get_schema(schema_id).schema_str
        assert reader.get_subjects() == [PLAYER_SUBJECT]
    with mesh.client(None) as anonymous:
        error = refused(lambda: anonymous.get_schema(schema_id))
    assert (error.http_status_code, error.error_code) == (401, 40101)
    with mesh.http(None) as client:
        answer = client.get("/subjects")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="streams"'
    assert answer.json()["error_code"] == 40101


def test_the_fast_path_checks_credentials_too(mesh: Mesh) -> None:
    with mesh.client(mesh.player) as player:
        schema_id = player.register_schema(PLAYER_SUBJECT, Schema(SCHEMA, "AVRO"))
    path = f"/schemas/ids/{schema_id}"
    with mesh.http(mesh.player) as client:
        assert [client.get(path).status_code for _ in range(3)] == [200, 200, 200]
    wrong = Credential(name="player", secret=generate_credential("player").secret)
    with mesh.http(wrong) as client:
        assert [client.get(path).status_code for _ in range(2)] == [401, 401]
    with mesh.http(None) as client:
        assert client.get(f"{path}?subject={PLAYER_SUBJECT}").status_code == 401


def test_wrong_and_unknown_credentials_are_refused(mesh: Mesh) -> None:
    wrong = Credential(name="player", secret=generate_credential("player").secret)
    unknown = generate_credential("nobody")
    for credential, says in ((wrong, "wrong secret"), (unknown, "not known")):
        with mesh.client(credential) as client:
            error = refused(client.get_subjects)
        assert (error.http_status_code, error.error_code) == (401, 40101)
        assert says in error.error_message


def test_a_revoked_credential_is_refused_at_once(mesh: Mesh) -> None:
    with mesh.client(mesh.player) as player:
        schema_id = player.register_schema(PLAYER_SUBJECT, Schema(SCHEMA, "AVRO"))
        assert player.get_schema(schema_id)  # its header is now remembered (fast path)
        with mesh.http(mesh.admin) as admin:
            answer = admin.delete("/mesh/v1/domains/player")
        assert answer.status_code == 200, answer.text
        assert answer.json()["revoked_at"] is not None
        with mesh.http(mesh.player) as client:
            assert client.get(f"/schemas/ids/{schema_id}").status_code == 401
        error = refused(lambda: player.delete_subject(PLAYER_SUBJECT))  # not cached client-side
    assert (error.http_status_code, error.error_code) == (401, 40101)
    assert "revoked" in error.error_message


def test_anonymous_reads_when_configured() -> None:
    registry, admin, _ = start(anonymous_reads=True)
    try:
        with SchemaRegistryClient(
            {"url": registry.url, "basic.auth.user.info": admin.basic_auth()}
        ) as c:
            schema_id = c.register_schema("x-value", Schema(SCHEMA, "AVRO"))
        wrong = Credential(name="admin", secret=generate_credential("admin").secret)
        with httpx.Client(base_url=registry.url, auth=(wrong.name, wrong.secret)) as client:
            # Anonymous reads do not make wrong credentials right, fast path or not.
            assert client.get(f"/schemas/ids/{schema_id}").status_code == 401
            assert client.get("/subjects").status_code == 401
        with SchemaRegistryClient({"url": registry.url, "max.retries": 0}) as anonymous:
            assert anonymous.get_schema(schema_id).schema_str
            assert (
                refused(
                    lambda: anonymous.register_schema("x-value", Schema(SCHEMA, "AVRO"))
                ).error_code
                == 40101
            )
    finally:
        registry.stop()


def test_domain_routes_are_for_the_admin(mesh: Mesh) -> None:
    with mesh.http(None) as anonymous:
        trust = anonymous.get("/mesh/v1/trust").json()
        assert trust == {"auth": True, "admin_public_key": mesh.admin.public_key()}
        assert anonymous.get("/mesh/v1/domains").status_code == 401
    with mesh.http(mesh.player) as player:
        listed = player.get("/mesh/v1/domains").json()
        assert {d["name"]: d["public_key"] for d in listed} == {
            "listeners": mesh.listeners.public_key(),
            "player": mesh.player.public_key(),
        }
        other = generate_credential("other")
        answer = player.post("/mesh/v1/domains", json={"name": "other", "secret": other.secret})
        assert answer.status_code == 403
        assert answer.json()["error_code"] == 40301
        assert player.delete("/mesh/v1/domains/listeners").status_code == 403


def test_creating_a_domain_answers_its_key_and_the_brokers_verdict(mesh: Mesh) -> None:
    other = generate_credential("other")
    with mesh.http(mesh.admin) as admin:
        answer = admin.post("/mesh/v1/domains", json={"name": "other", "secret": other.secret})
    body = answer.json()
    assert body["public_key"] == other.public_key()
    assert body["broker_acls"] == "not enforced by this broker"
    with mesh.client(other) as client:
        assert client.get_subjects() == []


def test_the_book_is_rebuilt_at_start_and_forged_records_are_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry, admin, log = start()
    player = generate_credential("player")
    try:
        answer = httpx.post(
            f"{registry.url}/mesh/v1/domains",
            json={"name": "player", "secret": player.secret},
            auth=(admin.name, admin.secret),
        )
        assert answer.status_code == 200
    finally:
        registry.stop()
    # A forger without the admin's secret publishes a domain of their own.
    forger = generate_credential("admin")
    mallory = generate_credential("mallory")
    body = {"name": "mallory", "public_key": mallory.public_key(), "created_at": "x"}
    log.records.append((b"mallory", orjson.dumps(seal({**body, "revoked_at": None}, forger))))
    restarted = ThreadedRegistry(
        MemoryStorage(), auth=RegistryAuth(admin=admin, domains=log)
    ).start()
    try:
        with SchemaRegistryClient(
            {"url": restarted.url, "basic.auth.user.info": player.basic_auth()}
        ) as client:
            assert client.get_subjects() == []
        with SchemaRegistryClient(
            {"url": restarted.url, "basic.auth.user.info": mallory.basic_auth(), "max.retries": 0}
        ) as client:
            assert refused(client.get_subjects).error_code == 40101
    finally:
        restarted.stop()
    assert any("mallory" in r.getMessage() and "forged" in r.getMessage() for r in caplog.records)


def test_a_registry_with_auth_must_run_as_the_admin() -> None:
    with pytest.raises(Exception, match="must run as the admin"):
        RegistryAuth(admin=generate_credential("player"), domains=MemoryDomainLog())


def test_a_forwarded_write_keeps_the_callers_credentials(mesh: Mesh) -> None:
    """A secondary relays the caller's Authorization header; the primary checks it again."""
    from streams.registry._forward import Forwarder
    from streams.registry._wire import Request, Response

    def local(request: Request) -> Response:
        raise AssertionError("a secondary must not answer a write itself")

    forwarder = Forwarder(
        local, primary=lambda: False, primary_url=lambda: mesh.url, own_url=lambda: None
    )
    body = orjson.dumps({"schema": SCHEMA})

    async def write(credential: Credential, subject: str) -> Response:
        token = base64.b64encode(credential.basic_auth().encode())
        request = Request(
            method="POST",
            path=f"/subjects/{subject}/versions",
            query={},
            pairs=(),
            body=body,
            caller=credential.name,
            authorization=b"Basic " + token,
        )
        try:
            result = forwarder(request)
            return result if isinstance(result, Response) else await result
        finally:
            await forwarder.close()

    assert asyncio.run(write(mesh.player, PLAYER_SUBJECT)).status == 200
    refused_there = asyncio.run(write(mesh.player, LISTENERS_SUBJECT))
    assert refused_there.status == 403
    assert orjson.loads(refused_there.body)["error_code"] == 40301


def test_serve_with_auth_refuses_to_run_as_anyone_but_the_admin() -> None:
    from streams.errors import ConfigError
    from streams.registry import serve

    with pytest.raises(ConfigError, match="no identity: it must run as the admin"):
        serve(host="127.0.0.1", port=0, bootstrap_servers="127.0.0.1:9", auth=True)
    with pytest.raises(ConfigError, match="identity 'player'"):
        serve(
            host="127.0.0.1",
            port=0,
            bootstrap_servers="127.0.0.1:9",
            auth=True,
            identity=generate_credential("player"),
        )


def test_the_book_on_kafka_survives_a_restart_and_ignores_forgeries(
    platform: PlatformInfo, registry_topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``_mesh.domains`` on the session's broker (a topic of this test's own)."""
    admin = generate_credential("admin")
    player = generate_credential("player")
    domains = f"_mesh.domains_test_{uuid.uuid4().hex[:10]}"

    def registry() -> ThreadedRegistry:
        log = KafkaDomainLog(
            kafka=KafkaSettings(bootstrap_servers=platform.bootstrap_servers), topic=domains
        )
        storage = KafkaStorage(bootstrap_servers=platform.bootstrap_servers, topic=registry_topic)
        return ThreadedRegistry(storage, auth=RegistryAuth(admin=admin, domains=log)).start()

    first = registry()
    try:
        answer = httpx.post(
            f"{first.url}/mesh/v1/domains",
            json={"name": "player", "secret": player.secret},
            auth=(admin.name, admin.secret),
        )
        assert answer.status_code == 200, answer.text
    finally:
        first.stop()
    mallory = generate_credential("mallory")
    forged = seal(
        {
            "name": "mallory",
            "public_key": mallory.public_key(),
            "created_at": "x",
            "revoked_at": None,
        },
        generate_credential("admin"),
    )
    raw = Producer({"bootstrap.servers": platform.bootstrap_servers})
    raw.produce(domains, key=b"mallory", value=orjson.dumps(forged))
    assert raw.flush(10) == 0
    again = registry()
    try:
        with httpx.Client(base_url=again.url) as client:
            assert client.get("/subjects", auth=(player.name, player.secret)).status_code == 200
            assert client.get("/subjects", auth=(mallory.name, mallory.secret)).status_code == 401
    finally:
        again.stop()
    assert any("mallory" in r.getMessage() and "forged" in r.getMessage() for r in caplog.records)


def test_the_logs_echo_of_an_older_change_does_not_bring_back_a_rotated_key() -> None:
    # The book follows the log it writes to: a create read back after a rotation (or a
    # revocation) must not restore the old key, or the old secret works again for a moment.
    from streams.registry import Domain, DomainBook
    from streams.registry._domains import now

    admin = generate_credential("admin")
    book = DomainBook(admin=admin)
    first, second = generate_credential("player"), generate_credential("player")
    created = Domain(name="player", public_key=first.public_key(), created_at=now())
    rotated = Domain(name="player", public_key=second.public_key(), created_at=now())
    book.put(rotated)  # the registry changes its memory first, then writes the record
    book.apply(b"player", book.sealed(created))  # the follower reads the older record late
    assert book.key_of("player") == second.public_key()
    revoked = Domain(
        name="player",
        public_key=second.public_key(),
        created_at=rotated.created_at,
        revoked_at=now(),
    )
    book.put(revoked)
    book.apply(b"player", book.sealed(rotated))
    assert book.key_of("player") is None
    again = Domain(name="player", public_key=first.public_key(), created_at=now())
    book.apply(b"player", book.sealed(again))  # a newer change from the log is taken
    assert book.key_of("player") == first.public_key()
