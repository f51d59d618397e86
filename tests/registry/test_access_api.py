"""``/mesh/v1/access``: requests, grants and revocations with the right and the wrong identity.

An in-process registry running as the admin (memory logs) with two domains, ``player`` (owns
``player.play_events``) and ``listeners``, and a third, ``charts``; the broker is a recorder of
what the registry asked (the real Kafka ACLs: tests/kafka/test_grants_kafka.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import orjson
import pytest
from confluent_kafka import Producer

from streams.config import KafkaSettings
from streams.identity import Credential, generate_credential, seal
from streams.kafka.access import ENFORCED
from streams.local import PlatformInfo
from streams.registry import (
    KafkaDomainLog,
    KafkaStorage,
    MemoryDomainLog,
    MemoryStorage,
    RegistryAuth,
)
from tests.helpers.recording_broker import RecordingBroker
from tests.registry.conftest import ThreadedRegistry

PRODUCT = "player.play_events"


class Mesh:
    """The registry, its admin, three domains and the broker recorder."""

    def __init__(self, registry: ThreadedRegistry, admin: Credential, broker: RecordingBroker):
        self.registry = registry
        self.admin = admin
        self.broker = broker
        self.domains = {name: generate_credential(name) for name in ("player", "listeners")}
        self.domains["charts"] = generate_credential("charts")
        with self.as_(admin) as client:
            for domain in self.domains.values():
                body = {"name": domain.name, "secret": domain.secret}
                answer = client.post("/mesh/v1/domains", json=body)
                assert answer.status_code == 200, answer.text

    def as_(self, who: Credential | str | None) -> httpx.Client:
        credential = self.domains[who] if isinstance(who, str) else who
        auth = None if credential is None else (credential.name, credential.secret)
        return httpx.Client(base_url=self.registry.url, auth=auth, trust_env=False)

    def request(self, who: str, purpose: str = "recommendations") -> httpx.Response:
        with self.as_(who) as client:
            body = {"product": PRODUCT, "purpose": purpose}
            return client.post("/mesh/v1/access/requests", json=body)

    def grant(self, who: Credential | str, consumer: str, **extra: str) -> httpx.Response:
        with self.as_(who) as client:
            body = {"product": PRODUCT, "consumer": consumer, **extra}
            return client.post("/mesh/v1/access/grants", json=body)

    def revoke(self, who: Credential | str, consumer: str) -> httpx.Response:
        with self.as_(who) as client:
            return client.delete(f"/mesh/v1/access/grants/{PRODUCT}/{consumer}")

    def listed(self, product: str | None = None) -> list[dict[str, object]]:
        with self.as_("charts") as client:
            answer = client.get("/mesh/v1/access", params={"product": product} if product else {})
        assert answer.status_code == 200, answer.text
        found: list[dict[str, object]] = answer.json()
        return found


def _start(access: MemoryDomainLog, broker: RecordingBroker) -> tuple[ThreadedRegistry, Credential]:
    admin = generate_credential("admin")
    auth = RegistryAuth(admin=admin, domains=MemoryDomainLog(), access=access, broker=broker)
    return ThreadedRegistry(MemoryStorage(), auth=auth).start(), admin


@pytest.fixture
def mesh() -> Iterator[Mesh]:
    broker = RecordingBroker()
    registry, admin = _start(MemoryDomainLog(), broker)
    try:
        yield Mesh(registry, admin, broker)
    finally:
        registry.stop()


def _refusal(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error_code"] == {401: 40101, 403: 40301}.get(status, body["error_code"])
    message: str = body["message"]
    return message


def test_a_consumer_requests_and_everyone_identified_sees_it(mesh: Mesh) -> None:
    answer = mesh.request("listeners", purpose="weekly charts")
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert {k: record[k] for k in ("product", "consumer", "state", "purpose", "by")} == {
        "product": PRODUCT,
        "consumer": "listeners",
        "state": "requested",
        "purpose": "weekly charts",
        "by": "listeners",
    }
    assert [r["consumer"] for r in mesh.listed()] == ["listeners"]
    assert mesh.listed("listeners.other") == []
    assert not [call for call in mesh.broker.calls if call[0].endswith("_read")]


def test_the_owner_grants_with_the_requested_purpose_and_revokes(mesh: Mesh) -> None:
    mesh.request("listeners", purpose="weekly charts")
    granted = mesh.grant("player", "listeners")
    assert granted.status_code == 200, granted.text
    assert granted.json()["state"] == "granted"
    assert granted.json()["purpose"] == "weekly charts"
    assert granted.json()["by"] == "player"
    assert granted.json()["broker_acls"] == ENFORCED
    assert ("grant_read", PRODUCT, "listeners") in mesh.broker.calls
    revoked = mesh.revoke("player", "listeners")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["state"] == "revoked"
    assert revoked.json()["broker_acls"] == ENFORCED
    assert mesh.broker.calls[-1] == ("revoke_read", PRODUCT, "listeners")
    assert [r["state"] for r in mesh.listed(PRODUCT)] == ["revoked"]


def test_another_domain_may_not_grant_or_revoke_the_owners_product(mesh: Mesh) -> None:
    mesh.request("listeners")
    for answer in (mesh.grant("charts", "listeners"), mesh.revoke("charts", "listeners")):
        message = _refusal(answer, 403)
        assert "'charts'" in message
        assert PRODUCT in message
        assert "'player'" in message
    # Nor may the consumer grant itself.
    _refusal(mesh.grant("listeners", "listeners"), 403)
    assert [r["state"] for r in mesh.listed()] == ["requested"]
    assert not [call for call in mesh.broker.calls if call[0].endswith("_read")]


def test_the_admin_may_grant_and_revoke_any_product(mesh: Mesh) -> None:
    granted = mesh.grant(mesh.admin, "charts", purpose="audit")
    assert granted.status_code == 200, granted.text
    assert (granted.json()["state"], granted.json()["by"]) == ("granted", "admin")
    assert mesh.revoke(mesh.admin, "charts").json()["state"] == "revoked"


def test_without_credentials_every_route_is_401(mesh: Mesh) -> None:
    with mesh.as_(None) as anonymous:
        for answer in (
            anonymous.get("/mesh/v1/access"),
            anonymous.post("/mesh/v1/access/requests", json={"product": PRODUCT}),
            anonymous.post("/mesh/v1/access/grants", json={"product": PRODUCT}),
            anonymous.delete(f"/mesh/v1/access/grants/{PRODUCT}/listeners"),
        ):
            _refusal(answer, 401)
    wrong = Credential(name="player", secret=generate_credential("player").secret)
    with mesh.as_(wrong) as client:
        _refusal(client.get("/mesh/v1/access"), 401)


@pytest.mark.parametrize(
    ("who", "body", "fragment"),
    [
        ("listeners", {"product": PRODUCT}, "purpose"),
        ("listeners", {"product": "player.play_events.v2", "purpose": "x"}, "without a version"),
        ("listeners", {"product": "Player", "purpose": "x"}, "<domain>.<product>"),
        ("player", {"product": PRODUCT, "purpose": "x"}, "owns"),
    ],
)
def test_bad_requests_say_what_to_send(
    mesh: Mesh, who: str, body: dict[str, str], fragment: str
) -> None:
    with mesh.as_(who) as client:
        answer = client.post("/mesh/v1/access/requests", json=body)
    assert answer.status_code == 422, answer.text
    assert fragment in answer.json()["message"]


def test_a_grant_needs_a_purpose_and_an_active_domain(mesh: Mesh) -> None:
    assert "--purpose" in mesh.grant("player", "charts").json()["message"]
    assert "not a domain" in mesh.grant("player", "nobody", purpose="x").json()["message"]
    with mesh.as_(mesh.admin) as admin:
        assert admin.delete("/mesh/v1/domains/charts").status_code == 200
    assert "was revoked" in mesh.grant("player", "charts", purpose="x").json()["message"]
    assert mesh.revoke("player", "listeners").status_code == 404


def test_a_granted_request_stays_granted(mesh: Mesh) -> None:
    mesh.grant("player", "listeners", purpose="charts")
    again = mesh.request("listeners", purpose="something else")
    assert (again.json()["state"], again.json()["purpose"]) == ("granted", "charts")


def test_may_read_is_the_owner_the_admin_grant_holders_and_open_products(mesh: Mesh) -> None:
    server = mesh.registry.server
    assert server is not None
    may_read = server.grants.may_read
    mesh.request("listeners")
    assert not may_read("listeners", PRODUCT, "confidential")
    assert not may_read("listeners", PRODUCT, None)
    mesh.grant("player", "listeners")
    for caller in ("admin", "player", "listeners"):
        assert may_read(caller, PRODUCT, "restricted"), caller
    assert may_read("listeners", f"{PRODUCT}.v2", "restricted")
    assert not may_read("charts", PRODUCT, "confidential")
    assert may_read("charts", PRODUCT, "public")
    assert may_read("charts", PRODUCT, "internal")
    assert may_read(None, PRODUCT, "restricted")  # the registry runs without authentication
    mesh.revoke("player", "listeners")
    assert not may_read("listeners", PRODUCT, "confidential")


def test_without_authentication_there_are_no_grants() -> None:
    registry = ThreadedRegistry(MemoryStorage()).start()
    try:
        with httpx.Client(base_url=registry.url, trust_env=False) as client:
            assert client.get("/mesh/v1/access").json() == []
            answer = client.post("/mesh/v1/access/requests", json={"product": PRODUCT})
        assert answer.status_code == 422
        assert "without authentication" in answer.json()["message"]
        assert registry.server is not None
        assert registry.server.grants.may_read(None, PRODUCT, "restricted")
    finally:
        registry.stop()


def test_grants_on_kafka_survive_a_restart_and_forged_records_are_ignored(
    platform: PlatformInfo, registry_topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``_mesh.access`` (a topic of this test's own) on the session's broker."""
    admin = generate_credential("admin")
    player, listeners = generate_credential("player"), generate_credential("listeners")
    suffix = uuid.uuid4().hex[:10]
    kafka = KafkaSettings(bootstrap_servers=platform.bootstrap_servers)

    def registry() -> ThreadedRegistry:
        auth = RegistryAuth(
            admin=admin,
            domains=KafkaDomainLog(kafka=kafka, topic=f"_mesh.domains_test_{suffix}"),
            access=KafkaDomainLog(kafka=kafka, topic=f"_mesh.access_test_{suffix}"),
        )
        storage = KafkaStorage(bootstrap_servers=platform.bootstrap_servers, topic=registry_topic)
        return ThreadedRegistry(storage, auth=auth).start()

    first = registry()
    try:
        with httpx.Client(base_url=first.url, auth=(admin.name, admin.secret)) as client:
            for domain in (player, listeners):
                body = {"name": domain.name, "secret": domain.secret}
                assert client.post("/mesh/v1/domains", json=body).status_code == 200
        with httpx.Client(base_url=first.url, auth=(player.name, player.secret)) as client:
            body = {"product": PRODUCT, "consumer": "listeners", "purpose": "charts"}
            answer = client.post("/mesh/v1/access/grants", json=body)
            assert answer.status_code == 200, answer.text
    finally:
        first.stop()
    forged = {"product": PRODUCT, "consumer": "mallory", "state": "granted", "purpose": "x"}
    forged |= {"by": "player", "at": "2026-01-01T00:00:00+00:00"}
    raw = Producer({"bootstrap.servers": platform.bootstrap_servers})
    raw.produce(
        f"_mesh.access_test_{suffix}",
        key=f"{PRODUCT}|mallory".encode(),
        value=orjson.dumps(seal(forged, generate_credential("admin"))),
    )
    # A genuine record under another key: not about what its key says.
    raw.produce(
        f"_mesh.access_test_{suffix}",
        key=f"{PRODUCT}|charts".encode(),
        value=orjson.dumps(seal({**forged, "consumer": "listeners"}, admin)),
    )
    assert raw.flush(10) == 0
    again = registry()
    try:
        with httpx.Client(base_url=again.url, auth=(listeners.name, listeners.secret)) as client:
            listed = client.get("/mesh/v1/access").json()
        assert [(r["consumer"], r["state"], r["purpose"]) for r in listed] == [
            ("listeners", "granted", "charts")
        ]
        assert again.server is not None
        assert not again.server.grants.may_read("mallory", PRODUCT, "confidential")
    finally:
        again.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert any("mallory" in m and "ignoring" in m for m in messages), messages
    assert any("charts" in m and "it is about" in m for m in messages), messages


