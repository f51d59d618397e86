"""The registry's HTTP layer by the RFC: framing, Host, chunked, Expect, HEAD, Connection, shutdown,
content negotiation as Confluent does it, and no internal text in errors."""

from __future__ import annotations

import json
import logging
import threading
import time

import httpx
import pytest

from streams.registry import MemoryStorage
from streams.registry._wire import render
from tests.registry.conftest import ThreadedRegistry
from tests.registry.http_client import (
    RECORD,
    connect,
    exchange,
    header,
    read_all,
    read_response,
    register,
)

CONFLUENT_ACCEPT = (
    "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json"
)


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (
            b"POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            b"Content-Length: 2\r\n\r\n{}",
            "Content-Length",
        ),
        (
            b"POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\n{}",
            "Length",
        ),
        (
            b"POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\nContent-Length: 1_0\r\n\r\n{}",
            "Length",
        ),
        (
            b"POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "Transfer-Encoding",
        ),
        (b"GET /subjects HTTP/1.1\r\n\r\n", "Missing Host"),
        (b"GET /subjects HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "Duplicate Host"),
        (b"GET /subjects HTTP/1.1\r\nHost : x\r\n\r\n", "header"),
        (b"GET /subjects HTTP/1.1\nHost: x\n\n", "Malformed"),
        (b"GET /subjects HTTP/1.1\r\nHost: x\n\r\n", "Malformed"),
        (b"NONSENSE\r\n\r\n", "Malformed"),
    ],
)
def test_rfc_violations_get_400_with_a_json_error(
    memory_registry: ThreadedRegistry, payload: bytes, words: str
) -> None:
    answer = exchange(memory_registry.url, payload)
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    head, _, body = answer.partition(b"\r\n\r\n")
    assert header(head, b"connection") == b"close"
    error = json.loads(body)
    assert error["error_code"] == 400
    assert words in error["message"]


def test_chunked_request_bodies_are_accepted(memory_registry: ThreadedRegistry) -> None:
    body = json.dumps({"schema": RECORD}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:]))
    answer = exchange(
        memory_registry.url,
        b"POST /subjects/c/versions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n" + chunks + b"0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 200 OK"), answer
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["id"] == 1


