"""Raw-socket helpers for the HTTP tests: exact bytes in, exact bytes out, bounded in time."""

from __future__ import annotations

import json
import socket

RECORD = json.dumps({"type": "record", "name": "R", "fields": [{"name": "f", "type": "string"}]})


def connect(url: str, timeout: float = 5.0) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (a timeout fails the test)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def exchange(url: str, payload: bytes) -> bytes:
    """Send ``payload``, half-close, and read until the server closes."""
    with connect(url) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        return read_all(sock)


def read_response(sock: socket.socket, buffer: bytearray) -> tuple[bytes, bytes]:
    """One response with a Content-Length body: (head, body); leftovers stay in ``buffer``."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a full head: {bytes(buffer)!r}")
        buffer += chunk
    end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:end])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    if head.startswith(b"HTTP/1.1 1"):
        length = 0
    while len(buffer) < end + length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a full body")
        buffer += chunk
    body = bytes(buffer[end : end + length])
    del buffer[: end + length]
    return head, body


def header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.lower() == name.lower():
            return value.strip()
    return None


def register(schema: str = RECORD, subject: str = "s") -> bytes:
    body = json.dumps({"schema": schema}).encode()
    return b"POST /subjects/%s/versions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (
        subject.encode(),
        len(body),
        body,
    )
