"""The grants book: who may read which product, and where that is kept.

Consumers ask for access, owners (or the admin) grant and revoke it; the registry records each
change on ``_mesh.access`` (compacted, one partition, the same kind of log as the domain book:
:class:`~streams.registry._domains.DomainLog`). Key ``<domain>.<product>|<consumer>``, value
``seal(record, admin)`` JSON::

    {"product": "player.play_events", "consumer": "listeners",
     "state": "requested" | "granted" | "revoked", "purpose": "churn model" | null,
     "by": "<the identity that made the change>", "at": "<ISO 8601>",
     "signed_by": "admin", "signature": "..."}

A grant covers every major version of the product. The registry rebuilds the book from the
topic at start and follows it; a record failing the admin's signature (or whose key does not
match its body) is ignored and logged. :meth:`AccessBook.may_read` is the one rule of who may
read a product's protected data, for the key service and anything else that releases it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

import orjson

from streams.errors import ConfigError
from streams.identity import ADMIN, Credential, seal, unseal
from streams.naming import internal_topic, parse_product

__all__ = [
    "OPEN_CLASSIFICATIONS",
    "AccessBook",
    "Grant",
    "GrantState",
    "access_topic",
    "grant_key",
    "product_of",
]

logger = logging.getLogger(__name__)

GrantState = Literal["requested", "granted", "revoked"]
OPEN_CLASSIFICATIONS = frozenset({"public", "internal"})
"""Classifications any identified caller may read without a grant."""


def access_topic() -> str:
    """``_mesh.access``: the admin's signed records of access requests and grants."""
    return internal_topic("access")


def product_of(value: str) -> str:
    """The product id ``<domain>.<product>`` of ``value`` (which names no version).

    Raises:
        ConfigError: ``value`` is not a product id (a ``.vN`` suffix included: grants cover
            every version).
    """
    ref = parse_product(value)
    if ref.id != value:
        raise ConfigError(
            f"invalid product {value!r}: name it '<domain>.<product>' without a version "
            f"(e.g. {ref.id!r}); access covers every version of a product"
        )
    return ref.id


def grant_key(product: str, consumer: str) -> bytes:
    """The log key of ``consumer``'s access to ``product``: ``<product>|<consumer>``."""
    return f"{product}|{consumer}".encode()


@dataclass(frozen=True, slots=True)
class Grant:
    """One consumer's access to one product, as last changed."""

    product: str
    consumer: str
    state: GrantState
    purpose: str | None
    by: str
    at: str

    @property
    def owner(self) -> str:
        """The domain owning the product."""
        return self.product.partition(".")[0]

    def to_json(self) -> dict[str, Any]:
        """The record's body (before sealing) and the API's answer."""
        return {
            "product": self.product,
            "consumer": self.consumer,
            "state": self.state,
            "purpose": self.purpose,
            "by": self.by,
            "at": self.at,
        }


class AccessBook:
    """The grants the registry knows, by (product, consumer).

    Args:
        admin: The admin credential the registry runs as (signs new records and is the only
            key records are accepted from); None when authentication is off.
    """

    def __init__(self, *, admin: Credential | None) -> None:
        self.admin = admin
        self._admin_key = admin.public_key() if admin is not None else None
        self.grants: dict[tuple[str, str], Grant] = {}

    def get(self, product: str, consumer: str) -> Grant | None:
        """The record of ``consumer``'s access to ``product``, if any."""
        return self.grants.get((product, consumer))

    def listed(self, product: str | None = None) -> list[Grant]:
        """Every record (of ``product`` only, when given), by product then consumer."""
        return [
            grant
            for key, grant in sorted(self.grants.items())
            if product is None or key[0] == product
        ]

    def held_by(self, consumer: str) -> list[str]:
        """The products ``consumer`` holds a granted grant of."""
        return sorted(
            product
            for (product, who), grant in self.grants.items()
            if who == consumer and grant.state == "granted"
        )

    def put(self, grant: Grant) -> None:
        """Record ``grant`` in memory."""
        self.grants[(grant.product, grant.consumer)] = grant

    def sealed(self, grant: Grant) -> bytes:
        """The log value of ``grant``: its record signed by the admin."""
        if self.admin is None:
            raise RuntimeError("the access book has no admin credential to sign with")
        return orjson.dumps(seal(grant.to_json(), self.admin))

    def may_read(self, caller: str | None, product_id: str, classification: str | None) -> bool:
        """Whether ``caller`` may read ``product_id``'s protected data (e.g. be released its
        data keys).

        Yes for the admin, the owning domain, a consumer holding a granted grant, and any
        identified caller when the product is ``public`` or ``internal``. ``caller`` None means
        the registry runs without authentication: everyone may.

        Args:
            caller: ``request.caller``.
            product_id: ``<domain>.<product>`` (a ``.v<major>`` suffix is ignored).
            classification: The product's classification (None: not classified, treated as
                confidential).
        """
        if caller is None or caller == ADMIN:
            return True
        try:
            product = parse_product(product_id).id
        except ConfigError:
            return False
        if product.partition(".")[0] == caller or classification in OPEN_CLASSIFICATIONS:
            return True
        grant = self.grants.get((product, caller))
        return grant is not None and grant.state == "granted"

    def apply(self, key: bytes, value: bytes | None) -> None:
        """Apply one record read from the log; a record failing the admin's signature, or
        whose key does not name its body, is ignored and logged."""
        topic = access_topic()
        if value is None:
            return  # a tombstone cannot be signed: a revocation is a signed record
        try:
            record = orjson.loads(value)
        except orjson.JSONDecodeError:
            logger.warning("ignoring %s record %r: not JSON", topic, key)
            return
        if not isinstance(record, dict):
            logger.warning("ignoring %s record %r: not a JSON object", topic, key)
            return
        admin_key = self._admin_key
        verdict = unseal(record, lambda signer: admin_key if signer == ADMIN else None)
        if not verdict.valid:
            logger.warning("ignoring %s record %r: %s", topic, key, verdict.describe())
            return
        grant = _parsed(verdict.body)
        if grant is None:
            logger.warning("ignoring %s record %r: not a grant record", topic, key)
            return
        if grant_key(grant.product, grant.consumer) != key:
            logger.warning(
                "ignoring %s record %r: it is about %s for %s",
                topic,
                key,
                grant.product,
                grant.consumer,
            )
            return
        current = self.grants.get((grant.product, grant.consumer))
        if current is not None and _when(current.at) > _when(grant.at):
            # The log's echo of an older change (the book follows the log it writes to): a
            # grant must not fall back to its request, nor a revoke to its grant.
            logger.debug("skipping %s record %r: older than the book's", topic, key)
            return
        self.put(grant)


def _when(at: str) -> datetime:
    try:
        return datetime.fromisoformat(at)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _parsed(body: dict[str, Any]) -> Grant | None:
    state = body.get("state")
    purpose = body.get("purpose")
    fields = [body.get(name) for name in ("product", "consumer", "by", "at")]
    if state not in get_args(GrantState) or not all(isinstance(f, str) for f in fields):
        return None
    if purpose is not None and not isinstance(purpose, str):
        return None
    product, consumer, by, at = (str(f) for f in fields)
    chosen = cast(GrantState, state)  # checked against GrantState's values above
    return Grant(product=product, consumer=consumer, state=chosen, purpose=purpose, by=by, at=at)
