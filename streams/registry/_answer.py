"""Turning one request message into response bytes: fast path, negotiation, handler, errors.

No handler failure reaches the client as text: an exception becomes a 500 with a generic
message and an error id, and the id is logged with the traceback.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import parse_qsl

import orjson

from streams.registry._auth import Gate
from streams.registry._negotiation import DEFAULT_TYPE, request_type_problem, response_type
from streams.registry._reader import Message
from streams.registry._wire import Handler, Request, Response, error_answer, render

__all__ = ["Answerer", "FastKey", "Pending"]

logger = logging.getLogger(__name__)

# A finished answer and whether the connection stays open after it.
Pending = tuple[bytes, bool]
# Maps a raw target the precomputed table misses to the target it is the same answer as.
FastKey = Callable[[bytes], "bytes | None"]
_BODY_METHODS = frozenset({b"POST", b"PUT", b"PATCH"})


class Answerer:
    """Answers requests: precomputed bytes when possible, else through ``handler``.

    Args:
        handler: the application; returns a :class:`Response` or an awaitable of one.
        fast: raw GET targets to complete response bytes; read on every request, so its owner
            may update it at any time.
        fast_key: for a target ``fast`` misses, the target whose answer is the same (or None).
        gate: who may do what (None: no authentication, every request is let through).
        negotiate: answer with the registry's JSON media types, refusing (406) a client that
            accepts none; False for an application that names each response's own type (the
            web catalog), where any ``Accept`` is served.
    """

    def __init__(
        self,
        *,
        handler: Handler,
        fast: Mapping[bytes, bytes],
        fast_key: FastKey | None = None,
        gate: Gate | None = None,
        negotiate: bool = True,
    ) -> None:
        self._handler = handler
        self._negotiate = negotiate
        self._fast = fast.get
        self._fast_key = fast_key
        self.gate = gate
        # The fast path's whole authentication: the headers the gate checked already (None:
        # anything goes). The gate empties this very dict when domains change, never replaces it.
        self._known = None if gate is None else gate.known
        self._anonymous = gate is not None and gate.anonymous_reads

    def precomputed(
        self,
        method: bytes,
        target: bytes,
        keep_alive: bool,
        accept: bytes | None,
        authorization: bytes | None = None,
    ) -> bytes | None:
        """The complete answer when the request has a precomputed one, else None.

        The fast path: one dict lookup from the raw target to complete response bytes, called by
        the reader before a request object is even built. It is most of the registry's traffic
        (`scripts/bench registry`: GET /schemas/ids/{id}, with and without ?subject=). With
        authentication on, only a caller whose header was checked before takes it (one more
        dict lookup); the first request of a connection takes the slow path and is checked.
        """
        known = self._known
        if (
            method == b"GET"
            and (
                known is None
                or authorization in known
                or (authorization is None and self._anonymous)
            )
            and keep_alive
            and (accept is None or not self._negotiate or response_type(accept) is DEFAULT_TYPE)
        ):
            answer = self._fast(target)
            if answer is None and self._fast_key is not None:
                key = self._fast_key(target)
                if key is not None:
                    answer = self._fast(key)
            return answer
        return None

    def answer(self, message: Message) -> bytes | asyncio.Future[Pending]:
        """Response bytes now, or a future of them when the handler awaits (a Kafka write)."""
        if not message.body:
            ready = self.precomputed(
                message.method,
                message.target,
                message.keep_alive,
                message.accept,
                message.authorization,
            )
            if ready is not None:
                return ready
        keep_alive = message.keep_alive
        media = response_type(message.accept) if self._negotiate else DEFAULT_TYPE
        if media is None:
            return error_answer(
                406,
                "HTTP 406 Not Acceptable: the registry answers application/vnd.schemaregistry."
                "v1+json, application/vnd.schemaregistry+json or application/json; accept one.",
                keep_alive=keep_alive,
            )
        if (
            self._negotiate
            and message.content_type is not None
            and (message.body or message.method in _BODY_METHODS)
        ):
            problem = request_type_problem(message.content_type)
            if problem is not None:
                return error_answer(415, problem, keep_alive=keep_alive)
        raw_path, _, raw_query = message.target.partition(b"?")
        try:
            path = raw_path.decode("ascii")
            pairs = tuple(parse_qsl(raw_query.decode("ascii"), keep_blank_values=True))
        except UnicodeDecodeError:
            return error_answer(
                400, "The request target must be ASCII (percent-encode the rest).", keep_alive=False
            )
        head = message.method == b"HEAD"
        method = "GET" if head else message.method.decode("ascii", "replace")
        caller: str | None = None
        if self.gate is not None:
            verdict = self.gate.check(method, path, message.authorization)
            if isinstance(verdict, Response):
                return _rendered(verdict, keep_alive, media, head)
            caller = verdict
        request = Request(
            method=method,
            path=path,
            query=dict(pairs),
            pairs=pairs,
            body=message.body,
            caller=caller,
            authorization=message.authorization,
        )
        try:
            result = self._handler(request)
        except Exception:
            result = _internal_error(request)
        if isinstance(result, Response):
            return _rendered(result, keep_alive, media, head)
        return asyncio.ensure_future(_later(result, request, keep_alive, media, head))


async def _later(
    pending: Awaitable[Response], request: Request, keep_alive: bool, media: bytes, head: bool
) -> Pending:
    try:
        response = await pending
    except Exception:
        response = _internal_error(request)
    return _rendered(response, keep_alive, media, head), keep_alive


def _rendered(response: Response, keep_alive: bool, media: bytes, head: bool) -> bytes:
    """The bytes of ``response`` (its status, body and extra headers) on this connection."""
    return render(
        response.status,
        response.body,
        keep_alive=keep_alive,
        content_type=response.content_type or media,
        head=head,
        headers=response.headers,
    )


def _internal_error(request: Request) -> Response:
    """Log the traceback under a fresh error id; tell the client only the id."""
    error_id = uuid.uuid4().hex[:12]
    logger.exception("%s %s failed (error id %s)", request.method, request.path, error_id)
    message = f"Internal server error (error id {error_id}); the registry's log has the details."
    return Response(500, orjson.dumps({"error_code": 500, "message": message}))
