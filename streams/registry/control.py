"""A client of the registry's control plane (``/mesh/v1/...``), with the settings' identity.

confluent-kafka's ``SchemaRegistryClient`` covers the Confluent routes; the mesh's own routes
are reached with httpx here, authenticated the same way (``registry.client_conf()``'s
``basic.auth.user.info``, fed by ``settings.identity``), with the same TLS settings.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from streams.config import RegistrySettings
from streams.errors import RegistryRequestError, RegistryUnavailableError
from streams.identity import Credential

__all__ = ["ControlPlane"]

_TIMEOUT = httpx.Timeout(30.0, connect=3.0)


class ControlPlane:
    """``/mesh/v1`` routes of one registry; use as a context manager or call :meth:`close`.

    Args:
        settings: The registry's URL, credentials and TLS (``Settings.registry``).
        transport: An httpx transport (tests); default: the network.
    """

    def __init__(
        self, settings: RegistrySettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        options = settings.http_options()
        self.url = str(options["base_url"])
        self._client = httpx.Client(**options, timeout=_TIMEOUT, transport=transport)

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the connections."""
        self._client.close()

    def request(self, method: str, path: str, *, json: Any = None) -> Any:
        """One request; the decoded JSON answer.

        Raises:
            RegistryRequestError: The registry refused (401, 403, 404, 422...), with its
                ``error_code`` and message.
            RegistryUnavailableError: The registry did not answer.
        """
        try:
            answer = self._client.request(method, path, json=json)
        except httpx.TransportError as exc:
            raise RegistryUnavailableError(
                f"the schema registry at {self.url} cannot be reached ({exc}); is the platform "
                "running (`mesh status`)? Otherwise check registry.url (STREAMS_REGISTRY__URL)",
                url=self.url,
            ) from exc
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code >= 400:
            code = body.get("error_code", answer.status_code) if isinstance(body, dict) else 0
            message = body.get("message", answer.text) if isinstance(body, dict) else answer.text
            raise RegistryRequestError(answer.status_code, int(code), str(message))
        return body

    def trust(self) -> dict[str, Any]:
        """``{"auth": bool, "admin_public_key": str | None}`` (anonymous)."""
        found: dict[str, Any] = self.request("GET", "/mesh/v1/trust")
        return found

    def domains(self) -> list[dict[str, Any]]:
        """Every domain: ``name``, ``public_key``, ``created_at``, ``revoked_at``."""
        found: list[dict[str, Any]] = self.request("GET", "/mesh/v1/domains")
        return found

    def create_domain(self, credential: Credential) -> dict[str, Any]:
        """Publish ``credential``'s domain (or its new secret): admin only."""
        body = {"name": credential.name, "secret": credential.secret}
        created: dict[str, Any] = self.request("POST", "/mesh/v1/domains", json=body)
        return created

    def revoke_domain(self, name: str) -> dict[str, Any]:
        """Revoke domain ``name`` at once: admin only."""
        revoked: dict[str, Any] = self.request("DELETE", f"/mesh/v1/domains/{name}")
        return revoked

    def forget(self, subject: str) -> dict[str, Any]:
        """Shred every data key of data subject ``subject`` (a raw id) in every product: the
        admin, or a domain owning a product that holds keys of it. Answers ``{"subject",
        "keys": N, "products": [...]}``."""
        found: dict[str, Any] = self.request(
            "POST", "/mesh/v1/keys/forget", json={"subject": subject}
        )
        return found
