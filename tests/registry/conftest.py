"""Registry fixtures: an in-process registry server on its own event-loop thread."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest

from streams.local import PlatformInfo
from streams.registry import (
    HttpLimits,
    KafkaStorage,
    MemoryStorage,
    RegistryAuth,
    RegistryServer,
    Storage,
)


class ThreadedRegistry:
    """Runs a RegistryServer on a private event loop so sync tests can call it over HTTP."""

    def __init__(
        self,
        storage: Storage,
        *,
        limits: HttpLimits | None = None,
        auth: RegistryAuth | None = None,
    ) -> None:
        self.storage = storage
        self.limits = limits
        self.auth = auth
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: RegistryServer | None = None

    def _run(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=60)

    def start(self, *, writable_within_s: float | None = 60.0, port: int = 0) -> ThreadedRegistry:
        """Start answering; wait until writes are answered too unless ``writable_within_s`` is None.

        ``port`` 0 picks a free one; a registry restarted on its old port keeps its URL.

        Writes wait for the election (seconds on a busy machine); a test that times its
        first write would otherwise measure the election instead.
        """
        self.thread.start()
        self.server = RegistryServer(
            storage=self.storage, host="127.0.0.1", port=port, limits=self.limits, auth=self.auth
        )
        self._run(self.server.start())
        if writable_within_s is not None:
            deadline = time.monotonic() + writable_within_s
            while not self._run(self._writable()):
                assert time.monotonic() < deadline, "the registry never became writable"
                time.sleep(0.05)
        return self

    async def _writable(self) -> bool:
        assert self.server is not None
        return self.server.writable

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def stop(self) -> None:
        if self.server is not None:
            self._run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def memory_registry() -> Iterator[ThreadedRegistry]:
    """A registry whose log is in memory: no broker needed."""
    registry = ThreadedRegistry(MemoryStorage()).start()
    try:
        yield registry
    finally:
        registry.stop()


@pytest.fixture
def registry_topic() -> str:
    """A fresh `_schemas`-like topic per test."""
    return f"_schemas_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def kafka_registry(platform: PlatformInfo, registry_topic: str) -> Iterator[ThreadedRegistry]:
    """A registry stored in its own topic on the session's embedded broker."""
    storage = KafkaStorage(bootstrap_servers=platform.bootstrap_servers, topic=registry_topic)
    registry = ThreadedRegistry(storage).start()
    try:
        yield registry
    finally:
        registry.stop()
