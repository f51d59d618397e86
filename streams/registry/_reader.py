"""Reading requests off a byte stream with llhttp (via httptools), within the limits.

llhttp does the framing and refuses what RFC 9112 forbids (duplicate or malformed
Content-Length, Content-Length with Transfer-Encoding, whitespace before a colon, bare LF,
obsolete line folding); this module adds what llhttp leaves to servers: Host rules, size limits
and ``Expect``. Each complete request becomes a :class:`Message` (or, when precomputed, its
answer) in :attr:`RequestReader.done`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import httptools

from streams.registry._limits import HttpLimits

__all__ = ["Message", "Precomputed", "RequestReader", "RequestRefusedError"]


class RequestRefusedError(Exception):
    """A request answered with an error status, after which the connection is closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Message:
    """One complete request as read off the wire, before any decoding."""

    __slots__ = (
        "accept",
        "authorization",
        "body",
        "content_type",
        "keep_alive",
        "method",
        "target",
    )

    def __init__(
        self,
        method: bytes,
        target: bytes,
        keep_alive: bool,
        accept: bytes | None,
        content_type: bytes | None,
        body: bytes,
        authorization: bytes | None = None,
    ) -> None:
        self.method = method
        self.target = target
        self.keep_alive = keep_alive
        self.accept = accept
        self.content_type = content_type
        self.body = body
        self.authorization = authorization


# (method, target, keep_alive, accept, authorization) -> the complete answer when it is
# precomputed (and the caller may read it).
Precomputed = Callable[[bytes, bytes, bool, "bytes | None", "bytes | None"], "bytes | None"]


