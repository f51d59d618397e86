"""The registry's HTTP/1.1 server on asyncio, with llhttp (httptools) as its parser.

Why not a framework: the registry's hot path is ``GET /schemas/ids/{id}`` from every consumer
that meets a new schema id. Those answers are precomputed as complete response bytes, so the
server's job on the hot path is to parse a request, find its target in a dict and write bytes.

The pieces: :mod:`._reader` parses (llhttp) and enforces the RFC and size limits,
:mod:`._answer` turns a request into bytes (fast path, negotiation, handler, errors),
:mod:`._protocol` moves bytes with back-pressure and timeouts, and :class:`HttpServer` here
owns the listening socket, the connection limit, the timeout sweep and a clean shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import resource
import time
from collections.abc import Mapping

from streams.registry._answer import Answerer, FastKey
from streams.registry._auth import Gate
from streams.registry._limits import HttpLimits
from streams.registry._protocol import Connection
from streams.registry._wire import Handler, Request, Response, render

__all__ = ["Handler", "HttpLimits", "HttpServer", "Request", "Response", "render"]

logger = logging.getLogger(__name__)

# File descriptors kept for everything but client connections (Kafka clients, logs, the
# listening socket), so the connection limit is reached long before EMFILE.
_FD_RESERVE = 128


def _fd_budget() -> float:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return math.inf
    return max(soft - _FD_RESERVE, 1)


class HttpServer:
    """Serves ``handler`` on ``host:port``; ``fast`` maps raw GET targets to full responses.

    Args:
        handler: answers every request the fast path does not.
        fast: raw GET targets to complete response bytes; it is read on every request, so its
            owner may update it at any time.
        fast_key: for a target ``fast`` misses, the target whose answer is the same (or None).
        limits: the bounds on connections, time and memory (defaults: :class:`HttpLimits`).
        gate: authentication and authorization of every request (None: none).
        negotiate: registry content negotiation (see :class:`~streams.registry._answer.Answerer`);
            False for an application whose responses name their own content type.
    """

    def __init__(
        self,
        *,
        handler: Handler,
        fast: Mapping[bytes, bytes],
        fast_key: FastKey | None = None,
        limits: HttpLimits | None = None,
        gate: Gate | None = None,
        negotiate: bool = True,
    ) -> None:
        self.limits = limits or HttpLimits()
        self.answerer = Answerer(
            handler=handler, fast=fast, fast_key=fast_key, gate=gate, negotiate=negotiate
        )
        self._server: asyncio.Server | None = None
        self._connections: set[Connection] = set()
        self._cap = float(self.limits.max_connections)
        self._sweeper: asyncio.TimerHandle | None = None
        self._all_closed: asyncio.Event | None = None
        self._refused = 0
        self._refusals_logged_at = -math.inf

    async def start(self, host: str, port: int) -> None:
        """Bind and start accepting connections."""
        loop = asyncio.get_running_loop()
        self._cap = min(self.limits.max_connections, _fd_budget())
        self._server = await loop.create_server(
            lambda: Connection(self), host=host, port=port, reuse_address=True
        )
        self._sweeper = loop.call_later(self.limits.sweep_interval, self._sweep)

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0)."""
        assert self._server is not None
        assert self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def connections(self) -> int:
        """Connections open now."""
        return len(self._connections)

    def buffered_bytes(self) -> int:
        """Bytes held for all connections (input not parsed yet, output not sent yet)."""
        return sum(connection.buffered for connection in self._connections)

    # --- connection bookkeeping (called by connections) -------------------------------------

    def admit(self, connection: Connection) -> bool:
        """Count a new connection in; False when the limit is reached or the server closes."""
        if self._server is None or len(self._connections) >= self._cap:
            self._refuse()
            return False
        self._connections.add(connection)
        return True

    def release(self, connection: Connection) -> None:
        """Count a closed connection out."""
        self._connections.discard(connection)
        if not self._connections and self._all_closed is not None:
            self._all_closed.set()

    def _refuse(self) -> None:
        # One line per interval, however many connections are refused: never a log storm.
        self._refused += 1
        now = asyncio.get_running_loop().time()
        if now - self._refusals_logged_at >= self.limits.log_interval:
            logger.warning(
                "refused %d connection(s) with 503: %d open, the limit is %d "
                "(HttpLimits.max_connections, capped by the file-descriptor limit)",
                self._refused,
                len(self._connections),
                self._cap,
            )
            self._refused = 0
            self._refusals_logged_at = now

    def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        for connection in list(self._connections):
            connection.expire(now)
        self._sweeper = loop.call_later(self.limits.sweep_interval, self._sweep)

    # --- shutdown ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop accepting, close idle connections, give in-flight requests a grace period."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        self._all_closed = asyncio.Event()
        for connection in list(self._connections):
            connection.drain()
        if self._connections:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_closed.wait(), self.limits.shutdown_grace)
        for connection in list(self._connections):
            connection.abort()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), self.limits.shutdown_grace)
