"""Client-side access code: field protection of personal data and the mesh's data keys.

- :class:`Pseudonymizer`: deterministic keyed pseudonyms (HMAC-SHA256 with the mesh's
  pseudonym key) that keep a field's type family; derived products still group by them.
- :class:`FieldProtection`: compiled once per product schema from its ``"pii"`` marks;
  :meth:`~FieldProtection.protect` pseudonymizes and encrypts one record (AES-256-GCM, a data
  key per product and data subject), :meth:`~FieldProtection.reveal` decrypts with the keys a
  reader holds and never raises for a field it cannot read.
- :class:`DataKey`, :class:`KeyProvider` (the plug point for Vault or a KMS) and
  :class:`LocalKeyProvider` (a 0600 key file under the state directory): envelope encryption.
- :class:`AccessClient`: ask for, grant, revoke and list access to products (the registry's
  ``/mesh/v1/access``), as :class:`AccessRecord` values.

The key-encryption key and the pseudonym key are the registry's alone (its key service,
``/mesh/v1/keys``): ``Producer.emit`` protects records and has new data keys stored there in
batches; ``Consumer`` reveals with the keys it releases (``streams.kafka``).
"""

from __future__ import annotations

from streams.access._grants import AccessClient, AccessRecord, AccessState
from streams.pii import (
    CIPHER_PREFIX,
    PSEUDONYM_PREFIX,
    DataKey,
    Family,
    FieldProtection,
    KeyProvider,
    LocalKeyProvider,
    Missing,
    Protected,
    Pseudonymizer,
    key_id,
    local_pseudonym_key,
    parse_key_id,
    read_secret_file,
)

__all__ = [
    "CIPHER_PREFIX",
    "PSEUDONYM_PREFIX",
    "AccessClient",
    "AccessRecord",
    "AccessState",
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
