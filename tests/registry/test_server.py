"""The registry server: persistence across restarts, bad input, and the HTTP layer's edges."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from streams.local import PlatformInfo
from streams.registry import KafkaStorage
from tests.registry.conftest import ThreadedRegistry

RECORD = json.dumps({"type": "record", "name": "R", "fields": [{"name": "f", "type": "string"}]})
EVOLVED = json.dumps(
    {
        "type": "record",
        "name": "R",
        "fields": [{"name": "f", "type": "string"}, {"name": "g", "type": "int", "default": 0}],
    }
)


def test_restart_rebuilds_everything_from_the_topic(
    platform: PlatformInfo, registry_topic: str
) -> None:
    first = ThreadedRegistry(
        KafkaStorage(bootstrap_servers=platform.bootstrap_servers, topic=registry_topic)
    ).start()
    try:
        with httpx.Client(base_url=first.url, timeout=30) as http:
            one = http.post("/subjects/a-value/versions", json={"schema": RECORD}).json()["id"]
            two = http.post("/subjects/a-value/versions", json={"schema": EVOLVED}).json()["id"]
            http.post("/subjects/b-value/versions", json={"schema": RECORD})
            http.put("/config/a-value", json={"compatibility": "FULL"})
            http.put("/mode/b-value", json={"mode": "READONLY"})
            http.delete("/subjects/b-value/versions/1")
    finally:
        first.stop()

    second = ThreadedRegistry(
        KafkaStorage(bootstrap_servers=platform.bootstrap_servers, topic=registry_topic)
    ).start()
    try:
        with httpx.Client(base_url=second.url, timeout=30) as http:
            assert http.get("/subjects").json() == ["a-value"]
            assert http.get("/subjects/a-value/versions").json() == [1, 2]
            assert http.get(f"/schemas/ids/{one}").json()["schema"] == RECORD.replace(" ", "")
            assert http.get("/subjects/a-value/versions/latest").json()["id"] == two
            assert http.get("/config/a-value").json()["compatibilityLevel"] == "FULL"
            assert http.get("/mode/b-value").json() == {"mode": "READONLY"}
            assert http.get("/subjects/b-value/versions?deleted=true").json() == [1]
            # A new schema gets a fresh id after the restart, never a reused one.
            other = json.dumps({"type": "record", "name": "S", "fields": []})
            assert (
                http.post("/subjects/c-value/versions", json={"schema": other}).json()["id"]
                == two + 1
            )
    finally:
        second.stop()


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        (b"{not json", 400, 400, "not valid JSON"),
        (b"[1, 2]", 422, 422, "JSON object"),
        (b'{"schema": 5}', 422, 42201, "'schema' string"),
        (b'{"schema": "{\\"type\\": \\"str\\"}"}', 422, 42201, "str"),
        (b'{"schema": "\\"int\\"", "schemaType": "PROTOBUF"}', 422, 42201, "AVRO schemas only"),
        (b'{"schema": "\\"int\\"", "references": "x"}', 422, 42201, "references"),
    ],
)
def test_bad_bodies_get_clear_4xx(
    memory_registry: ThreadedRegistry, body: bytes, status: int, code: int, words: str
) -> None:
    response = httpx.post(f"{memory_registry.url}/subjects/s/versions", content=body)
    assert response.status_code == status
    assert response.json()["error_code"] == code
    assert words in response.json()["message"]


def test_unknown_routes_and_methods(memory_registry: ThreadedRegistry) -> None:
    assert httpx.get(f"{memory_registry.url}/nope").json()["error_code"] == 404
    assert httpx.patch(f"{memory_registry.url}/subjects").status_code == 405
    assert httpx.get(f"{memory_registry.url}/schemas/ids/abc").status_code == 404


def raw_exchange(url: str, payload: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_pipelined_requests_are_answered_in_order(memory_registry: ThreadedRegistry) -> None:
    body = json.dumps({"schema": RECORD}).encode()
    register = b"POST /subjects/p/versions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )
    payload = (
        register
        + b"GET /schemas/ids/1 HTTP/1.1\r\nHost: x\r\n\r\n"
        + (b"GET /subjects HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    )
    answer = raw_exchange(memory_registry.url, payload)
    assert answer.count(b"HTTP/1.1 200 OK") == 3
    assert answer.index(b'"version":1') < answer.index(b'"schema"') < answer.index(b'["p"]')


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"POST /subjects/s/versions HTTP/1.1\r\nContent-Length: abc\r\n\r\n", b"400"),
        (
            b"POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n",
            b"413",
        ),
        (b"GET /" + b"x" * 70000, b"431"),
    ],
)
def test_malformed_http_is_refused_not_hung(
    memory_registry: ThreadedRegistry, payload: bytes, status: bytes
) -> None:
    assert raw_exchange(memory_registry.url, payload).startswith(b"HTTP/1.1 " + status)


def test_garbage_never_gets_a_5xx(memory_registry: ThreadedRegistry) -> None:
    """Random paths, methods and bodies: every answer is a 2xx/4xx JSON body, never 5xx."""
    import random

    rng = random.Random(1234)
    segments = [
        "subjects",
        "schemas",
        "ids",
        "versions",
        "config",
        "mode",
        "compatibility",
        "latest",
        "-1",
        "0",
        "1",
        "x",
        "%2F",
        "referencedby",
        "schema",
        "metadata",
    ]
    bodies = [
        b"",
        b"null",
        b"{}",
        b"[]",
        b'{"schema": null}',
        b'{"schema": "{"}',
        b'{"schema": "\\"int\\"", "references": [{"name": 1}]}',
        b'{"compatibility": 5}',
        b'{"mode": []}',
        b'{"schema": "\\"int\\"", "version": "x"}',
        bytes(range(256)),
        b'{"schema": "\\ud800"}',
        b'{"schema": "\xed\xa0\x80"}',
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b"[" * 50000,
        json.dumps({"schema": "[" * 3000 + "]" * 3000}).encode(),
        json.dumps({"schema": '{"type":"array","items":' * 2000 + '"int"' + "}" * 2000}).encode(),
    ]
    header_sets = [
        {},
        {"Accept": "application/json"},
        {"Accept": "text/html"},
        {"Accept": "*/*;q=0.1, application/vnd.schemaregistry+json"},
        {"Accept": ";;,,q=x"},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/json; charset=latin-1"},
        {"Content-Type": "application/octet-stream"},
    ]
    with httpx.Client(base_url=memory_registry.url, timeout=5) as http:
        http.post("/subjects/x/versions", json={"schema": RECORD})
        for _ in range(400):
            path = "/" + "/".join(rng.choice(segments) for _ in range(rng.randint(1, 5)))
            method = rng.choice(["GET", "POST", "PUT", "DELETE"])
            response = http.request(
                method, path, content=rng.choice(bodies), headers=rng.choice(header_sets)
            )
            assert response.status_code < 500, (method, path, response.text)
            assert "error_code" in response.json() or response.status_code == 200
