"""What ``Consumer`` does with the ``"pii": "encrypt"`` fields of the records it decodes: reveal
them with the data keys the registry releases to this reader (batched per fetch, cached), or
leave the ciphertext (or ``None``) where it releases none; never an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from confluent_kafka import Message

from streams.avro import parse_schema
from streams.config import RegistrySettings
from streams.kafka._keyclient import KeyCache, KeyClient, key_ids_in
from streams.naming import parse_product
from streams.pii import FieldProtection, Missing

__all__ = ["Revealer"]


class Revealer:
    """Reveals the encrypted fields of one consumer's records.

    Args:
        registry: The registry's settings (its key service, as the settings' identity).
        missing: What an unreadable field becomes: its ``ciphertext`` or ``null`` (None).
    """

    def __init__(self, registry: RegistrySettings, *, missing: Missing = "ciphertext") -> None:
        self._registry = registry
        self._missing = missing
        self._cache: KeyCache | None = None
        self._client: KeyClient | None = None
        self._protections: dict[tuple[int, str], FieldProtection | None] = {}
        self._writers: dict[int, str] = {}

    def learn(self, schema_id: int, writer: str) -> bool:
        """Note a writer schema; True when it encrypts fields (records need :meth:`reveal`)."""
        if '"pii"' not in writer or '"encrypt"' not in writer:
            return False
        self._writers[schema_id] = writer
        return True

    def _keys(self) -> KeyCache:
        if self._cache is None:
            self._client = KeyClient(self._registry)
            self._cache = KeyCache(self._client)
        return self._cache

    def prefetch(self, messages: Sequence[Message]) -> None:
        """Ask for the keys a batch of messages names, in one request per product."""
        if not self._writers:
            return
        wanted: list[str] = []
        for message in messages:
            value = message.value()
            if value is not None:
                wanted += key_ids_in(value)
        if wanted:
            self._keys().fetch(wanted)

    def reveal(self, schema_id: int, topic: str, record: Any) -> Any:
        """``record`` with the fields this reader may read decrypted."""
        key = (schema_id, topic)
        protection = self._protections.get(key)
        if protection is None:
            if key in self._protections:
                return record
            protection = self._protection(schema_id, topic)
        if protection is None or not isinstance(record, dict):
            return record
        return protection.reveal(record, self._keys().get, missing=self._missing)

    def _protection(self, schema_id: int, topic: str) -> FieldProtection | None:
        try:
            product = parse_product(topic).id
        except ValueError:
            product = topic
        writer = parse_schema(self._writers[schema_id])
        found: FieldProtection | None = FieldProtection(writer, product=product, pseudonymizer=None)
        if found is not None and not found.encrypted_fields:
            found = None
        self._protections[(schema_id, topic)] = found
        return found

    def close(self) -> None:
        """Release the key service's connections."""
        if self._client is not None:
            self._client.close()