class RequestReader:
    """Feeds bytes to llhttp and collects complete requests; raises :class:`RequestRefusedError`.

    Args:
        limits: header and body size limits.
        clock: the event loop's clock, to stamp when a head or body started.
        on_continue: called when a request asks ``Expect: 100-continue``.
        precomputed: the precomputed answer of a request without a body, if it has one; such a
            request is queued as its answer (the fast path builds no request object).
    """

    def __init__(
        self, limits: HttpLimits, on_continue: Callable[[], None], precomputed: Precomputed
    ) -> None:
        self._limits = limits
        self._precomputed = precomputed
        self._max_header = limits.max_header_bytes
        self._max_body = limits.max_body_bytes
        self._on_continue = on_continue
        self._parser = httptools.HttpRequestParser(self)
        self._refusal: RequestRefusedError | None = None
        # Complete requests, in order, or their answers when precomputed; the connection
        # answers them from here.
        self.done: deque[bytes | Message | RequestRefusedError] = deque()
        self.upgraded = False
        # When the current request's head and body started (time.monotonic); None outside.
        self.head_started: float | None = None
        self.body_started: float | None = None
        self._clear()

    def _clear(self) -> None:
        """The state of one request, fresh for the next one."""
        self._phase = 0  # 0 between requests, 1 in the head, 2 in the body
        self.head_started = self.body_started = None
        self._head_bytes = self._head_size = self._body_bytes = 0
        self._url = b""
        self._hosts = self._length = 0
        self._accept: bytes | None = None
        self._authorization: bytes | None = None
        self._content_type: bytes | None = None
        self._expect: bytes | None = None
        self._body: list[bytes] = []

    def discard(self) -> None:
        """Drop the request being read (its connection is closing)."""
        self._clear()

    @property
    def buffered(self) -> int:
        """Body bytes of the request being read."""
        return self._body_bytes

    def feed(self, data: bytes) -> None:
        """Parse ``data``; complete requests are appended to :attr:`done`."""
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # A protocol switch is not offered: answer what came before, then close.
            self.upgraded = True
            last = self.done[-1] if self.done else None
            if isinstance(last, Message):
                last.keep_alive = False
        except httptools.HttpParserError as exc:
            refusal, self._refusal = self._refusal, None
            if refusal is None:
                refusal = RequestRefusedError(
                    400,
                    f"Malformed HTTP request: {exc}. Send HTTP/1.1 with CRLF line endings, "
                    "one Content-Length or chunked Transfer-Encoding, and no whitespace before "
                    "a header's colon.",
                )
            raise refusal from None
        # Timestamps are taken per feed, not per request: a request read whole in one feed
        # (nearly all of them) costs no clock call. See `scripts/bench registry`.
        phase = self._phase
        if phase == 1:
            if self.head_started is None:
                self.head_started = time.monotonic()
            # httptools holds a header line until it is complete, so count what is fed.
            self._head_bytes += len(data)
            if self._head_bytes > self._max_header:
                raise RequestRefusedError(
                    431, f"Request line and headers exceed {self._max_header} bytes."
                )
        elif phase == 2 and self.body_started is None:
            self.body_started = time.monotonic()

    def _refuse(self, status: int, message: str) -> None:
        self._refusal = RequestRefusedError(status, message)
        raise self._refusal

    def _too_large(self) -> None:
        self._refuse(431, f"Request line and headers exceed {self._max_header} bytes.")

    # --- llhttp callbacks -------------------------------------------------------------------

    def on_url(self, url: bytes) -> None:
        # The first callback of a request (there is no on_message_begin: one call fewer per
        # request); bytes before the target are covered by the idle timeout.
        self._phase = 1
        self._url = self._url + url if self._url else url
        self._head_size += len(url)
        if self._head_size > self._max_header:
            self._too_large()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self._max_header:
            self._too_large()
        name = name.lower()
        if name == b"host":
            self._hosts += 1
        elif name == b"accept":
            self._accept = value if self._accept is None else self._accept + b"," + value
        elif name == b"authorization":
            if self._authorization is not None:
                self._refuse(400, "Duplicate Authorization header: send exactly one.")
            self._authorization = value
        elif name == b"content-length":
            self._length = int(value)  # llhttp let only digits through
        elif name == b"content-type":
            if self._content_type is not None:
                self._refuse(400, "Duplicate Content-Type header: send exactly one.")
            self._content_type = value
        elif name == b"expect":
            self._expect = value

    def on_headers_complete(self) -> None:
        self._phase = 2
        self.head_started = None
        if (
            self._hosts != 1
            or self._length > self._max_body
            or self._expect is not None
            or self._parser.get_http_version() != "1.1"
        ):
            self._check_head()

    def _check_head(self) -> None:
        version = self._parser.get_http_version()
        if version not in ("1.1", "1.0"):
            self._refuse(400, f"HTTP/{version} is not supported; send HTTP/1.1.")
        if self._hosts > 1:
            self._refuse(400, "Duplicate Host header: send exactly one.")
        if self._hosts == 0 and version == "1.1":
            self._refuse(400, "Missing Host header: HTTP/1.1 requests must send one.")
        if self._length > self._max_body:
            self._refuse(413, f"Request body exceeds {self._max_body} bytes.")
        if self._expect is not None:
            if self._expect.strip().lower() != b"100-continue":
                self._refuse(
                    417,
                    f"Unsupported Expect: {self._expect.decode('latin-1')[:60]!r}; only "
                    "100-continue is supported.",
                )
            self._on_continue()

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self._max_body:
            self._refuse(413, f"Request body exceeds {self._max_body} bytes.")
        self._body.append(body)

    def on_message_complete(self) -> None:
        parser = self._parser
        method = parser.get_method()
        keep_alive = parser.should_keep_alive()
        body = self._body
        # A precomputed answer is taken now only when no request waits ahead of this one (that
        # request may change what the answer is); otherwise it is looked up when answered.
        done = self.done
        ready = (
            None
            if body or (done and done[-1].__class__ is not bytes)
            else self._precomputed(method, self._url, keep_alive, self._accept, self._authorization)
        )
        if ready is not None:
            done.append(ready)
        else:
            message = Message(
                method,
                self._url,
                keep_alive,
                self._accept,
                self._content_type,
                b"".join(body) if body else b"",
                self._authorization,
            )
            done.append(message)
        self._clear()
