"""``/mesh/v1/trust`` and ``/mesh/v1/domains``: the mesh's identities, kept by the registry.

Who may call them is decided by the gate (:mod:`._auth`): trust is anonymous, listing needs
any identity, creating, rotating and revoking need the admin.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from streams.errors import ConfigError, RegistryRequestError
from streams.identity import ADMIN, Credential
from streams.kafka.access import BrokerAccess, BrokerAcls, UnenforcedBrokerAccess
from streams.registry import codes
from streams.registry._access import AccessBook
from streams.registry._broker import on_broker
from streams.registry._domains import Domain, DomainBook, DomainLog, now
from streams.registry._query import read_body
from streams.registry._wire import Request

__all__ = ["DomainRoutes"]

Result = Any


class DomainRoutes:
    """The routes; ``book`` None means the registry runs without authentication.

    Args:
        book: The domain book (memory, the gate's source of truth).
        log: Where records are appended (``_mesh.domains``).
        broker: The broker's enforcement point (default: none, reported as not enforced).
        grants: The grants book: a domain created again (after a revocation took all its ACLs)
            gets back the read ACLs of the grants it still holds.
    """

    def __init__(
        self,
        *,
        book: DomainBook | None,
        log: DomainLog | None,
        broker: BrokerAccess | None = None,
        grants: AccessBook | None = None,
    ) -> None:
        self.book = book
        self.log = log
        self.broker: BrokerAccess = broker or UnenforcedBrokerAccess()
        self.grants = grants

    def trust(self, request: Request) -> Result:
        book = self.book
        return {
            "auth": book is not None,
            "admin_public_key": None if book is None else book.admin_public_key,
        }

    def list_domains(self, request: Request) -> Result:
        if self.book is None:
            return []
        return [domain.to_json() for _, domain in sorted(self.book.domains.items())]

    def _writable(self) -> tuple[DomainBook, DomainLog]:
        if self.book is None or self.log is None or self.book.admin is None:
            raise RegistryRequestError(
                422,
                codes.OPERATION_NOT_PERMITTED,
                "This registry runs without authentication (registry.auth is false), so it "
                "keeps no domains; start it with authentication (`mesh up` without --no-auth).",
            )
        return self.book, self.log

    async def create_domain(self, request: Request) -> Result:
        book, log = self._writable()
        body = read_body(request)
        name, secret = body.get("name"), body.get("secret")
        if not isinstance(name, str) or not isinstance(secret, str):
            raise RegistryRequestError(
                422,
                codes.UNPROCESSABLE,
                'Send {"name": DOMAIN, "secret": SECRET} (`mesh domain create` does).',
            )
        if name == ADMIN:
            raise RegistryRequestError(
                422,
                codes.UNPROCESSABLE,
                "'admin' is the platform team's identity, not a domain; choose another name.",
            )
        try:
            credential = Credential(name=name, secret=secret)
        except ConfigError as exc:
            raise RegistryRequestError(422, codes.UNPROCESSABLE, str(exc)) from exc
        domain = Domain(name=name, public_key=credential.public_key(), created_at=now())
        book.put(domain)
        await log.write(name.encode(), book.sealed(domain))
        held = [] if self.grants is None else self.grants.held_by(name)
        calls: list[Callable[[], BrokerAcls]] = [
            lambda: self.broker.upsert_user(credential),
            lambda: self.broker.allow_domain(name),
            *(partial(self.broker.grant_read, product, name) for product in held),
        ]
        verdict = await on_broker(
            calls,
            recorded=f"Domain {name!r} was recorded",
            retry=f"mesh domain create {name} --rotate",
        )
        return {**domain.to_json(), "broker_acls": verdict}

    async def revoke_domain(self, request: Request, name: str) -> Result:
        book, log = self._writable()
        domain = book.domains.get(name)
        if domain is None:
            raise RegistryRequestError(
                404,
                codes.NOT_FOUND,
                f"Domain {name!r} not found; `mesh domain list` shows the domains.",
            )
        revoked = Domain(
            name=domain.name,
            public_key=domain.public_key,
            created_at=domain.created_at,
            revoked_at=domain.revoked_at or now(),
        )
        book.put(revoked)  # memory first: the domain's next request is refused
        await log.write(name.encode(), book.sealed(revoked))
        verdict = await on_broker(
            [lambda: self.broker.revoke_domain(name), lambda: self.broker.remove_user(name)],
            recorded=f"Domain {name!r} was revoked",
            retry=f"mesh domain revoke {name}",
        )
        return {**revoked.to_json(), "broker_acls": verdict}
