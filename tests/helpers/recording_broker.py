"""A :class:`~streams.kafka.access.BrokerAccess` that records what the registry asks of it."""

from __future__ import annotations

from streams.identity import Credential
from streams.kafka.access import ENFORCED, BrokerAcls

__all__ = ["RecordingBroker"]


class RecordingBroker:
    """A broker that enforces everything it is asked and remembers what that was."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    @property
    def enforced(self) -> bool:
        return True

    def upsert_user(self, credential: Credential) -> BrokerAcls:
        self.calls.append(("upsert_user", credential.name))
        return ENFORCED

    def remove_user(self, name: str) -> BrokerAcls:
        self.calls.append(("remove_user", name))
        return ENFORCED

    def allow_domain(self, name: str) -> BrokerAcls:
        self.calls.append(("allow_domain", name))
        return ENFORCED

    def revoke_domain(self, name: str) -> BrokerAcls:
        self.calls.append(("revoke_domain", name))
        return ENFORCED

    def grant_read(self, product_id: str, consumer: str) -> BrokerAcls:
        self.calls.append(("grant_read", product_id, consumer))
        return ENFORCED

    def revoke_read(self, product_id: str, consumer: str) -> BrokerAcls:
        self.calls.append(("revoke_read", product_id, consumer))
        return ENFORCED
