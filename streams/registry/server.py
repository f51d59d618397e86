"""Running the registry: storage, state, API and HTTP server wired together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

from streams.registry._http import HttpLimits, HttpServer
from streams.registry.api import Api
from streams.registry.service import Registry
from streams.registry.storage import KafkaStorage, Storage

__all__ = ["RegistryServer", "serve"]

logger = logging.getLogger(__name__)


class RegistryServer:
    """A registry bound to a port; ``start``/``close`` inside a running event loop.

    Args:
        storage: where the log lives (``KafkaStorage`` in production, ``MemoryStorage`` in tests).
        host: address to bind.
        port: port to bind; 0 picks a free one (see :attr:`port`).
        limits: bounds on connections, timeouts and buffered bytes (default: HttpLimits()).
    """

    def __init__(
        self,
        *,
        storage: Storage,
        host: str = "127.0.0.1",
        port: int = 8081,
        limits: HttpLimits | None = None,
    ) -> None:
        self.registry = Registry(storage=storage)
        self.api = Api(self.registry)
        self._storage = storage
        self._host = host
        self._port = port
        self._http = HttpServer(
            handler=self.api, fast=self.api.fast, fast_key=self.api.fast_key, limits=limits
        )

    async def start(self) -> None:
        """Rebuild the state from storage, then start answering."""
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        count = await loop.run_in_executor(None, self.registry.load)
        self.registry.follow(loop)  # records written by others from here on
        self.api.refresh(None)
        await self._storage.warm_up()
        await self._http.start(self._host, self._port)
        logger.info(
            "schema registry on http://%s:%d (%d log records, %d schemas, %.0f ms)",
            self._host,
            self.port,
            count,
            len(self.registry.state.schemas),
            (time.monotonic() - started) * 1000,
        )

    @property
    def port(self) -> int:
        """The bound port."""
        return self._http.port

    @property
    def url(self) -> str:
        """The base URL clients use."""
        return f"http://{self._host}:{self.port}"

    async def close(self) -> None:
        """Stop answering and release the Kafka clients."""
        await self._http.close()
        self._storage.close()


def serve(*, host: str, port: int, bootstrap_servers: str, topic: str = "_schemas") -> None:
    """Run the registry until SIGTERM or SIGINT; its state lives in ``topic`` on Kafka."""

    async def main() -> None:
        storage = KafkaStorage(bootstrap_servers=bootstrap_servers, topic=topic)
        server = RegistryServer(storage=storage, host=host, port=port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await server.start()
        try:
            await stop.wait()
        finally:
            with contextlib.suppress(Exception):
                await server.close()

    asyncio.run(main())
