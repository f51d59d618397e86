"""The registry's HTTP server keeps every resource a client can make it hold bounded.

Each test reproduces, at a small scale with low limits, a way the server was knocked over:
idle connections exhausting file descriptors, slow headers, half-sent bodies, idle keep-alive
connections, and pipelined requests whose answers are never read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import select
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from streams.registry import HttpLimits, MemoryStorage
from tests.registry.conftest import ThreadedRegistry
from tests.registry.http_client import connect, read_all, read_response, register

GET = b"GET /schemas/ids/1 HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture
def limited(request: pytest.FixtureRequest) -> Iterator[ThreadedRegistry]:
    """A registry with the limits given by ``@pytest.mark.parametrize(..., indirect=True)``."""
    registry = ThreadedRegistry(MemoryStorage(), limits=HttpLimits(**request.param)).start()
    try:
        yield registry
    finally:
        registry.stop()


def on_loop(registry: ThreadedRegistry, read: Any) -> Any:
    """Read server state on its own event loop thread."""

    async def call() -> Any:
        return read()

    return asyncio.run_coroutine_threadsafe(call(), registry.loop).result(timeout=5)


def http_server(registry: ThreadedRegistry) -> Any:
    assert registry.server is not None
    return registry.server._http


def served(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /schemas/types HTTP/1.1\r\nHost: x\r\n\r\n")
    head, body = read_response(sock, bytearray())
    assert head.startswith(b"HTTP/1.1 200 OK"), head
    return body


@pytest.mark.parametrize("limited", [{"max_connections": 3, "log_interval": 60}], indirect=True)
def test_connections_beyond_the_limit_get_503_and_one_log_line(
    limited: ThreadedRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    held = [connect(limited.url) for _ in range(3)]
    try:
        for sock in held:
            served(sock)
        with caplog.at_level(logging.WARNING, logger="streams.registry"):
            for _ in range(20):
                with connect(limited.url, timeout=2) as extra:
                    answer = read_all(extra)
                    assert answer.startswith(b"HTTP/1.1 503 "), answer
                    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error_code"] == 503
        refusals = [r for r in caplog.records if "refused" in r.getMessage()]
        assert len(refusals) == 1
        # Existing clients are still served, and a freed slot serves a new one.
        served(held[0])
        held.pop().close()
        deadline = time.monotonic() + 5
        while on_loop(limited, lambda: http_server(limited).connections) > 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with connect(limited.url) as sock:
            assert served(sock) == b'["AVRO"]'
    finally:
        for sock in held:
            sock.close()


@pytest.mark.parametrize("limited", [{"header_timeout": 0.3}], indirect=True)
def test_slow_headers_are_cut_off(limited: ThreadedRegistry) -> None:
    with connect(limited.url, timeout=3) as sock:
        sock.sendall(b"GET /subjects HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        for n in range(30):  # one header line every 0.1 s, until the server answers
            if select.select([sock], [], [], 0.1)[0]:
                break
            sock.sendall(b"X-%d: y\r\n" % n)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    "limited",
    [{"body_timeout": 0.3, "max_body_bytes": 1_000_000, "linger_timeout": 0.5}],
    indirect=True,
)
def test_a_half_sent_body_is_dropped_after_the_body_timeout(limited: ThreadedRegistry) -> None:
    socks = [connect(limited.url, timeout=3) for _ in range(5)]
    try:
        for sock in socks:
            sock.sendall(
                b"POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\nContent-Length: 900000\r\n\r\n"
                + b"x" * 100_000
            )
        time.sleep(0.1)
        assert on_loop(limited, lambda: http_server(limited).buffered_bytes()) > 0
        for sock in socks:
            assert read_all(sock).startswith(b"HTTP/1.1 408 ")
        assert on_loop(limited, lambda: http_server(limited).buffered_bytes()) == 0
        # The clients never close: the server lets go after its linger timeout all the same.
        deadline = time.monotonic() + 5
        while on_loop(limited, lambda: http_server(limited).connections):
            assert time.monotonic() < deadline, "connections outlived the linger timeout"
            time.sleep(0.05)
    finally:
        for sock in socks:
            sock.close()


@pytest.mark.parametrize("limited", [{"idle_timeout": 0.3}], indirect=True)
def test_idle_keep_alive_connections_are_closed(limited: ThreadedRegistry) -> None:
    with connect(limited.url, timeout=3) as sock:
        served(sock)
        started = time.monotonic()
        assert sock.recv(1) == b""
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("limited", "payload", "status"),
    [
        ({"max_header_bytes": 1024}, b"GET /subjects HTTP/1.1\r\nHost: x\r\nX: %s\r\n\r\n", b"431"),
        (
            {"max_body_bytes": 1024},
            b"POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n%s",
            b"413",
        ),
        (
            {"max_body_bytes": 1024},
            b"POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n7d0\r\n%s\r\n0\r\n\r\n",
            b"413",
        ),
    ],
    indirect=["limited"],
)
def test_size_limits(limited: ThreadedRegistry, payload: bytes, status: bytes) -> None:
    with connect(limited.url) as sock:
        with contextlib.suppress(OSError):  # the server may refuse before reading it all
            sock.sendall(payload % (b"y" * 2000))
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 " + status), answer


@pytest.mark.parametrize("limited", [{"max_body_bytes": 1024}], indirect=True)
def test_an_error_answer_survives_a_client_that_keeps_sending(limited: ThreadedRegistry) -> None:
    """A 413 sent while the body still streams in must reach the client, not die in a reset."""
    with connect(limited.url, timeout=5) as sock:
        sock.sendall(
            b"POST /subjects/s/versions HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n"
        )
        time.sleep(0.2)  # the server has answered 413 and shut its side
        for _ in range(40):  # the rest of the body arrives after the answer: never a reset
            sock.sendall(b"y" * 100_000)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer


@pytest.mark.parametrize(
    "limited",
    [{"max_pipelined": 4, "write_high_water": 32 * 1024, "write_low_water": 8 * 1024}],
    indirect=True,
)
def test_pipelined_requests_whose_answers_are_not_read_stop_the_reading(
    limited: ThreadedRegistry,
) -> None:
    doc = "d" * 4000  # ~4 KB per answer: 4,000 unread answers would be ~16 MB
    schema = json.dumps(
        {"type": "record", "name": "Big", "doc": doc, "fields": [{"name": "f", "type": "int"}]}
    )
    with connect(limited.url, timeout=1) as sock:
        sock.sendall(register(schema))
        read_response(sock, bytearray())
        sent = 0
        try:
            for _ in range(4000):
                sock.sendall(GET)
                sent += 1
        except TimeoutError:
            pass  # the server stopped reading: the kernel buffers filled up
        time.sleep(0.3)
        held = on_loop(limited, lambda: http_server(limited).buffered_bytes())
        assert held < 1024 * 1024, f"{held} bytes buffered for one client that reads nothing"
        # Reading the answers resumes the server: every request sent is answered in order.
        sock.settimeout(5)
        buffer = bytearray()
        for _ in range(sent):
            head, body = read_response(sock, buffer)
            assert head.startswith(b"HTTP/1.1 200 OK")
            assert doc.encode() in body


def test_the_defaults_are_the_ones_the_readme_promises() -> None:
    from streams.registry import HttpLimits

    limits = HttpLimits()
    assert limits.max_connections == 512
    assert (limits.header_timeout, limits.body_timeout, limits.idle_timeout) == (10, 30, 30)
    assert limits.max_header_bytes == 64 * 1024
    assert limits.max_body_bytes == 16 * 1024 * 1024
    assert limits.max_pipelined == 32
    assert limits.linger_timeout == 2