def test_expect_100_continue_is_answered_before_the_body(memory_registry: ThreadedRegistry) -> None:
    body = json.dumps({"schema": RECORD}).encode()
    with connect(memory_registry.url) as sock:
        sock.sendall(
            b"POST /subjects/e/versions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        buffer = bytearray()
        interim, _ = read_response(sock, buffer)
        assert interim.startswith(b"HTTP/1.1 100 Continue"), interim
        sock.sendall(body)
        final, answer = read_response(sock, buffer)
    assert final.startswith(b"HTTP/1.1 200 OK")
    assert json.loads(answer)["version"] == 1


def test_other_expectations_get_417(memory_registry: ThreadedRegistry) -> None:
    answer = exchange(
        memory_registry.url,
        b"POST /subjects/e/versions HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n"
        b"Content-Length: 2\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 417 ")
    assert b"100-continue" in answer


def test_head_gets_the_headers_and_no_body(memory_registry: ThreadedRegistry) -> None:
    with connect(memory_registry.url) as sock:
        sock.sendall(register() + b"HEAD /schemas/ids/1 HTTP/1.1\r\nHost: x\r\n\r\n")
        buffer = bytearray()
        read_response(sock, buffer)
        head = b""
        while b"\r\n\r\n" not in buffer:
            buffer += sock.recv(65536)
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        sock.sendall(b"GET /subjects HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        rest += read_all(sock)
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert int(header(head, b"content-length") or 0) > 0
    # Nothing follows the HEAD answer but the next response.
    assert rest.startswith(b"HTTP/1.1 200 OK"), rest
    assert rest.endswith(b'["s"]')


@pytest.mark.parametrize(
    "request_head",
    [
        b"GET /schemas/types HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /schemas/types HTTP/1.0\r\n\r\n",
    ],
)
def test_connection_close_and_http_1_0_close_after_the_answer(
    memory_registry: ThreadedRegistry, request_head: bytes
) -> None:
    with connect(memory_registry.url) as sock:
        sock.sendall(request_head)  # no half-close: the server must close by itself
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert answer.endswith(b'["AVRO"]')


def test_close_does_not_wait_for_idle_keep_alive_clients() -> None:
    registry = ThreadedRegistry(MemoryStorage()).start()
    with connect(registry.url) as sock:
        sock.sendall(b"GET /subjects HTTP/1.1\r\nHost: x\r\n\r\n")
        read_response(sock, bytearray())
        started = time.monotonic()
        registry.stop()
        assert time.monotonic() - started < 3
        assert sock.recv(1) == b"", "an idle keep-alive connection must be closed on shutdown"


def test_close_lets_an_in_flight_request_finish() -> None:
    registry = ThreadedRegistry(MemoryStorage()).start()
    with connect(registry.url) as sock:
        # A body that is still arriving when close() starts completes within the grace period.
        body = json.dumps({"schema": RECORD}).encode()
        sock.sendall(
            b"POST /subjects/f/versions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
            % len(body)
            + body[:5]
        )
        time.sleep(0.2)
        stopper = threading.Thread(target=registry.stop)
        stopper.start()
        time.sleep(0.2)
        sock.sendall(body[5:])
        head, answer = read_response(sock, bytearray())
        stopper.join(timeout=10)
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert json.loads(answer)["id"] == 1


# --- content negotiation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (None, "application/vnd.schemaregistry.v1+json"),
        (CONFLUENT_ACCEPT, "application/vnd.schemaregistry.v1+json"),
        ("*/*", "application/vnd.schemaregistry.v1+json"),
        ("application/json", "application/json"),
        ("application/vnd.schemaregistry+json", "application/vnd.schemaregistry+json"),
        ("text/html;q=0.9, application/json;q=0.5", "application/json"),
    ],
)
def test_responses_are_negotiated(
    memory_registry: ThreadedRegistry, accept: str | None, content_type: str
) -> None:
    headers = {} if accept is None else {"Accept": accept}
    with httpx.Client(base_url=memory_registry.url, timeout=30, headers=headers) as http:
        http.post("/subjects/n/versions", json={"schema": RECORD})
        for path in ("/schemas/ids/1", "/subjects", "/subjects/n/versions/1", "/nope"):
            response = http.get(path)
            assert response.headers["content-type"] == content_type, path
            assert response.json()


@pytest.mark.parametrize("accept", ["text/html", "application/xml, text/*", "application/json;q=0"])
def test_unacceptable_accept_gets_406(memory_registry: ThreadedRegistry, accept: str) -> None:
    response = httpx.get(f"{memory_registry.url}/subjects", headers={"Accept": accept})
    assert response.status_code == 406
    assert response.json()["error_code"] == 406


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/vnd.schemaregistry.v1+json", 200),
        ("application/vnd.schemaregistry+json", 200),
        ("application/json", 200),
        ("application/json; charset=UTF-8", 200),
        ("application/octet-stream", 200),
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
        ("application/json; charset=iso-8859-1", 415),
    ],
)
def test_request_content_types_as_confluent(
    memory_registry: ThreadedRegistry, content_type: str, status: int
) -> None:
    response = httpx.post(
        f"{memory_registry.url}/subjects/t/versions",
        content=json.dumps({"schema": RECORD}).encode(),
        headers={"Content-Type": content_type},
    )
    assert response.status_code == status, response.text
    if status == 415:
        assert response.json()["error_code"] == 415
        assert "415" in response.json()["message"]


# --- errors never carry internal text ----------------------------------------------------------


