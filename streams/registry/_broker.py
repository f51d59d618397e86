"""The broker's part of access control, behind a small plug point.

HOOK for ``streams/kafka/acls.py`` (Apache Kafka: SASL/SCRAM users and ACLs): the registry calls
a :class:`BrokerAccess` when the admin creates, rotates or revokes a domain, and reports what
it answered (``broker_acls`` in ``POST /mesh/v1/domains``). The default,
:class:`NoBrokerAccess`, changes nothing and says so: the embedded broker has no ACLs, and
calling its ACL API aborts the process (BROKER.md), so it is never attempted there.
"""

from __future__ import annotations

from typing import Literal, Protocol

__all__ = ["NOT_ENFORCED", "BrokerAccess", "BrokerVerdict", "NoBrokerAccess"]

BrokerVerdict = Literal["enforced", "not enforced by this broker"]
NOT_ENFORCED: BrokerVerdict = "not enforced by this broker"


class BrokerAccess(Protocol):
    """What the registry asks of the broker when domains change (blocking calls, run off the
    event loop)."""

    def upsert_user(self, name: str, secret: str) -> BrokerVerdict:
        """Create or update the SCRAM user ``name`` with ``secret``."""
        ...

    def remove_user(self, name: str) -> BrokerVerdict:
        """Delete the SCRAM user ``name``."""
        ...

    def allow_domain(self, name: str) -> BrokerVerdict:
        """Give ``User:<name>`` the ACLs a domain needs (its own topics and groups)."""
        ...

    def revoke_domain(self, name: str) -> BrokerVerdict:
        """Remove every ACL of ``User:<name>``."""
        ...


class NoBrokerAccess:
    """A broker without access control: nothing is done, and every answer says so."""

    def upsert_user(self, name: str, secret: str) -> BrokerVerdict:
        return NOT_ENFORCED

    def remove_user(self, name: str) -> BrokerVerdict:
        return NOT_ENFORCED

    def allow_domain(self, name: str) -> BrokerVerdict:
        return NOT_ENFORCED

    def revoke_domain(self, name: str) -> BrokerVerdict:
        return NOT_ENFORCED
