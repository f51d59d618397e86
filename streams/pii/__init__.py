"""Field protection of personal data, pure and below the clients: pseudonyms, data keys,
key providers and the protection of one record.

It sits beside ``serialization`` so the Kafka clients (``Producer.emit``, ``Consumer``) and the
registry's key service can use it; :mod:`streams.access` re-exports it for applications.

- :class:`Pseudonymizer`: deterministic keyed pseudonyms (HMAC-SHA256 with the mesh's
  pseudonym key) that keep a field's type family; derived products still group by them.
- :class:`FieldProtection`: compiled once per product schema from its ``"pii"`` marks.
- :class:`DataKey`, :class:`KeyProvider` (the plug point for Vault or a KMS) and
  :class:`LocalKeyProvider` (a 0600 key file): envelope encryption.
"""

from __future__ import annotations

from streams.pii._keys import (
    KEY_BYTES,
    KEYS_DIR,
    DataKey,
    KeyProvider,
    LocalKeyProvider,
    key_id,
    local_pseudonym_key,
    parse_key_id,
    read_secret_file,
)
from streams.pii._protect import CIPHER_PREFIX, FieldProtection, Missing, Protected
from streams.pii._pseudonym import PSEUDONYM_PREFIX, Family, Pseudonymizer

__all__ = [
    "CIPHER_PREFIX",
    "KEYS_DIR",
    "KEY_BYTES",
    "PSEUDONYM_PREFIX",
    "DataKey",
    "Family",
    "FieldProtection",
    "KeyProvider",
    "LocalKeyProvider",
    "Missing",
    "Protected",
    "Pseudonymizer",
    "key_id",
    "local_pseudonym_key",
    "parse_key_id",
    "read_secret_file",
]
