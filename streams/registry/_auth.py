"""Who is asking and what they may do: HTTP Basic authentication and authorization by route.

Every request passes :meth:`Gate.check` before anything else, or, on the precomputed fast path
(reads only), a lookup of its header in :attr:`Gate.known` (``Answerer.precomputed``). The
credentials are what confluent-kafka's ``SchemaRegistryClient`` sends for
``basic.auth.user.info = NAME:SECRET``; the secret is checked against the identity's
published public key (:func:`streams.identity.matches`), and a header that passed is
remembered, so the check costs one dict lookup afterwards. Any change of the domain book
forgets every remembered header: a revoked secret is refused at its next request.

What a request needs (:func:`requirement`):

- ``GET /mesh/v1/trust``: nothing (anonymous).
- reads (``GET``/``HEAD``, schema lookups, compatibility checks): any identity, or nothing
  when ``registry.anonymous_reads`` is on.
- registering, deleting or configuring a subject: the domain owning it
  (:func:`streams.naming.subject_domain`) or the admin; a subject no product owns: the admin.
- ``/mesh/v1/...`` routes other than trust and domains (grants, keys) and
  ``/dek-registry/v1/...``: any identity; the route authorizes ``request.caller`` itself.
- everything else (global config and mode, creating and revoking domains): the admin.

Errors follow Confluent's shape: 401 ``{"error_code": 40101, ...}`` with a ``WWW-Authenticate:
Basic realm="streams"`` challenge, and 403 ``{"error_code": 40301, ...}`` (the code Confluent's
security plugin answers with); the messages name the identity and the subject and the fix.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Literal
from urllib.parse import unquote

import orjson

from streams.identity import ADMIN, matches
from streams.naming import subject_domain
from streams.registry._domains import DomainBook
from streams.registry._wire import Response

__all__ = [
    "CHALLENGE",
    "FORBIDDEN",
    "UNAUTHORIZED",
    "Gate",
    "Need",
    "forbidden",
    "requirement",
]

UNAUTHORIZED = 40101
FORBIDDEN = 40301
CHALLENGE = b'WWW-Authenticate: Basic realm="streams"\r\n'

Need = Literal["anonymous", "read", "identified", "owner", "admin"]

_READ_ONLY_POST = re.compile(r"^/(compatibility/.*|subjects/[^/]+/?)$")
_SUBJECT_WRITE = re.compile(r"^/(?:subjects|config|mode)/([^/]+)(?:/.*)?$")
_ROUTE_AUTHORIZES = re.compile(r"^/(?:mesh/v1/(?!domains(?:/|$)|trust/?$)|dek-registry/v1/)")
_HOW = (
    "send HTTP Basic credentials: confluent-kafka's basic.auth.user.info = NAME:SECRET, or for "
    "streams STREAMS_IDENTITY__FILE / `mesh --as NAME`"
)
# Remembered headers at most; a full cache starts again (only valid credentials are kept, so
# this bounds memory against many identities, not against attackers).
_MAX_KNOWN = 10_000


def requirement(method: str, path: str) -> tuple[Need, str | None]:
    """What ``method path`` needs, and the subject it changes (for ``owner``)."""
    if path.rstrip("/") == "/mesh/v1/trust" and method in ("GET", "HEAD"):
        return "anonymous", None
    if _ROUTE_AUTHORIZES.match(path):
        return "identified", None
    if method in ("GET", "HEAD") or (method == "POST" and _READ_ONLY_POST.match(path)):
        return "read", None
    write = _SUBJECT_WRITE.match(path)
    if write is not None:
        return "owner", unquote(write[1])
    return "admin", None


def _answer(status: int, code: int, message: str, headers: bytes = b"") -> Response:
    return Response(status, orjson.dumps({"error_code": code, "message": message}), headers)


def forbidden(message: str) -> Response:
    """A 403 answer in Confluent's shape (for routes that authorize ``request.caller``)."""
    return _answer(403, FORBIDDEN, message)


def _unauthorized(message: str) -> Response:
    return _answer(401, UNAUTHORIZED, message, CHALLENGE)


def _parse(header: bytes) -> tuple[str, str] | None:
    scheme, _, encoded = header.strip().partition(b" ")
    if scheme.lower() != b"basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, colon, secret = decoded.partition(":")
    return (name, secret) if colon else None


class Gate:
    """Authenticates and authorizes requests against a :class:`DomainBook`.

    Args:
        book: The identities and their public keys.
        anonymous_reads: Let requests without credentials read.
    """

    def __init__(self, *, book: DomainBook, anonymous_reads: bool = False) -> None:
        self.book = book
        self.anonymous_reads = anonymous_reads
        # Authorization headers checked already -> identity. Emptied (never replaced: the fast
        # path holds it) whenever the book changes, so a revoked secret is checked again.
        self.known: dict[bytes, str] = {}
        book.listeners.append(self.known.clear)

    def identify(self, authorization: bytes | None) -> str | Response:
        """The caller's identity, or a 401 saying what is wrong."""
        if authorization is None:
            return _unauthorized(f"Authentication required: {_HOW}.")
        known = self.known.get(authorization)
        if known is not None:
            return known
        parsed = _parse(authorization)
        if parsed is None:
            return _unauthorized(f"Unsupported Authorization header: {_HOW}.")
        name, secret = parsed
        key = self.book.key_of(name)
        if key is None:
            revoked = name in self.book.domains
            why = "was revoked" if revoked else "is not known to this registry"
            fix = (
                "ask the platform team for a new credential (`mesh domain create NAME --rotate`)"
                if revoked
                else "check the name, or ask the platform team to create it (`mesh domain "
                "create NAME`)"
            )
            return _unauthorized(f"Unauthorized: identity {name!r} {why}; {fix}.")
        if not matches(name, secret, key):
            return _unauthorized(
                f"Unauthorized: wrong secret for identity {name!r}; use the secret of its "
                "current credential file (a rotated credential replaces the old secret)."
            )
        if len(self.known) >= _MAX_KNOWN:
            self.known.clear()
        self.known[authorization] = name
        return name

    def check(self, method: str, path: str, authorization: bytes | None) -> str | Response | None:
        """The caller (None: anonymous) if the request may go on, else the 401/403 answer."""
        need, subject = requirement(method, path)
        if need == "anonymous" or (
            need == "read" and self.anonymous_reads and authorization is None
        ):
            return None
        caller = self.identify(authorization)
        if isinstance(caller, Response) or caller == ADMIN or need in ("read", "identified"):
            return caller
        if need == "owner" and subject is not None:
            owner = subject_domain(subject)
            if owner == caller:
                return caller
            whose = (
                f"it belongs to domain {owner!r}"
                if owner is not None
                else "it is not a product subject (<domain>.<product>.v<major>-value)"
            )
            who = "that domain or the admin" if owner is not None else "the admin"
            return forbidden(
                f"Forbidden: identity {caller!r} may not change subject {subject!r}: {whose}; "
                f"only {who} may register, delete or configure it."
            )
        return forbidden(
            f"Forbidden: {method} {path} is for the admin only and identity {caller!r} is not "
            "the admin; run it as the admin (`mesh --as admin ...`)."
        )
