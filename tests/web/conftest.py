"""A web catalog over the made-up mesh, served on a free port by a thread's event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from streams.web import WebServer, build_snapshot
from tests.web._mesh import NOW_MS, mesh


class Served:
    """A :class:`WebServer` running in a thread until :meth:`stop`."""

    def __init__(self, server: WebServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(server.start(), self.loop).result(timeout=10)

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    """The catalog of :func:`tests.web._mesh.mesh` (12 products) at ``served.url``."""
    snapshot = build_snapshot(**mesh(9, domains=3), now_ms=NOW_MS)
    running = Served(WebServer(lambda: snapshot, port=0, refresh_s=3600))
    yield running
    running.stop()
