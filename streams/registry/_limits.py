"""The bounds the registry's HTTP server keeps, so no client can exhaust it.

Every resource a client can make the server hold has a bound here: connections (file
descriptors), time (slow headers, slow or stalled bodies, idle keep-alive connections, a peer
that stops reading), memory (header and body size, queued pipelined requests, the write buffer).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["HttpLimits"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpLimits:
    """Limits of one HTTP server; the defaults suit a registry on a trusted network.

    Attributes:
        max_connections: open connections at once; further ones get 503 and are closed. The
            server lowers it below the process's file-descriptor limit when that is smaller.
        max_header_bytes: request line and headers of one request (beyond: 431).
        max_body_bytes: body of one request (beyond: 413).
        header_timeout: seconds from a request's first byte to the end of its headers (408).
        body_timeout: seconds from the end of the headers to the end of the body (408).
        idle_timeout: seconds a keep-alive connection may wait for its next request.
        send_timeout: seconds a peer may leave our answers unread before it is dropped.
        max_pipelined: requests read ahead of their answers per connection; beyond it the
            server stops reading from that connection until answers are written.
        write_high_water: bytes buffered for a slow reader before the server stops reading.
        write_low_water: bytes below which reading resumes.
        linger_timeout: seconds a connection closed after an error answer keeps reading (and
            dropping) what the client still sends, so the answer is not lost to a reset.
        shutdown_grace: seconds in-flight requests get to finish when the server closes.
        log_interval: seconds between two log lines about the same refused condition.
    """

    max_connections: int = 512
    max_header_bytes: int = 64 * 1024
    max_body_bytes: int = 16 * 1024 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 30.0
    send_timeout: float = 30.0
    max_pipelined: int = 32
    write_high_water: int = 256 * 1024
    write_low_water: int = 64 * 1024
    linger_timeout: float = 2.0
    shutdown_grace: float = 5.0
    log_interval: float = 10.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if value <= 0:
                raise ValueError(f"HttpLimits.{field.name} must be positive, got {value!r}.")
        if self.write_low_water > self.write_high_water:
            raise ValueError(
                "HttpLimits.write_low_water must not exceed write_high_water "
                f"({self.write_low_water} > {self.write_high_water})."
            )

    @property
    def sweep_interval(self) -> float:
        """How often timeouts are checked: often enough to be within ~25% of the shortest."""
        shortest = min(self.header_timeout, self.body_timeout, self.idle_timeout, self.send_timeout)
        return min(max(shortest / 4, 0.01), 1.0)
