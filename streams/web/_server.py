"""Running the web catalog: the snapshot keeper and the registry's HTTP server wired together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from streams.config import Settings
from streams.errors import PortInUseError
from streams.registry.http import HttpLimits, HttpServer
from streams.web._app import WebApp
from streams.web._keeper import SnapshotKeeper
from streams.web._snapshot import Snapshot, ViewMemo
from streams.web._source import read_snapshot

__all__ = ["WEB_READY", "WebServer", "serve"]

logger = logging.getLogger(__name__)

WEB_READY = "web catalog on"
"""The start of the log line that says the catalog answers (after its first read)."""

# A browser opens a few connections per page; a catalog has few readers at once.
_LIMITS = HttpLimits(max_connections=256, max_body_bytes=64 * 1024)


class WebServer:
    """The web catalog bound to a port; ``start``/``close`` inside a running event loop.

    Args:
        read: Reads a snapshot of the mesh (blocking; e.g. ``lambda: read_snapshot(settings)``).
        host: Address to bind.
        port: Port to bind; 0 picks a free one (see :attr:`port`).
        refresh_s: Seconds between two reads of the mesh.
        limits: Bounds on connections, time and memory (default: a small read-only site's).
    """

    def __init__(
        self,
        read: Callable[[], Snapshot],
        *,
        host: str = "127.0.0.1",
        port: int = 8090,
        refresh_s: float = 5.0,
        limits: HttpLimits | None = None,
    ) -> None:
        self.keeper = SnapshotKeeper(read, every_s=refresh_s)
        self.app = WebApp(lambda: self.keeper.snapshot, self._problems)
        self._http = HttpServer(
            handler=self.app, fast={}, limits=limits or _LIMITS, negotiate=False
        )
        self._host = host
        self._port = port

    def _problems(self) -> list[str]:
        return [] if self.keeper.failure is None else [self.keeper.failure]

    async def start(self) -> None:
        """Read the mesh once, then answer and keep refreshing."""
        await self.keeper.refresh()
        await self._http.start(self._host, self._port)
        self.keeper.start()
        logger.info(
            "%s %s (%d products, refreshed every %g s)",
            WEB_READY,
            self.url,
            len(self.keeper.snapshot.products),
            self.keeper.every_s,
        )

    @property
    def port(self) -> int:
        """The bound port."""
        return self._http.port

    @property
    def url(self) -> str:
        """The catalog's address."""
        return f"http://{self._host}:{self.port}"

    async def close(self) -> None:
        """Stop refreshing and answering."""
        await self.keeper.close()
        await self._http.close()


def serve(settings: Settings, *, host: str, port: int, refresh_s: float = 5.0) -> None:
    """Run the web catalog until SIGTERM or SIGINT.

    Args:
        settings: Where Kafka and the registry are, and who reads (the grants need an identity
            the registry knows when it authenticates).
        host: Address to listen on.
        port: Port to listen on.
        refresh_s: Seconds between two reads of the mesh.

    Raises:
        PortInUseError: ``host:port`` cannot be bound.
    """

    memo: ViewMemo = {}

    async def main() -> None:
        server = WebServer(
            lambda: read_snapshot(settings, memo=memo), host=host, port=port, refresh_s=refresh_s
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            await server.start()
        except OSError as exc:
            await server.close()
            raise PortInUseError(
                f"the web catalog cannot listen on {host}:{port} ({exc.strerror or exc}); stop "
                "what uses the port or choose another with --port",
                host=host,
                port=port,
            ) from exc
        try:
            await stop.wait()
        finally:
            with contextlib.suppress(Exception):
                await server.close()

    asyncio.run(main())
