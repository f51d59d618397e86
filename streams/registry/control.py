"""A client of the registry's control-plane API, ``/mesh/v1/...`` (identities, grants, keys).

Confluent's ``SchemaRegistryClient`` speaks the schema API; the mesh's own routes have no
Confluent client, so this small httpx one speaks them. It takes the registry's address, its
credentials and its CA from :meth:`~streams.config.RegistrySettings.client_conf`, the one place
they are turned into a client configuration, so it authenticates as every other client does.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from streams.config import Settings
from streams.errors import RegistryRequestError, RegistryUnavailableError

__all__ = ["ControlPlane", "DomainKey", "Trust"]


@dataclass(frozen=True, slots=True)
class Trust:
    """What the registry says about the mesh's identities.

    Attributes:
        auth: Whether the registry authenticates callers (False: ``mesh up --no-auth``, or a
            registry that is not ours).
        admin_public_key: The admin's Ed25519 public key (base64url), None when auth is off.
    """

    auth: bool
    admin_public_key: str | None


@dataclass(frozen=True, slots=True)
class DomainKey:
    """A domain's published public key.

    Attributes:
        name: The domain.
        public_key: Its Ed25519 public key (base64url).
        revoked: Whether the admin revoked it (its signatures no longer count).
    """

    name: str
    public_key: str
    revoked: bool


class ControlPlane:
    """Calls ``/mesh/v1`` on the registry. Usable as a context manager.

    Args:
        settings: Where the registry is and who to authenticate as.
        timeout_s: Per request.
        transport: An httpx transport (tests); by default httpx's own.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        conf = settings.registry.client_conf()
        self._url = str(conf["url"]).rstrip("/")
        headers = {"Accept": "application/json"}
        user_info = conf.get("basic.auth.user.info")
        if isinstance(user_info, str):
            token = base64.b64encode(user_info.encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        verify: str | bool = str(conf.get("ssl.ca.location", "")) or True
        self._client = httpx.Client(
            base_url=self._url,
            headers=headers,
            timeout=timeout_s,
            verify=verify,
            transport=transport,
        )

    def request(self, method: str, path: str, *, json: Any = None) -> Any:
        """One call; the decoded JSON answer.

        Raises:
            RegistryUnavailableError: The registry cannot be reached.
            RegistryRequestError: It refused, with its status, error code and message.
        """
        try:
            answer = self._client.request(method, path, json=json)
        except httpx.TransportError as exc:
            raise RegistryUnavailableError(
                f"schema registry at {self._url} cannot be reached ({exc.__class__.__name__}: "
                f"{exc}); start it with `mesh up` or set STREAMS_REGISTRY__URL",
                url=self._url,
            ) from exc
        try:
            body = answer.json() if answer.content else None
        except ValueError:
            body = None
        if answer.is_success:
            return body
        code = body.get("error_code") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        raise RegistryRequestError(
            answer.status_code,
            code if isinstance(code, int) else answer.status_code,
            str(message or f"{method} {path} answered {answer.status_code}"),
        )

    def trust(self) -> Trust:
        """Whether the registry authenticates, and the admin's public key.

        A registry without the mesh's routes (404: Confluent's, Karapace) authenticates no
        identity of ours: ``Trust(auth=False, ...)``.
        """
        try:
            body = self.request("GET", "/mesh/v1/trust")
        except RegistryRequestError as exc:
            if exc.status == 404:
                return Trust(auth=False, admin_public_key=None)
            raise
        key = body.get("admin_public_key") if isinstance(body, dict) else None
        auth = bool(body.get("auth")) if isinstance(body, dict) else False
        return Trust(auth=auth, admin_public_key=key if isinstance(key, str) else None)

    def domains(self) -> list[DomainKey]:
        """Every domain the admin created, with its public key."""
        body = self.request("GET", "/mesh/v1/domains")
        found = []
        for item in body if isinstance(body, list) else []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                found.append(
                    DomainKey(
                        name=item["name"],
                        public_key=str(item.get("public_key", "")),
                        revoked=item.get("revoked_at") is not None,
                    )
                )
        return found

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
