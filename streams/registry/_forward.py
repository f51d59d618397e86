"""A secondary's writes: relayed to the primary, or refused with a 503 naming it.

Reads (``GET``, and the read-only ``POST``s: schema lookup and compatibility checks) are answered
locally from the followed log. Writes (``POST``/``PUT``/``DELETE``) on an instance that is not
the primary are sent to the primary's published URL with httpx and its answer is relayed as is;
when no primary is known or it cannot be reached, the answer is 503/50004 naming the primary's
URL, so a client can retry or go there directly.
"""

from __future__ import annotations

import re
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
    """

    def __init__(
        self,
        handler: Handler,
        *,
        primary: Callable[[], bool],
        primary_url: Callable[[], str | None],
        own_url: Callable[[], str | None],
    ) -> None:
        self._handler = handler
        self._primary = primary
        self._primary_url = primary_url
        self._own_url = own_url
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
        url = self._primary_url()
        if not url or url == self._own_url():
            return _refusal(
                "This registry instance is not the primary and no primary is elected yet (one "
                "takes over within seconds); retry the write."
            )
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=_TIMEOUT)
        try:
            answer = await self._client.request(
                request.method,
                url.rstrip("/") + request.path,
                params=request.pairs,
                content=request.body,
                headers={"Content-Type": CONTENT_TYPE.decode()},
            )
        except httpx.HTTPError as exc:
            return _refusal(
                f"This registry instance is not the primary and could not forward the write to "
                f"the primary at {url} ({type(exc).__name__}: {exc}); retry, or send it to "
                f"{url} directly."
            )
        return Response(answer.status_code, answer.content)

    async def close(self) -> None:
        """Release the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _refusal(message: str) -> Response:
    return Response(503, orjson.dumps({"error_code": codes.NOT_THE_WRITER, "message": message}))
