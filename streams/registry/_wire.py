"""What crosses the wire: a parsed request, a JSON response, and their bytes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import orjson

__all__ = ["CONTENT_TYPE", "Handler", "Request", "Response", "error_answer", "render"]

CONTENT_TYPE = b"application/vnd.schemaregistry.v1+json"

REASONS = {
    100: b"Continue",
    200: b"OK",
    204: b"No Content",
    401: b"Unauthorized",
    403: b"Forbidden",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    406: b"Not Acceptable",
    408: b"Request Timeout",
    409: b"Conflict",
    411: b"Length Required",
    413: b"Payload Too Large",
    415: b"Unsupported Media Type",
    417: b"Expectation Failed",
    422: b"Unprocessable Entity",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed request. ``path`` is still percent-encoded, so ``%2F`` never splits it.

    ``caller`` is the authenticated identity (``admin`` or a domain); None when the registry
    runs without authentication or for an anonymous read. ``authorization`` is the raw
    ``Authorization`` header, kept only to relay a write to the primary, which checks it again.
    """

    method: str
    path: str
    query: Mapping[str, str]
    pairs: tuple[tuple[str, str], ...]
    body: bytes
    caller: str | None = None
    authorization: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Response:
    """A response: status, the already-serialized body and any further header lines (each
    ending with CRLF, e.g. ``WWW-Authenticate`` on a 401).

    ``content_type`` None means the negotiated registry JSON type; an application serving
    something else (the web catalog's HTML) names its own.
    """

    status: int
    body: bytes
    headers: bytes = b""
    content_type: bytes | None = None


Handler = Callable[[Request], "Response | Awaitable[Response]"]


def render(
    status: int,
    body: bytes,
    *,
    keep_alive: bool = True,
    content_type: bytes = CONTENT_TYPE,
    head: bool = False,
    headers: bytes = b"",
) -> bytes:
    """Serialize a complete HTTP/1.1 response; ``head`` keeps the headers and drops the body.

    ``headers`` are further complete header lines (``b"Name: value\\r\\n"``)."""
    reason = REASONS.get(status, b"Unknown")
    connection = b"" if keep_alive else b"Connection: close\r\n"
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
            % (status, reason, content_type, len(body)),
            connection,
            headers,
            b"\r\n",
            b"" if head else body,
        )
    )


def error_answer(status: int, message: str, *, keep_alive: bool = False) -> bytes:
    """A complete error response in Confluent's shape ``{"error_code": N, "message": ...}``."""
    body = orjson.dumps({"error_code": status, "message": message})
    return render(status, body, keep_alive=keep_alive)
