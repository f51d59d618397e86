"""The clients' side of the registry's key service (``/mesh/v1/keys``, see
:mod:`streams.registry._keys_api`): the pseudonym key, publishing new data keys in batches, and
releasing the keys a reader may have, cached.

Producers and consumers never hold the key-encryption key: the registry wraps the keys a
producer creates and releases clear keys only to readers ``may_read`` allows.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
import orjson

from streams.config import RegistrySettings
from streams.errors import ConfigError, RegistryRequestError, RegistryUnavailableError
from streams.pii import KEY_BYTES, DataKey, parse_key_id

__all__ = ["KeyCache", "KeyClient", "key_ids_in"]

logger = logging.getLogger(__name__)

_TIMEOUT = httpx.Timeout(30.0, connect=3.0)
# Key ids in an encoded record: the ``enc1:<key id>:`` of string ciphertexts and the
# ``enc1 | len | <key id>`` of bytes ones; a hint for batching releases (a missed id is
# fetched when its field is revealed), found without decoding the record.
_ID = rb"[A-Za-z0-9_.\-]+/[A-Za-z0-9_\-]{22}/[0-9a-f]+"
_KEY_ID = re.compile(rb"enc1(?::(" + _ID + rb"):|[\x01-\xff](" + _ID + rb"))")
# How long a refused product or an unknown key is not asked for again.
_RETRY_S = 5.0


def key_ids_in(encoded: bytes) -> list[str]:
    """The data-key ids an encoded record names (a hint: see ``_KEY_ID``)."""
    if b"enc1" not in encoded:
        return []
    return [(text or binary).decode() for text, binary in _KEY_ID.findall(encoded)]


class KeyClient:
    """``/mesh/v1/keys`` of one registry, with the settings' identity.

    Args:
        settings: The registry's URL, credentials and TLS.
        transport: An httpx transport (tests).
    """

    def __init__(
        self, settings: RegistrySettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        options = settings.http_options()
        self.url = str(options["base_url"])
        self._client = httpx.Client(**options, timeout=_TIMEOUT, transport=transport)

    def close(self) -> None:
        """Release the connections."""
        self._client.close()

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        # orjson: a batch of thousands of keys is serialized on the gate's thread, under the
        # GIL the emitting thread needs (stdlib json took ~5x longer).
        content = None if body is None else orjson.dumps(body)
        headers = None if body is None else {"content-type": "application/json"}
        try:
            answer = self._client.request(method, path, content=content, headers=headers)
        except httpx.TransportError as exc:
            raise RegistryUnavailableError(
                f"the schema registry at {self.url} cannot be reached ({exc}); is the platform "
                "running (`mesh status`)?",
                url=self.url,
            ) from exc
        try:
            found = orjson.loads(answer.content)
        except orjson.JSONDecodeError:
            found = None
        if answer.status_code == 404 and path.startswith("/mesh/v1/keys"):
            raise ConfigError(
                f"the registry at {self.url} runs no key service (/mesh/v1/keys): schemas with "
                '"pii" marks need it; run the registry with registry.keys_dir set (`mesh up` '
                "does)"
            )
        if answer.status_code >= 400:
            code = found.get("error_code", answer.status_code) if isinstance(found, dict) else 0
            message = found.get("message", answer.text) if isinstance(found, dict) else answer.text
            raise RegistryRequestError(answer.status_code, int(code), str(message))
        return found

    def pseudonym_key(self) -> bytes:
        """The mesh's pseudonym key."""
        return base64.b64decode(self._request("GET", "/mesh/v1/keys/pseudonym")["key"])

    def publish(self, keys: Sequence[DataKey]) -> None:
        """Have the registry wrap ``keys`` and store them on ``_mesh.keys`` (one record per
        product); returns once Kafka acknowledged them."""
        body = {
            "ids": [key.id for key in keys],
            "keys": base64.b64encode(b"".join(key.secret for key in keys)).decode(),
        }
        self._request("POST", "/mesh/v1/keys/publish", body)

    def release(self, product: str, key_ids: Iterable[str]) -> dict[str, Any]:
        """The registry's answer: ``ids`` and ``keys`` (their keys concatenated, base64),
        ``forgotten``, ``unknown``."""
        body = {"product": product, "key_ids": sorted(set(key_ids))}
        found: dict[str, Any] = self._request("POST", "/mesh/v1/keys/release", body)
        return found

    def forget(self, subject: str) -> dict[str, Any]:
        """Shred every data key of ``subject`` (a raw id) in every product."""
        found: dict[str, Any] = self._request("POST", "/mesh/v1/keys/forget", {"subject": subject})
        return found


class KeyCache:
    """The data keys a reader was released, asked for in batches and kept.

    A refused product (no grant) and unknown keys are not asked for again for a few seconds;
    forgotten keys never. Nothing here raises for a key: an unavailable key is ``None`` and
    the field stays ciphertext (or ``None``), as :meth:`FieldProtection.reveal` promises.

    Args:
        client: The key service.
    """

    def __init__(self, client: KeyClient) -> None:
        self._client = client
        self._keys: dict[str, DataKey | None] = {}
        self._retry: dict[str, float] = {}  # key id or "product:<id>" -> monotonic time

    def fetch(self, key_ids: Iterable[str]) -> None:
        """Ask for every id not known yet, one request per product."""
        now = time.monotonic()
        wanted: dict[str, set[str]] = {}
        for kid in key_ids:
            if kid in self._keys or self._retry.get(kid, 0.0) > now:
                continue
            parsed = parse_key_id(kid)
            if parsed is None or self._retry.get("product:" + parsed[0], 0.0) > now:
                continue
            wanted.setdefault(parsed[0], set()).add(kid)
        for product, kids in wanted.items():
            self._fetch(product, kids, now)

    def _fetch(self, product: str, kids: set[str], now: float) -> None:
        try:
            answer = self._client.release(product, kids)
        except RegistryRequestError as exc:
            if exc.status == 403:
                logger.info("no key release for %s (%s): fields stay protected", product, exc)
            else:
                logger.warning("key release for %s failed: %s", product, exc)
            self._retry["product:" + product] = now + _RETRY_S
            return
        except (RegistryUnavailableError, ConfigError) as exc:
            logger.warning("key release for %s failed: %s", product, exc)
            self._retry["product:" + product] = now + _RETRY_S
            return
        secrets_ = base64.b64decode(answer.get("keys", ""))
        for n, kid in enumerate(answer.get("ids", [])):
            self._keys[kid] = DataKey.of(kid, secrets_[n * KEY_BYTES : (n + 1) * KEY_BYTES])
        for kid in answer.get("forgotten", []):
            self._keys[kid] = None
        for kid in answer.get("unknown", []):
            self._retry[kid] = now + _RETRY_S

    def get(self, kid: str) -> DataKey | None:
        """The released key ``kid`` (asked for now when not known), or None."""
        if kid not in self._keys:
            self.fetch([kid])
        return self._keys.get(kid)
