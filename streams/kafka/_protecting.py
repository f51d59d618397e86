"""What ``Producer`` needs to protect personal data: the registry's key service, the mesh's
pseudonyms and the gate that stores new data keys before the records using them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.avro import parse_schema
from streams.config import RegistrySettings
from streams.kafka._keyclient import KeyClient
from streams.kafka._keygate import BatchKeyGate
from streams.naming import ProductRef
from streams.pii import FieldProtection, Pseudonymizer

__all__ = ["Protecting", "pseudonymous_key"]


class Protecting:
    """Made for the first product whose schema has ``"pii"`` marks.

    Args:
        registry: The registry's settings (the key service, as the settings' identity).
    """

    def __init__(self, registry: RegistrySettings) -> None:
        self._registry = registry
        self._keys: KeyClient | None = None
        self._pseudonyms: Pseudonymizer | None = None
        self.gate: BatchKeyGate | None = None

    def protection(self, ref: ProductRef, schema: str) -> FieldProtection | None:
        """The protection of the schema's ``"pii"`` marks (None: it has none); the first one
        fetches the mesh's pseudonym key from the registry's key service."""
        if '"pii"' not in schema:
            return None
        parsed = parse_schema(schema)
        if not FieldProtection(parsed, product=ref.id, pseudonymizer=None).active:
            return None
        if self._keys is None:
            self._keys = KeyClient(self._registry)
        if self._pseudonyms is None:
            self._pseudonyms = Pseudonymizer(self._keys.pseudonym_key())
        found = FieldProtection(parsed, product=ref.id, pseudonymizer=self._pseudonyms)
        if self.gate is None and found.encrypted_fields:
            self.gate = BatchKeyGate(self._keys.publish)
        return found

    def close(self) -> None:
        """Stop the gate's worker and release the key service's connections."""
        if self.gate is not None:
            self.gate.close()
        if self._keys is not None:
            self._keys.close()


def pseudonymous_key(
    fields: tuple[str, ...], raw: Mapping[str, Any], protected: Mapping[str, Any], key: str | bytes
) -> str | bytes:
    """An explicit key that is the raw value of a pseudonymized field becomes its pseudonym
    (the raw id must not reach the topic in the key either)."""
    text = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
    for name in fields:
        if raw.get(name) is not None and str(raw[name]) == text:
            return str(protected[name])
    return key
