"""A secondary's writes: relayed to the primary, or refused with a 503 naming it.

Reads (``GET``, and the read-only ``POST``s: schema lookup and compatibility checks) are answered
locally from the followed log. Writes (``POST``/``PUT``/``DELETE``) on an instance that is not
the primary are sent to the primary's published URL with httpx and its answer is relayed as is.
While no primary is known (an election in progress, e.g. just after start or a primary's death)
or it refuses connections, the write waits up to ``wait_s`` for one; after that the answer is
503/50004 naming the primary's URL, so a client can retry or go there directly. Only refused
connections are retried: nothing was sent, so nothing can be applied twice.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

import httpx
import orjson

from streams.registry import codes
from streams.registry._wire import CONTENT_TYPE, Handler, Request, Response

__all__ = ["Forwarder"]

_READ_ONLY_POST = re.compile(r"^/(compatibility/.*|subjects/[^/]+/?)$")
# Generous for a write (a commit waits for Kafka), short to connect: a dead primary shows fast.
_TIMEOUT = httpx.Timeout(30.0, connect=2.0)


class Forwarder:
    """Wraps the registry's handler: answers locally, or relays writes to the primary.

    Args:
        handler: the local API.
        primary: whether this instance is (or is becoming) the primary.
        primary_url: the primary's advertised URL, when known.
        own_url: this instance's advertised URL (never forwarded to).
        wait_s: how long a write waits for a primary to be elected or to answer.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        primary: Callable[[], bool],
        primary_url: Callable[[], str | None],
        own_url: Callable[[], str | None],
        wait_s: float = 15.0,
    ) -> None:
        self._handler = handler
        self._primary = primary
        self._primary_url = primary_url
        self._own_url = own_url
        self._wait = wait_s
        self._client: httpx.AsyncClient | None = None

    def __call__(self, request: Request) -> Response | Awaitable[Response]:
        """Answer ``request`` here, or forward it when it is a write and another is primary."""
        if (
            request.method in ("GET", "HEAD")
            or self._primary()
            or (request.method == "POST" and _READ_ONLY_POST.match(request.path))
        ):
            return self._handler(request)
        return self._forward(request)

    async def _forward(self, request: Request) -> Response:
        deadline = time.monotonic() + self._wait
        problem = "no primary is elected yet"
        url: str | None = None
        while time.monotonic() < deadline:
            if self._primary():  # elected while this request waited
                return await _answered(self._handler(request))
            url = self._primary_url()
            if url and url != self._own_url():
                try:
                    return await self._send(url, request)
                except httpx.ConnectError as exc:  # nothing was sent: safe to try again
                    problem = f"the primary at {url} refused the connection ({exc})"
                except httpx.HTTPError as exc:
                    return _refusal(
                        "This registry instance is not the primary and could not forward the "
                        f"write to the primary at {url} ({type(exc).__name__}: {exc}); the write "
                        f"may or may not have been applied: check, then retry or send it to {url}."
                    )
            await asyncio.sleep(0.1)
        return _refusal(
            f"This registry instance is not the primary and {problem} after waiting "
            f"{self._wait:.0f} s; retry the write"
            + (f", or send it to the primary at {url}." if url else ".")
        )

    async def _send(self, url: str, request: Request) -> Response:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=_TIMEOUT)
        headers = {"Content-Type": CONTENT_TYPE.decode()}
        if request.authorization is not None:  # the primary checks the caller again
            headers["Authorization"] = request.authorization.decode("latin-1")
        answer = await self._client.request(
            request.method,
            url.rstrip("/") + request.path,
            params=request.pairs,
            content=request.body,
            headers=headers,
        )
        challenge = answer.headers.get("WWW-Authenticate")
        extra = f"WWW-Authenticate: {challenge}\r\n".encode("latin-1") if challenge else b""
        return Response(answer.status_code, answer.content, extra)

    async def close(self) -> None:
        """Release the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


async def _answered(result: Response | Awaitable[Response]) -> Response:
    return result if isinstance(result, Response) else await result


def _refusal(message: str) -> Response:
    return Response(503, orjson.dumps({"error_code": codes.NOT_THE_WRITER, "message": message}))
