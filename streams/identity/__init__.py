"""Who is asking: credentials, the keys derived from them, and signed records.

Every actor on the mesh is an identity: the platform team's ``admin`` or a domain (``player``,
``listeners``...). An identity's one secret gives it everything it presents:

- the password of its registry Basic authentication and (on Apache Kafka) of its SASL/SCRAM user;
- an Ed25519 key pair, derived from the secret (:meth:`Credential.signing_key`), whose public key
  the admin publishes on ``_mesh.domains`` so that anyone can check what a domain signed.

Because the public key is derived from the secret, the registry checks a password by deriving
the key again and comparing it with the published one (:func:`matches`): no password hash is
stored anywhere, and revoking a domain is removing its published key.

This package is pure (no I/O but reading and writing credential files) and sits low in the
layers so that the registry, the Kafka layer and the catalog can all use it.
"""

from streams.identity._credential import (
    ADMIN,
    Credential,
    check_identity_name,
    generate_credential,
    read_credential,
    write_credential,
)
from streams.identity._signing import (
    SIGNATURE_FIELD,
    SIGNER_FIELD,
    Verdict,
    canonical,
    matches,
    seal,
    sign,
    unseal,
    verify,
)

__all__ = [
    "ADMIN",
    "SIGNATURE_FIELD",
    "SIGNER_FIELD",
    "Credential",
    "Verdict",
    "canonical",
    "check_identity_name",
    "generate_credential",
    "matches",
    "read_credential",
    "seal",
    "sign",
    "unseal",
    "verify",
    "write_credential",
]
