"""Content negotiation as Confluent's registry does it.

Responses default to ``application/vnd.schemaregistry.v1+json``; a client that prefers
``application/vnd.schemaregistry+json`` or ``application/json`` gets that instead (Confluent's
server weights the three 1, 0.9 and 0.5), and one that accepts none of them gets 406. Request
bodies may be any of the three or ``application/octet-stream``, in UTF-8 only (else 415).
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["DEFAULT_TYPE", "request_type_problem", "response_type"]

DEFAULT_TYPE = b"application/vnd.schemaregistry.v1+json"
_RESPONSE_TYPES = (
    (DEFAULT_TYPE, 1.0),
    (b"application/vnd.schemaregistry+json", 0.9),
    (b"application/json", 0.5),
)
_REQUEST_TYPES = frozenset(
    {
        DEFAULT_TYPE,
        b"application/vnd.schemaregistry+json",
        b"application/json",
        b"application/octet-stream",
    }
)
_CHARSETS = frozenset({b"utf-8", b"utf8"})


def _split(value: bytes) -> tuple[bytes, dict[bytes, bytes]]:
    """``type/subtype; k=v`` as the lower-cased media type and its parameters."""
    media, *params = value.split(b";")
    parsed: dict[bytes, bytes] = {}
    for param in params:
        key, _, val = param.partition(b"=")
        parsed[key.strip().lower()] = val.strip().strip(b'"').lower()
    return media.strip().lower(), parsed


def _quality(params: dict[bytes, bytes]) -> float:
    try:
        q = float(params.get(b"q", b"1"))
    except ValueError:
        return 0.0
    return q if 0.0 <= q <= 1.0 else 0.0


@lru_cache(maxsize=256)
def response_type(accept: bytes | None) -> bytes | None:
    """The media type to answer with for an ``Accept`` header; None means 406."""
    if accept is None or not accept.strip():
        return DEFAULT_TYPE
    ranges: list[tuple[bytes, float]] = []
    for item in accept.split(b","):
        if item.strip():
            media, params = _split(item)
            ranges.append((media, _quality(params)))
    best: bytes | None = None
    best_score = 0.0
    for media, weight in _RESPONSE_TYPES:
        major = media.split(b"/")[0] + b"/*"
        # The most specific range that matches decides the client's preference for this type.
        q = next((q for pattern in (media, major, b"*/*") for m, q in ranges if m == pattern), 0.0)
        if q * weight > best_score:
            best, best_score = media, q * weight
    return best


def request_type_problem(content_type: bytes) -> str | None:
    """Why a request ``Content-Type`` cannot be read, or None when it can."""
    media, params = _split(content_type)
    shown = content_type.decode("latin-1")[:100]
    if media not in _REQUEST_TYPES:
        return (
            f"HTTP 415 Unsupported Media Type: Content-Type '{shown}' is not supported; send "
            "application/vnd.schemaregistry.v1+json or application/json."
        )
    charset = params.get(b"charset")
    if charset is not None and charset not in _CHARSETS:
        return (
            f"HTTP 415 Unsupported Media Type: charset '{charset.decode('latin-1')[:40]}' is not "
            "supported; request bodies are JSON in UTF-8 (charset=utf-8)."
        )
    return None
