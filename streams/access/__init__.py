"""Client-side access code: field protection of personal data and the mesh's data keys.

- :class:`Pseudonymizer`: deterministic keyed pseudonyms (HMAC-SHA256 with the mesh's
  pseudonym key) that keep a field's type family; derived products still group by them.
- :class:`FieldProtection`: compiled once per product schema from its ``"pii"`` marks;
  :meth:`~FieldProtection.protect` pseudonymizes and encrypts one record (AES-256-GCM, a data
  key per product and data subject), :meth:`~FieldProtection.reveal` decrypts with the keys a
  reader holds and never raises for a field it cannot read.
- :class:`DataKey`, :class:`KeyProvider` (the plug point for Vault or a KMS) and
  :class:`LocalKeyProvider` (a 0600 key file under the state directory): envelope encryption.
- :class:`KeyStore`: the wrapped keys on ``_mesh.keys`` and ``forget(subject)``;
  :class:`KeyGate`: a producer sends a record only after its new data key was acknowledged.
"""

from __future__ import annotations

from streams.access._gate import KeyGate
from streams.access._keys import (
    DataKey,
    KeyProvider,
    LocalKeyProvider,
    key_id,
    local_pseudonym_key,
    parse_key_id,
    read_secret_file,
)
from streams.access._keystore import KEYS_TOPIC, KeyStore, key_record
from streams.access._protect import CIPHER_PREFIX, FieldProtection, Missing, Protected
from streams.access._pseudonym import PSEUDONYM_PREFIX, Family, Pseudonymizer

__all__ = [
    "CIPHER_PREFIX",
    "KEYS_TOPIC",
    "PSEUDONYM_PREFIX",
    "DataKey",
    "Family",
    "FieldProtection",
    "KeyGate",
    "KeyProvider",
    "KeyStore",
    "LocalKeyProvider",
    "Missing",
    "Protected",
    "Pseudonymizer",
    "key_id",
    "key_record",
    "local_pseudonym_key",
    "parse_key_id",
    "read_secret_file",
]
