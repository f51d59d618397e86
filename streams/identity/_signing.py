"""Signed records: a JSON object with its signer's name and an Ed25519 signature over the rest.

The signed bytes are the object without its two signature fields, serialized canonically
(keys sorted, no whitespace, orjson), so the signature survives any re-encoding of the JSON that
keeps its values.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from streams.identity._credential import Credential, _public_key

__all__ = [
    "SIGNATURE_FIELD",
    "SIGNER_FIELD",
    "Verdict",
    "canonical",
    "matches",
    "seal",
    "sign",
    "unseal",
    "verify",
]

SIGNER_FIELD = "signed_by"
SIGNATURE_FIELD = "signature"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(body: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: ``body`` as sorted, compact JSON."""
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def sign(credential: Credential, payload: bytes) -> str:
    """The Ed25519 signature of ``payload`` by ``credential``, base64url."""
    return _b64(credential.signing_key().sign(payload))


def verify(public_key: str, payload: bytes, signature: str) -> bool:
    """Whether ``signature`` is ``public_key``'s signature of ``payload`` (never raises)."""
    try:
        key = Ed25519PublicKey.from_public_bytes(_unb64(public_key))
        key.verify(_unb64(signature), payload)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def matches(name: str, secret: str, public_key: str) -> bool:
    """Whether ``secret`` is the secret of the identity ``name`` whose public key is given.

    How the registry checks a password: derive the key again (cached) and compare.
    """
    try:
        return _public_key(name, secret) == public_key
    except ValueError:
        return False


def seal(body: Mapping[str, Any], credential: Credential) -> dict[str, Any]:
    """``body`` with ``signed_by`` (the credential's name) and ``signature`` added."""
    clean = {k: v for k, v in body.items() if k not in (SIGNER_FIELD, SIGNATURE_FIELD)}
    clean[SIGNER_FIELD] = credential.name
    return {**clean, SIGNATURE_FIELD: sign(credential, canonical(clean))}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What checking a signed record found.

    Attributes:
        state: ``valid`` (signed by ``signer``, whose key is known), ``unsigned``,
            ``unknown-signer`` (no published key for ``signer``) or ``bad-signature``.
        signer: Who the record says signed it (None when it does not say).
        body: The record without its signature field.
    """

    state: Literal["valid", "unsigned", "unknown-signer", "bad-signature"]
    signer: str | None
    body: dict[str, Any]

    @property
    def valid(self) -> bool:
        """Whether the signature is good."""
        return self.state == "valid"

    def describe(self) -> str:
        """One line for a warning: what is wrong with the signature."""
        if self.state == "valid":
            return f"signed by {self.signer}"
        if self.state == "unsigned":
            return "not signed"
        if self.state == "unknown-signer":
            return f"signed by {self.signer!r}, an identity with no published key (revoked?)"
        return f"signature does not match {self.signer!r}'s key (forged or altered)"


def unseal(record: Mapping[str, Any], key_of: Callable[[str], str | None]) -> Verdict:
    """Check a record written by :func:`seal` against the signer's key from ``key_of``."""
    body = {k: v for k, v in record.items() if k != SIGNATURE_FIELD}
    signer = body.get(SIGNER_FIELD)
    signature = record.get(SIGNATURE_FIELD)
    if not isinstance(signer, str) or not isinstance(signature, str):
        return Verdict("unsigned", signer if isinstance(signer, str) else None, body)
    public_key = key_of(signer)
    if public_key is None:
        return Verdict("unknown-signer", signer, body)
    if not verify(public_key, canonical(body), signature):
        return Verdict("bad-signature", signer, body)
    return Verdict("valid", signer, body)
