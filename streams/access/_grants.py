"""The client of the registry's grants (``/mesh/v1/access``): ask for, give, take back and list
access to products.

Who may do what is the registry's decision (a consumer domain asks; the owning domain or the
admin grants and revokes; any identity lists); this client sends the settings' identity
through :class:`~streams.registry.control.ControlPlane` and turns answers into
:class:`AccessRecord` values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from streams.registry.control import ControlPlane

__all__ = ["AccessClient", "AccessRecord", "AccessState"]

AccessState = Literal["requested", "granted", "revoked"]


@dataclass(frozen=True, kw_only=True)
class AccessRecord:
    """One consumer's access to one product (every version of it), as last changed.

    Attributes:
        product: ``<domain>.<product>``.
        consumer: The consumer domain.
        state: ``requested``, ``granted`` or ``revoked``.
        purpose: Why the consumer reads it.
        by: The identity that made the last change.
        at: When (ISO 8601, UTC).
        broker_acls: For a grant or revocation: ``enforced`` when the broker's ACLs changed too,
            ``not enforced by this broker`` on a broker without ACLs; None otherwise.
    """

    product: str
    consumer: str
    state: AccessState
    purpose: str | None
    by: str
    at: str
    broker_acls: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> AccessRecord:
        """From the registry's answer."""
        return cls(
            product=str(body["product"]),
            consumer=str(body["consumer"]),
            state=body["state"],
            purpose=body.get("purpose"),
            by=str(body["by"]),
            at=str(body["at"]),
            broker_acls=body.get("broker_acls"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``broker_acls`` only when known)."""
        found: dict[str, Any] = {
            "product": self.product,
            "consumer": self.consumer,
            "state": self.state,
            "purpose": self.purpose,
            "by": self.by,
            "at": self.at,
        }
        if self.broker_acls is not None:
            found["broker_acls"] = self.broker_acls
        return found


class AccessClient:
    """The grants routes of one registry, as the control plane's identity.

    Example:
        >>> with ControlPlane(settings.registry) as control:
        ...     AccessClient(control).request("player.play_events", purpose="weekly charts")

    Every method raises :class:`~streams.errors.RegistryRequestError` when the registry refuses
    (401: unknown identity, 403: not the owner, 404, 422 with what to send) and
    :class:`~streams.errors.RegistryUnavailableError` when it does not answer.
    """

    def __init__(self, control: ControlPlane) -> None:
        self._control = control

    def request(self, product: str, *, purpose: str) -> AccessRecord:
        """Ask, as a consumer domain, to read ``product``, saying why."""
        body = {"product": product, "purpose": purpose}
        return AccessRecord.from_json(self._control.request("POST", _ROOT + "/requests", json=body))

    def grant(self, product: str, consumer: str, *, purpose: str | None = None) -> AccessRecord:
        """Let ``consumer`` read ``product`` (owner or admin); the purpose defaults to the
        consumer's request's."""
        body: dict[str, Any] = {"product": product, "consumer": consumer}
        if purpose is not None:
            body["purpose"] = purpose
        return AccessRecord.from_json(self._control.request("POST", _ROOT + "/grants", json=body))

    def revoke(self, product: str, consumer: str) -> AccessRecord:
        """Take back ``consumer``'s grant of ``product``, or deny its request (owner or admin)."""
        path = f"{_ROOT}/grants/{quote(product, safe='')}/{quote(consumer, safe='')}"
        return AccessRecord.from_json(self._control.request("DELETE", path))

    def list(self, product: str | None = None) -> list[AccessRecord]:
        """Every record (of ``product`` only, when given), by product then consumer."""
        path = _ROOT if product is None else f"{_ROOT}?product={quote(product, safe='')}"
        return [AccessRecord.from_json(item) for item in self._control.request("GET", path)]


_ROOT = "/mesh/v1/access"
