"""A bounded HTTP/1.1 load generator for benchmarks: keep-alive raw sockets, one process each.

Python HTTP clients cost more CPU per request than our server does, so a benchmark driven by
httpx would measure httpx. A raw socket client is the leanest load a Python process can make.
"""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Callable
from multiprocessing import Process, Queue


class Connection:
    """One keep-alive connection that sends a request and reads its full response."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def request(self, raw: bytes) -> tuple[int, bytes]:
        self.sock.sendall(raw)
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end >= 0:
                head = self.buffer[:head_end].lower()
                start = head.find(b"content-length:") + 15
                stop = head.find(b"\r\n", start)
                length = int(head[start : stop if stop > 0 else None])
                total = head_end + 4 + length
                if len(self.buffer) >= total:
                    status = int(self.buffer[9:12])
                    body = self.buffer[head_end + 4 : total]
                    self.buffer = self.buffer[total:]
                    return status, body
            chunk = self.sock.recv(262144)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


AUTHORIZATION = ""
"""An ``Authorization: ...\\r\\n`` header line every request carries (see :func:`authorize`)."""


def authorize(name: str, secret: str) -> None:
    """Send HTTP Basic credentials with every request built from now on."""
    global AUTHORIZATION
    token = base64.b64encode(f"{name}:{secret}".encode()).decode()
    AUTHORIZATION = f"Authorization: Basic {token}\r\n"


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n{AUTHORIZATION}\r\n".encode()


def post(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\n{AUTHORIZATION}Content-Type: application/json\r\n"
    )
    return head.encode() + b"Content-Length: %d\r\n\r\n" % len(body) + body


def _worker(
    port: int, requests: list[bytes], seconds: float | None, expect: int, out: Queue
) -> None:
    conn = Connection("127.0.0.1", port)
    done = 0
    started = time.perf_counter()
    deadline = started + seconds if seconds else None
    try:
        while True:
            for raw in requests:
                status, body = conn.request(raw)
                if status != expect:
                    out.put(("error", f"HTTP {status}: {body[:300]!r}"))
                    return
                done += 1
                if deadline is not None and done % 64 == 0 and time.perf_counter() > deadline:
                    break
            if deadline is None or time.perf_counter() > deadline:
                break
        out.put(("ok", (done, time.perf_counter() - started)))
    finally:
        conn.close()


def run(
    port: int,
    request_sets: list[list[bytes]],
    *,
    seconds: float | None = None,
    expect: int = 200,
) -> float:
    """Run one process per request set (one connection each); return total requests per second.

    With ``seconds`` each process repeats its set until the time is up; without, it sends its set
    once. Any unexpected status fails the run.
    """
    out: Queue = Queue()
    workers = [
        Process(target=_worker, args=(port, rs, seconds, expect, out)) for rs in request_sets
    ]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    errors = [detail for kind, detail in results if kind == "error"]
    if errors:
        raise RuntimeError(f"benchmark request failed: {errors[0]}")
    return sum(done / elapsed for _, (done, elapsed) in results)


Factory = Callable[[int], bytes]
