"""One client connection: bytes in, answers out, in order, within the limits.

Concerns are split: :mod:`._reader` parses, :mod:`._answer` turns a message into response
bytes, and this module only moves bytes and keeps the bounds. Reading stops (``pause_reading``)
while a request is being handled, while ``max_pipelined`` requests wait for their answers, and
while the peer leaves more than ``write_high_water`` bytes of answers unread; it resumes when
those clear. Bytes already received are fed to the parser in slices, so a burst of pipelined
requests is read only as far as the bound allows.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Protocol

from streams.registry._answer import Answerer, Pending
from streams.registry._limits import HttpLimits
from streams.registry._reader import Message, RequestReader, RequestRefusedError
from streams.registry._wire import error_answer

__all__ = ["Connection", "Owner"]

# Bytes given to the parser at a time: small enough that one slice holds few requests (so the
# pipelining bound holds), large enough that a body is parsed in few calls.
_SLICE = 16 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class Owner(Protocol):
    """What a connection needs from its server."""

    limits: HttpLimits
    answerer: Answerer

    def admit(self, connection: Connection) -> bool: ...

    def release(self, connection: Connection) -> None: ...


class Connection(asyncio.Protocol):
    """Reads requests, answers them in order, and closes itself when a bound is crossed."""

    def __init__(self, owner: Owner) -> None:
        self._owner = owner
        self._limits = owner.limits
        self._max_pipelined = owner.limits.max_pipelined
        self._answerer = owner.answerer
        self._reader = RequestReader(owner.limits, self._continue, owner.answerer.precomputed)
        self._transport: asyncio.Transport | None = None
        # Requests read but not answered yet, in order; a refusal, if any, comes last.
        self._backlog: deque[bytes | Message | RequestRefusedError] = self._reader.done
        self._unfed = b""
        self._busy = False
        self._reading = True
        self._write_paused_at: float | None = None
        self._eof = False
        self._closing = False
        self._lingering_since: float | None = None
        self._draining = False
        self.last_active = time.monotonic()

    # --- asyncio callbacks ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if not self._owner.admit(self):
            self._closing = True
            transport.write(
                error_answer(503, "Too many connections to the registry; retry shortly.")
            )
            transport.close()
            return
        transport.set_write_buffer_limits(
            high=self._limits.write_high_water, low=self._limits.write_low_water
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._closing = True
        self._backlog.clear()
        self._unfed = b""
        self._owner.release(self)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        self._unfed = self._unfed + data if self._unfed else data
        self._pump()

    def eof_received(self) -> bool:
        if self._lingering_since is not None:
            return False  # the client read our last answer and closed: close too
        # Half-close: answers still owed must reach the client before the connection closes.
        self._eof = True
        self._pump()
        return not self._closing

    def pause_writing(self) -> None:
        self._write_paused_at = time.monotonic()
        self._pump()

    def resume_writing(self) -> None:
        self._write_paused_at = None
        self._pump()

    # --- the loop ---------------------------------------------------------------------------

    def _pump(self) -> None:
        """Answer what can be answered, feed the parser as far as the bounds allow."""
        backlog = self._backlog
        reader = self._reader
        while not self._closing:
            if backlog:
                self._answer_backlog()
                if self._closing or len(backlog) >= self._max_pipelined:
                    break
            if self._busy or self._write_paused_at is not None:
                break
            chunk = self._unfed
            if not chunk:
                break
            if len(chunk) > _SLICE:
                chunk, self._unfed = chunk[:_SLICE], chunk[_SLICE:]
            else:
                self._unfed = b""
            try:
                reader.feed(chunk)  # complete requests land in the backlog
            except RequestRefusedError as refusal:
                backlog.append(refusal)
                self._unfed = b""
            if reader.upgraded:
                self._unfed = b""
        if self._busy or backlog or self._unfed or not self._reading or self._eof or self._draining:
            self._settle()
        else:
            self.last_active = time.monotonic()  # the common case: idle, nothing owed

    def _answer_backlog(self) -> None:
        backlog = self._backlog
        transport = self._transport
        while backlog and not self._busy and self._write_paused_at is None:
            item = backlog.popleft()
            if item.__class__ is bytes:  # precomputed by the reader (keep-alive GET)
                if transport is not None:
                    transport.write(item)
                continue
            if isinstance(item, RequestRefusedError):
                self._write(error_answer(item.status, item.message), keep_alive=False)
                return
            assert isinstance(item, Message)
            answer = self._answerer.answer(item)
            if isinstance(answer, bytes):
                self._write(answer, keep_alive=item.keep_alive)
            else:
                self._busy = True
                answer.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[Pending]) -> None:
        self._busy = False
        if task.cancelled():  # the event loop is shutting down
            self.abort()
            return
        self.last_active = time.monotonic()
        answer, keep_alive = task.result()  # Answerer's tasks never raise
        self._write(answer, keep_alive=keep_alive)
        self._pump()

    def _write(self, answer: bytes, *, keep_alive: bool) -> None:
        transport = self._transport
        if transport is None:
            return
        transport.write(answer)
        if not keep_alive:
            self.close(linger=True)

    def _settle(self) -> None:
        """Pause or resume reading; close when the client is done and everything is answered."""
        transport = self._transport
        if transport is None:
            return
        if not self._busy and not self._backlog and not self._unfed:
            self.last_active = time.monotonic()
            # After the client's EOF a partial request can never complete: close now.
            if self._eof or (self._draining and self.idle):
                self.close()
                return
        want = not (
            self._busy
            or self._write_paused_at is not None
            or len(self._backlog) >= self._limits.max_pipelined
            or self._unfed
        )
        if want != self._reading and not self._closing:
            self._reading = want
            if want:
                transport.resume_reading()
            else:
                transport.pause_reading()

    def _continue(self) -> None:
        # Only an idle connection may send 100 Continue now; otherwise it would overtake
        # answers still owed, and the client sends its body after its own short wait anyway.
        if self._transport is not None and not self._busy and not self._backlog:
            self._transport.write(_CONTINUE)

    # --- bounds kept by the server's sweep --------------------------------------------------

    @property
    def idle(self) -> bool:
        """True between requests: nothing received that is not answered yet."""
        reader = self._reader
        return (
            not self._busy
            and not self._backlog
            and not self._unfed
            and reader.head_started is None
            and reader.body_started is None
        )

    @property
    def buffered(self) -> int:
        """Bytes this connection holds: unread input, queued request bodies, unsent output."""
        held = self._reader.buffered + len(self._unfed)
        held += sum(len(m.body) for m in self._backlog if isinstance(m, Message))
        if self._transport is not None:
            held += self._transport.get_write_buffer_size()
        return held

    def expire(self, now: float) -> None:
        """Close the connection when it has overstayed a timeout."""
        limits = self._limits
        reader = self._reader
        if self._lingering_since is not None:
            if now - self._lingering_since > limits.linger_timeout and self._transport is not None:
                self._transport.close()
            return
        if self._closing:
            return
        if self._write_paused_at is not None:
            if now - self._write_paused_at > limits.send_timeout:
                self.abort()
        elif self._busy or self._backlog:
            return
        elif reader.head_started is not None:
            if now - reader.head_started > limits.header_timeout:
                self._timeout("headers", limits.header_timeout)
        elif reader.body_started is not None:
            if now - reader.body_started > limits.body_timeout:
                self._timeout("body", limits.body_timeout)
        elif now - self.last_active > limits.idle_timeout:
            self.close()

    def _timeout(self, part: str, seconds: float) -> None:
        self._write(
            error_answer(408, f"The request {part} did not arrive within {seconds:g} s."),
            keep_alive=False,
        )

    def drain(self) -> None:
        """Server shutdown: finish what is in flight, then close; close now when idle."""
        self._draining = True
        if self.idle:
            self.close()

    def close(self, *, linger: bool = False) -> None:
        """Close after the answers already written are flushed.

        With ``linger`` (a last answer the client may still be sending a request into, such as
        a 408 or 413), only our side is shut (FIN) and what still arrives is read and dropped
        until the client closes or ``linger_timeout`` passes. Closing at once with unread bytes
        makes the kernel send a reset, which can destroy the answer before the client reads it.
        """
        self._closing = True
        self._backlog.clear()
        self._unfed = b""
        self._reader.discard()
        transport = self._transport
        if transport is None:
            return
        if linger and not self._eof and transport.can_write_eof():
            self._lingering_since = time.monotonic()
            transport.write_eof()
            if not self._reading:
                self._reading = True
                transport.resume_reading()
        else:
            transport.close()

    def abort(self) -> None:
        """Drop the connection now, with whatever is still buffered."""
        self.close()
        if self._transport is not None:
            self._transport.abort()
