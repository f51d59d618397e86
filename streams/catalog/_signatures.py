"""Who published a catalog entry: signatures checked against the domains' published keys.

The catalog topic can be written by anyone who can reach the broker (on the embedded broker
there are no ACLs at all), so the catalog does not trust a record for being there: each value is
sealed (:func:`streams.identity.seal`) by the identity that published it, and readers accept an
entry only when it is signed by the product's own domain or by the admin, with a key the
registry publishes. Everything else is set aside as a :class:`Rejected` entry, with the reason,
for the commands to report.

When the registry does not authenticate (``mesh up --no-auth``, or a registry that is not ours)
there are no identities to check against: every entry is accepted, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.config import Settings
from streams.errors import ConfigError, RegistryRequestError
from streams.identity import ADMIN, unseal
from streams.naming import parse_product
from streams.registry.control import ControlPlane

__all__ = ["Rejected", "Signatures"]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A catalog record readers ignored.

    Attributes:
        key: Its key (``<domain>.<name>.v<major>``).
        offset: Its offset in ``_mesh.products``.
        reason: Why, and what to do about it.
    """

    key: str
    offset: int
    reason: str


@dataclass(frozen=True, slots=True)
class Signatures:
    """The keys catalog entries are checked against.

    Attributes:
        enforced: Whether signatures are required (the registry authenticates identities).
        keys: Public key by identity (the admin's and every domain's not revoked).
    """

    enforced: bool
    keys: Mapping[str, str] = field(default_factory=dict)
    revoked: frozenset[str] = frozenset()

    @classmethod
    def load(cls, settings: Settings) -> Signatures:
        """The keys as the registry publishes them (``identity.admin_public_key`` wins).

        Raises:
            RegistryUnavailableError: The registry cannot be reached.
            RegistryRequestError: It refused (e.g. 401: no or a wrong credential).
        """
        with ControlPlane(settings.registry) as control:
            try:
                trust = control.trust()
            except RegistryRequestError as exc:
                if exc.status != 404:
                    raise
                trust = {}  # not our registry: it authenticates no identity of the mesh
            if not trust.get("auth"):
                return cls(enforced=False)
            domains = control.domains()
        keys = {str(d["name"]): str(d["public_key"]) for d in domains if not d.get("revoked_at")}
        revoked = frozenset(str(d["name"]) for d in domains if d.get("revoked_at"))
        admin = settings.identity.admin_public_key or trust.get("admin_public_key")
        if isinstance(admin, str):
            keys[ADMIN] = admin
        return cls(enforced=True, keys=keys, revoked=revoked)

    def check(self, key: str, data: Mapping[str, Any]) -> str | None:
        """Why the record ``data`` under ``key`` must be ignored (None: it may be used)."""
        if not self.enforced:
            return None
        verdict = unseal(data, self.keys.get)
        if verdict.state == "unknown-signer" and verdict.signer in self.revoked:
            return (
                f"signed by {verdict.signer!r}, a domain the admin revoked; the admin re-publishes "
                f"it (`mesh product apply` as the admin), or gives the domain a new credential "
                f"(`mesh domain create {verdict.signer} --rotate`) for it to re-apply"
            )
        if not verdict.valid:
            return (
                f"{verdict.describe()}; the owning domain must re-publish it (`mesh product apply`)"
            )
        try:
            domain = parse_product(key).domain
        except ConfigError:
            return "its key is not a product key (<domain>.<name>.v<major>)"
        if verdict.signer not in (domain, ADMIN):
            return (
                f"signed by {verdict.signer!r}, but only domain {domain!r} (or the admin) may "
                "publish its products"
            )
        return None
