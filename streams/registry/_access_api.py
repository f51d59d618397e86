"""``/mesh/v1/access``: access requests and grants (:mod:`._access`), decided by the registry.

The gate (:mod:`._auth`) lets any identity through; each route authorizes ``request.caller``:

- ``GET /mesh/v1/access[?product=]``: any identity; every record (of one product).
- ``POST /mesh/v1/access/requests`` ``{"product", "purpose"}``: the caller, a domain, asks to
  read another domain's product.
- ``POST /mesh/v1/access/grants`` ``{"product", "consumer", "purpose"?}``: the product's owner
  or the admin; the purpose defaults to the request's.
- ``DELETE /mesh/v1/access/grants/{product}/{consumer}``: the owner or the admin (also denies
  a pending request).

A change is recorded (memory first, then the signed record) before the broker is told
(``grant_read``/``revoke_read`` on Kafka); grants and revocations answer the record plus
``broker_acls``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.errors import ConfigError, RegistryRequestError
from streams.identity import ADMIN
from streams.kafka.access import BrokerAccess, UnenforcedBrokerAccess
from streams.registry import codes
from streams.registry._access import AccessBook, Grant, GrantState, grant_key, product_of
from streams.registry._auth import FORBIDDEN
from streams.registry._broker import on_broker
from streams.registry._domains import DomainBook, DomainLog, now
from streams.registry._query import read_body
from streams.registry._wire import Request

__all__ = ["AccessRoutes"]

Result = Any
_MAX_PURPOSE = 1000


def _forbidden(message: str) -> RegistryRequestError:
    return RegistryRequestError(403, FORBIDDEN, message)


def _unprocessable(message: str) -> RegistryRequestError:
    return RegistryRequestError(422, codes.UNPROCESSABLE, message)


def _product(value: object) -> str:
    if not isinstance(value, str):
        raise _unprocessable('Name the product: "product": "<domain>.<product>".')
    try:
        return product_of(value)
    except ConfigError as exc:
        raise _unprocessable(str(exc)) from exc


def _purpose(value: object, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _unprocessable(
            'Say why the data is needed: "purpose": TEXT (`mesh access request PRODUCT '
            "--purpose TEXT`); the owner sees it and `mesh product show` lists it."
        )
    if len(value) > _MAX_PURPOSE:
        raise _unprocessable(f"The purpose is {len(value)} characters; keep it under 1000.")
    return value.strip()


class AccessRoutes:
    """The routes; ``book`` None means the registry runs without authentication.

    Args:
        book: The grants (memory; what :meth:`AccessBook.may_read` answers from).
        log: Where records are appended (``_mesh.access``).
        domains: The domain book (a grant's consumer must be an active domain).
        broker: The broker's enforcement point (default: none, reported as not enforced).
    """

    def __init__(
        self,
        *,
        book: AccessBook | None,
        log: DomainLog | None,
        domains: DomainBook | None,
        broker: BrokerAccess | None = None,
    ) -> None:
        self.book = book
        self.log = log
        self.domains = domains
        self.broker: BrokerAccess = broker or UnenforcedBrokerAccess()

    def install(self, add: Callable[[str, str, Callable[..., Any]], None]) -> None:
        """Add the routes through ``Api._add``."""
        add("GET", r"/mesh/v1/access", self.list_access)
        add("POST", r"/mesh/v1/access/requests", self.request_access)
        add("POST", r"/mesh/v1/access/grants", self.grant_access)
        add("DELETE", r"/mesh/v1/access/grants/([^/]+)/([^/]+)", self.revoke_access)

    def _writable(self, request: Request) -> tuple[AccessBook, DomainLog, str]:
        if self.book is None or self.log is None or request.caller is None:
            raise RegistryRequestError(
                422,
                codes.OPERATION_NOT_PERMITTED,
                "This registry runs without authentication (registry.auth is false), so it "
                "keeps no grants and anyone may read anything; start it with authentication "
                "(`mesh up` without --no-auth).",
            )
        return self.book, self.log, request.caller

    def list_access(self, request: Request) -> Result:
        if self.book is None:
            return []
        product = request.query.get("product")
        chosen = None if product is None else _product(product)
        return [grant.to_json() for grant in self.book.listed(chosen)]

    async def request_access(self, request: Request) -> Result:
        book, log, caller = self._writable(request)
        body = read_body(request)
        product = _product(body.get("product"))
        purpose = _purpose(body.get("purpose"), required=True)
        owner = product.partition(".")[0]
        if caller == ADMIN:
            raise _unprocessable(
                f"The admin reads every product, {product!r} included; access is requested "
                "by a consumer domain (`mesh --as DOMAIN access request ...`)."
            )
        if caller == owner:
            raise _unprocessable(
                f"Domain {caller!r} owns {product!r} and reads it without a grant."
            )
        found = book.get(product, caller)
        if found is not None and found.state == "granted":
            return found.to_json()
        grant = Grant(product, caller, "requested", purpose, caller, now())
        book.put(grant)
        await log.write(grant_key(product, caller), book.sealed(grant))
        return grant.to_json()

    def _owner_or_admin(self, caller: str, product: str, verb: str) -> None:
        owner = product.partition(".")[0]
        if caller not in (owner, ADMIN):
            raise _forbidden(
                f"Forbidden: identity {caller!r} may not {verb} access to {product!r}: it "
                f"belongs to domain {owner!r}; only that domain or the admin may (ask them: "
                f"`mesh access request {product} --purpose TEXT`)."
            )

    async def grant_access(self, request: Request) -> Result:
        book, log, caller = self._writable(request)
        body = read_body(request)
        product = _product(body.get("product"))
        consumer = body.get("consumer")
        if not isinstance(consumer, str):
            raise _unprocessable('Name the consumer domain: "consumer": DOMAIN.')
        self._owner_or_admin(caller, product, "grant")
        self._check_consumer(product, consumer)
        found = book.get(product, consumer)
        asked = found.purpose if found is not None else None
        purpose = _purpose(body.get("purpose"), required=False) or asked
        if purpose is None:
            raise _unprocessable(
                f"Domain {consumer!r} has not asked for {product!r} with a purpose; give one "
                f"(`mesh access grant {product} --to {consumer} --purpose TEXT`)."
            )
        grant = await self._record(book, log, product, consumer, "granted", purpose, caller)
        acls = await on_broker(
            [lambda: self.broker.grant_read(product, consumer)],
            recorded=f"The grant of {product!r} to {consumer!r} was recorded",
            retry=f"mesh access grant {product} --to {consumer}",
        )
        return {**grant.to_json(), "broker_acls": acls}

    def _check_consumer(self, product: str, consumer: str) -> None:
        if consumer == product.partition(".")[0]:
            raise _unprocessable(f"Domain {consumer!r} owns {product!r}; it needs no grant.")
        if consumer == ADMIN:
            raise _unprocessable("The admin reads every product; it needs no grant.")
        domains = self.domains
        domain = None if domains is None else domains.domains.get(consumer)
        if domain is None or domain.revoked_at is not None:
            why = "is not a domain" if domain is None else "was revoked"
            raise _unprocessable(
                f"{consumer!r} {why}; grants go to active domains (`mesh domain list`)."
            )

    async def revoke_access(self, request: Request, product: str, consumer: str) -> Result:
        book, log, caller = self._writable(request)
        product = _product(product)
        self._owner_or_admin(caller, product, "revoke")
        found = book.get(product, consumer)
        if found is None:
            raise RegistryRequestError(
                404,
                codes.NOT_FOUND,
                f"Domain {consumer!r} has neither asked for nor been granted {product!r}; "
                f"`mesh access list {product}` shows who has.",
            )
        grant = await self._record(book, log, product, consumer, "revoked", found.purpose, caller)
        acls = await on_broker(
            [lambda: self.broker.revoke_read(product, consumer)],
            recorded=f"The revocation of {product!r} from {consumer!r} was recorded",
            retry=f"mesh access revoke {product} --from {consumer}",
        )
        return {**grant.to_json(), "broker_acls": acls}

    async def _record(
        self,
        book: AccessBook,
        log: DomainLog,
        product: str,
        consumer: str,
        state: GrantState,
        purpose: str | None,
        by: str,
    ) -> Grant:
        grant = Grant(product, consumer, state, purpose, by, now())
        book.put(grant)  # memory first: key release follows at once
        await log.write(grant_key(product, consumer), book.sealed(grant))
        return grant