def test_a_failing_handler_gives_a_generic_500_with_an_error_id(
    memory_registry: ThreadedRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    assert memory_registry.server is not None
    registry = memory_registry.server.registry

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("secret internal detail")

    async def broken_async(*args: object, **kwargs: object) -> object:
        raise RuntimeError("secret internal detail")

    registry.state.subject_names = broken  # type: ignore[method-assign]
    registry.register = broken_async  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="streams.registry"):
        for response in (
            httpx.get(f"{memory_registry.url}/subjects"),
            httpx.post(f"{memory_registry.url}/subjects/s/versions", json={"schema": RECORD}),
        ):
            assert response.status_code == 500
            message = response.json()["message"]
            assert "secret" not in message
            error_id = message.split("error id ")[1].split(")")[0]
            assert any(
                error_id in record.getMessage() and record.exc_info for record in caplog.records
            )


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b'{"schema": "\\ud800"}', 400, "surrogate"),
        (b'{"schema": "\xed\xa0\x80"}', 400, "UTF-8"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, 400, "depth"),
        (b"[" * 100000, 400, "not valid JSON"),
        (json.dumps({"schema": "[" * 5000 + "]" * 5000}).encode(), 422, "levels deep"),
        (
            json.dumps({"schema": '{"type": "array", "items": ' * 990 + '"int"' + "}" * 990}),
            422,
            "levels deep",
        ),
        (
            json.dumps(
                {"schema": '{"type": "record", "name": "R", "doc": "\\ud800", "fields": []}'}
            ),
            422,
            "surrogate",
        ),
        (
            json.dumps(
                {
                    "schema": '{"type": "record", "name": "R", "fields": '
                    '[{"name": "f", "type": "double", "default": 1e400}]}'
                }
            ),
            422,
            "not a finite double",
        ),
    ],
)
def test_hostile_json_bodies_get_4xx_with_a_clear_message(
    memory_registry: ThreadedRegistry, body: bytes | str, status: int, words: str
) -> None:
    response = httpx.post(f"{memory_registry.url}/subjects/s/versions", content=body)
    assert response.status_code == status, response.text
    assert words in response.json()["message"]


# --- the fast path covers what confluent's deserializer asks ------------------------------------


def test_schema_by_id_with_subject_is_answered_from_the_fast_path(
    memory_registry: ThreadedRegistry,
) -> None:
    assert memory_registry.server is not None
    with httpx.Client(base_url=memory_registry.url, timeout=30) as http:
        http.post("/subjects/orders-value/versions", json={"schema": RECORD})
        plain = http.get("/schemas/ids/1")
        with_subject = http.get("/schemas/ids/1", params={"subject": "orders-value"})
        assert with_subject.content == plain.content
        # Marking the precomputed answer shows which path served the request.
        memory_registry.server.api.fast[b"/schemas/ids/1"] = render(200, b'{"marker": 1}')
        assert http.get("/schemas/ids/1?subject=orders-value").json() == {"marker": 1}
        # Other parameters still go through the handler.
        assert "maxId" in http.get("/schemas/ids/1?subject=orders-value&fetchMaxId=true").json()


def test_a_pipelined_lookup_sees_the_writes_queued_before_it(
    memory_registry: ThreadedRegistry,
) -> None:
    """A precomputed answer must not overtake a request that changes it."""
    with httpx.Client(base_url=memory_registry.url, timeout=30) as http:
        schema_id = http.post("/subjects/d/versions", json={"schema": RECORD}).json()["id"]
        assert http.get(f"/schemas/ids/{schema_id}").status_code == 200
    answer = exchange(
        memory_registry.url,
        b"DELETE /subjects/d/versions/1 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"DELETE /subjects/d/versions/1?permanent=true HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /schemas/ids/%d HTTP/1.1\r\nHost: x\r\n\r\n" % schema_id,
    )
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert answer.rindex(b"HTTP/1.1 404 ") > answer.rindex(b"HTTP/1.1 200 OK")
