"""A small HTTP/1.1 server on asyncio, built for one job: a fast JSON API on loopback.

Why not a framework: the registry's hot path is ``GET /schemas/ids/{id}`` from every consumer
that meets a new schema id. Those answers are precomputed as complete response bytes, so the
server's job on the hot path is to find the request target in a dict and write bytes. A generic
framework spends most of its time in layers we do not need.

Supported: keep-alive, pipelining (answers stay in request order), ``Content-Length`` bodies.
Not supported, and answered clearly: chunked request bodies (411), oversized headers or bodies
(431/413), malformed request lines (400).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

import orjson

__all__ = ["Handler", "HttpServer", "Request", "Response", "render"]

logger = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
CONTENT_TYPE = b"application/vnd.schemaregistry.v1+json"

_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    409: b"Conflict",
    411: b"Length Required",
    413: b"Payload Too Large",
    422: b"Unprocessable Entity",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed request. ``path`` is still percent-encoded, so ``%2F`` never splits it."""

    method: str
    path: str
    query: Mapping[str, str]
    pairs: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Response:
    """A JSON response: status and the already-serialized body."""

    status: int
    body: bytes


Handler = Callable[[Request], "Response | Awaitable[Response]"]


def render(status: int, body: bytes, *, keep_alive: bool = True) -> bytes:
    """Serialize a complete HTTP/1.1 response."""
    reason = _REASONS.get(status, b"Unknown")
    connection = b"" if keep_alive else b"Connection: close\r\n"
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
            % (status, reason, CONTENT_TYPE, len(body)),
            connection,
            b"\r\n",
            body,
        )
    )


def _error(status: int, message: str) -> bytes:
    body = orjson.dumps({"error_code": status, "message": message})
    return render(status, body, keep_alive=False)


class _Connection(asyncio.Protocol):
    """One client connection: parses requests in order and writes answers in order."""

    __slots__ = ("_buffer", "_busy", "_closing", "_eof", "_fast", "_handler", "_transport")

    def __init__(self, handler: Handler, fast: Mapping[bytes, bytes]) -> None:
        self._handler = handler
        self._fast = fast
        self._buffer = b""
        self._busy = False
        self._closing = False
        self._eof = False
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def eof_received(self) -> bool:
        # The client finished sending (half-close); answers still pending must reach it.
        self._eof = True
        return self._busy

    def data_received(self, data: bytes) -> None:
        self._buffer = self._buffer + data if self._buffer else data
        if not self._busy:
            self._drain()

    def _fail(self, status: int, message: str) -> None:
        if self._transport is not None:
            self._transport.write(_error(status, message))
            self._transport.close()
        self._closing = True
        self._buffer = b""

    def _drain(self) -> None:
        """Answer every complete request in the buffer, stopping at one that must wait."""
        transport = self._transport
        while transport is not None and not self._closing:
            buffer = self._buffer
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEADER_BYTES:
                    self._fail(431, "Request headers exceed 64 KiB.")
                return
            line_end = buffer.find(b"\r\n")
            request_line = buffer[:line_end]
            parts = request_line.split(b" ")
            if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
                self._fail(400, "Malformed HTTP request line.")
                return
            method, target, version = parts
            length = 0
            keep_alive = version == b"HTTP/1.1"
            if end > line_end:
                for header in buffer[line_end + 2 : end].split(b"\r\n"):
                    name, _, value = header.partition(b":")
                    lowered = name.strip().lower()
                    if lowered == b"content-length":
                        try:
                            length = int(value.strip())
                        except ValueError:
                            self._fail(400, "Content-Length is not a number.")
                            return
                        if length < 0:
                            self._fail(400, "Content-Length is negative.")
                            return
                    elif lowered == b"connection":
                        token = value.strip().lower()
                        if token == b"close":
                            keep_alive = False
                        elif token == b"keep-alive":
                            keep_alive = True
                    elif lowered == b"transfer-encoding":
                        self._fail(
                            411, "Chunked request bodies are not supported; send Content-Length."
                        )
                        return
            if length > MAX_BODY_BYTES:
                self._fail(413, "Request body exceeds 16 MiB.")
                return
            total = end + 4 + length
            if len(buffer) < total:
                return
            body = buffer[end + 4 : total]
            self._buffer = buffer[total:]
            if method == b"GET" and keep_alive:
                cached = self._fast.get(target)
                if cached is not None:
                    transport.write(cached)
                    continue
            if not self._dispatch(method, target, body, keep_alive):
                return

    def _dispatch(self, method: bytes, target: bytes, body: bytes, keep_alive: bool) -> bool:
        """Run the handler; return False when its answer is pending (a write to Kafka)."""
        raw_path, _, raw_query = target.partition(b"?")
        try:
            path = raw_path.decode("ascii")
            pairs = tuple(parse_qsl(raw_query.decode("ascii"), keep_blank_values=True))
        except UnicodeDecodeError:
            self._fail(400, "The request target must be ASCII (percent-encode the rest).")
            return False
        request = Request(
            method=method.decode("ascii", "replace"),
            path=path,
            query=dict(pairs),
            pairs=pairs,
            body=body,
        )
        try:
            result = self._handler(request)
        except Exception:
            logger.exception("handler failed for %s %s", request.method, request.path)
            result = Response(
                500, orjson.dumps({"error_code": 50001, "message": "Internal error."})
            )
        if isinstance(result, Response):
            self._write(result, keep_alive)
            return not self._closing
        self._busy = True
        task = asyncio.ensure_future(result)
        task.add_done_callback(lambda done: self._finish(done, keep_alive))
        return False

    def _finish(self, task: asyncio.Future[Response], keep_alive: bool) -> None:
        self._busy = False
        exc = task.exception()
        if exc is not None:
            logger.error("handler failed", exc_info=exc)
            response = Response(500, orjson.dumps({"error_code": 50001, "message": str(exc)}))
        else:
            response = task.result()
        self._write(response, keep_alive)
        if self._buffer:
            self._drain()
        if self._eof and not self._busy and self._transport is not None:
            self._transport.close()

    def _write(self, response: Response, keep_alive: bool) -> None:
        if self._transport is None:
            return
        self._transport.write(render(response.status, response.body, keep_alive=keep_alive))
        if not keep_alive:
            self._transport.close()
            self._closing = True


class HttpServer:
    """Serves ``handler`` on ``host:port``; ``fast`` maps raw GET targets to full responses.

    The ``fast`` mapping is read on every request, so its owner may update it at any time.
    """

    def __init__(self, *, handler: Handler, fast: Mapping[bytes, bytes]) -> None:
        self._handler = handler
        self._fast = fast
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        """Bind and start accepting connections."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self._handler, self._fast), host=host, port=port, reuse_address=True
        )

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0)."""
        assert self._server is not None
        assert self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop accepting and close the listening socket."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
