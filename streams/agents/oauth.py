"""SASL/OAUTHBEARER for the live agents: OIDC tokens for faust's Kafka client (aiokafka).

The confluent-kafka clients (producers, consumers, ``mesh replay``) get OAUTHBEARER from
librdkafka, configured by its ``sasl.oauthbearer.*`` properties in ``kafka.extra``
(``STREAMS_KAFKA__EXTRA``). faust's client, aiokafka, takes a token provider instead
(``faust.OAuthCredentials(oauth_cb=...)``, an ``aiokafka.abc.AbstractTokenProvider``), so the
live agents read the same properties and fetch tokens the way librdkafka's
``sasl.oauthbearer.method=oidc`` does (KIP-768): an OAuth 2 client-credentials grant against
the identity provider's token endpoint, the client id and secret in HTTP Basic auth, the token
reused until shortly before it expires. One configuration serves both kinds of client.

librdkafka's other method (``default``: an unsecured JWT from ``sasl.oauthbearer.config``) is
for development brokers and is refused here with a :class:`ConfigError` at start.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

import httpx
from aiokafka.abc import AbstractTokenProvider  # type: ignore[import-untyped]

from streams.config import KafkaSettings, LibrdkafkaValue
from streams.errors import ConfigError

__all__ = ["OidcTokenProvider", "token_provider"]

_METHOD = "sasl.oauthbearer.method"
_REQUIRED = (
    "sasl.oauthbearer.client.id",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.token.endpoint.url",
)
_SETTING = "kafka.extra (STREAMS_KAFKA__EXTRA)"


def token_provider(kafka: KafkaSettings) -> OidcTokenProvider:
    """The token provider for ``kafka``'s OAUTHBEARER settings.

    Raises:
        ConfigError: ``kafka.extra`` does not configure OIDC (names what is missing).
    """
    extra: Mapping[str, LibrdkafkaValue] = kafka.extra
    if str(extra.get(_METHOD, "default")).lower() != "oidc":
        raise ConfigError(
            f"{_SETTING}: kafka.sasl_mechanism OAUTHBEARER needs {_METHOD}=oidc for the live "
            f"agents, with {', '.join(_REQUIRED)} (and optionally sasl.oauthbearer.scope): "
            "they fetch tokens from your identity provider's token endpoint as librdkafka "
            "does. librdkafka's unsecured development tokens (sasl.oauthbearer.config) work "
            "for the other commands only, e.g. `mesh replay`"
        )
    missing = [name for name in _REQUIRED if not extra.get(name)]
    if missing:
        raise ConfigError(
            f"{_SETTING}: {_METHOD}=oidc needs {', '.join(missing)} as well (the client id "
            "and secret your identity provider issued, and its token endpoint URL)"
        )
    extensions = str(extra.get("sasl.oauthbearer.extensions", "") or "")
    return OidcTokenProvider(
        endpoint=str(extra["sasl.oauthbearer.token.endpoint.url"]),
        client_id=str(extra["sasl.oauthbearer.client.id"]),
        client_secret=str(extra["sasl.oauthbearer.client.secret"]),
        scope=str(extra.get("sasl.oauthbearer.scope", "") or "") or None,
        extensions=dict(pair.split("=", 1) for pair in extensions.split(",") if "=" in pair),
    )


class OidcTokenProvider(AbstractTokenProvider):  # type: ignore[misc]  # aiokafka is untyped
    """OAuth 2 client-credentials tokens for aiokafka, reused until shortly before expiry.

    Args:
        endpoint: The identity provider's token endpoint.
        client_id: The client id (sent with the secret in HTTP Basic auth).
        client_secret: The client secret.
        scope: The scope to ask for, if any.
        extensions: SASL extensions sent with the token (KIP-342), e.g. Confluent Cloud's
            ``logicalCluster`` and ``identityPoolId``.
        transport: The HTTP transport (tests); by default httpx's own.
        clock: Seconds since the epoch (tests).
        margin_s: Fetch a new token this long before the old one expires.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        extensions: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        margin_s: float = 60.0,
    ) -> None:
        self.endpoint = endpoint
        self.client_id = client_id
        self._secret = client_secret
        self._scope = scope
        self._extensions = dict(extensions or {})
        self._transport = transport
        self._clock = clock
        self._margin = margin_s
        self._token: str | None = None
        self._expires = 0.0
        self._lock: asyncio.Lock | None = None

    async def token(self) -> str:
        """A valid access token (fetched once, shared by the connections opened meanwhile)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._token is None or self._clock() >= self._expires - self._margin:
                self._token, lifetime = await self._fetch()
                self._expires = self._clock() + lifetime
            return self._token

    def extensions(self) -> dict[str, str]:
        """The SASL extensions sent with each token."""
        return dict(self._extensions)

    async def _fetch(self) -> tuple[str, float]:
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        async with httpx.AsyncClient(transport=self._transport, timeout=30) as client:
            try:
                answer = await client.post(
                    self.endpoint, data=form, auth=(self.client_id, self._secret)
                )
            except httpx.HTTPError as exc:
                raise ConfigError(
                    f"{_SETTING}: the token endpoint {self.endpoint} "
                    f"(sasl.oauthbearer.token.endpoint.url) did not answer: {exc!r}; check the "
                    "URL and that this host reaches it"
                ) from exc
        if answer.status_code != 200:
            raise ConfigError(
                f"{_SETTING}: the token endpoint {self.endpoint} refused client "
                f"{self.client_id!r} with HTTP {answer.status_code} ({answer.text[:200]!r}); "
                "check sasl.oauthbearer.client.id, client.secret and scope"
            )
        try:
            body = answer.json()
            return str(body["access_token"]), float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{_SETTING}: the token endpoint {self.endpoint} answered without an "
                f"access_token ({answer.text[:200]!r}); is it the OAuth 2 token endpoint?"
            ) from exc