def test_a_domain_created_again_gets_back_the_reads_it_still_holds(mesh: Mesh) -> None:
    mesh.grant("player", "charts", purpose="charts")
    with mesh.as_(mesh.admin) as admin:
        assert admin.delete("/mesh/v1/domains/charts").status_code == 200
        assert mesh.broker.calls[-2:] == [("revoke_domain", "charts"), ("remove_user", "charts")]
        again = generate_credential("charts")
        body = {"name": "charts", "secret": again.secret}
        assert admin.post("/mesh/v1/domains", json=body).status_code == 200
    assert mesh.broker.calls[-3:] == [
        ("upsert_user", "charts"),
        ("allow_domain", "charts"),
        ("grant_read", PRODUCT, "charts"),
    ]


def test_the_logs_echo_of_a_request_does_not_undo_its_grant() -> None:
    # The book follows the log it writes to: the request read back after the grant was made
    # (memory first, then the record) must not turn the grant back into a request.
    from streams.identity import generate_credential
    from streams.registry._access import AccessBook, Grant, grant_key
    from streams.registry._domains import now

    book = AccessBook(admin=generate_credential("admin"))
    asked = Grant("player.plays", "charts", "requested", "top lists", "charts", now())
    granted = Grant("player.plays", "charts", "granted", "top lists", "player", now())
    book.put(granted)
    book.apply(grant_key("player.plays", "charts"), book.sealed(asked))
    assert book.grants[("player.plays", "charts")].state == "granted"
    revoked = Grant("player.plays", "charts", "revoked", "top lists", "player", now())
    book.apply(grant_key("player.plays", "charts"), book.sealed(revoked))
    assert book.grants[("player.plays", "charts")].state == "revoked"
