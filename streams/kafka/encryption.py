"""Confluent's field-level encryption (``ENCRYPT`` rules of a schema's ``ruleSet``), compatible
with confluent-kafka's ``FieldEncryptionExecutor``, so its serializers and ours read each
other's encrypted fields.

The format, as confluent-kafka 2.16 writes it:

- A rule ``{"type": "ENCRYPT", "tags": [...], "params": {"encrypt.kek.name": ...}}`` in
  ``domainRules`` encrypts every ``string`` or ``bytes`` value of a field carrying one of the
  tags (inline ``"confluent:tags"`` on the field, or ``metadata.tags`` keyed by
  ``<record full name>.<field>``, wildcards allowed), through arrays, maps and nullable unions.
- A data key (DEK) per (KEK, subject, algorithm, version) lives in the DEK Registry
  (``/dek-registry/v1``), wrapped by the KEK with the KMS; the raw key is Tink's serialized
  ``AesGcmKey``/``AesSivKey`` (field 2: the key bytes).
- A value is encrypted with AES-GCM (random 12-byte nonce, ``nonce|ciphertext|tag``) or
  AES-SIV (deterministic, ``siv|ciphertext``), with empty associated data; when
  ``encrypt.dek.expiry.days`` is set, ``0x00`` and the DEK version (4 bytes, big-endian) come
  first. A string field carries the base64 of that; a bytes field the bytes.
- The ``local-kms`` KMS derives an AES-128-GCM key from its secret with HKDF-SHA256 (no salt,
  no info) and wraps a data key as ``nonce|ciphertext|tag``.

Only ``cryptography`` is needed here (confluent-kafka's own executors need Tink); KMSs other
than ``local-kms`` plug in through :class:`Kms`.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.rules.encryption.dek_registry.dek_registry_client import (
    DekAlgorithm,
    DekRegistryClient,
)
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from streams.config import RegistrySettings
from streams.errors import StreamsError
from streams.kafka._tagged import apply_plan, tagged_plan

__all__ = ["EncryptionError", "FieldEncryption", "Kms", "LocalKms"]

Transform = Callable[[dict[str, Any]], dict[str, Any]]
_DAY_MS = 24 * 60 * 60 * 1000
_KEY_SIZES = {"AES128_GCM": 16, "AES256_GCM": 32, "AES256_SIV": 64}


class EncryptionError(StreamsError):
    """A field could not be encrypted or decrypted (no key, no KMS secret, a wrong key)."""


class Aead(Protocol):
    """Authenticated encryption as a KMS offers it for wrapping data keys."""

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes: ...


class Kms(Protocol):
    """Where key-encryption keys live (the plug point for Vault or a cloud KMS)."""

    def aead(self, kms_type: str, kms_key_id: str) -> Aead:
        """The AEAD of one KEK; raises :class:`EncryptionError` for a KMS it cannot reach."""
        ...


class _Gcm:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, associated_data)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        return self._aead.decrypt(ciphertext[:12], ciphertext[12:], associated_data)


class _Siv:
    def __init__(self, key: bytes) -> None:
        self._aead = AESSIV(key)

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        return self._aead.encrypt(plaintext, [associated_data])

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        return self._aead.decrypt(ciphertext, [associated_data])


class LocalKms:
    """Confluent's ``local-kms``: every KEK is wrapped by a key derived from one secret."""

    def __init__(self, secret: str) -> None:
        derive = HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=None)
        self._aead = _Gcm(derive.derive(secret.encode()))

    def aead(self, kms_type: str, kms_key_id: str) -> Aead:
        if kms_type != "local-kms":
            raise EncryptionError(
                f"KMS type {kms_type!r} is not available here (only 'local-kms'); pass a Kms "
                "that reaches it (FieldEncryption(kms=...))"
            )
        return self._aead


def _key_field(algorithm: str) -> int:
    # Tink's AesGcmKey holds the key in field 3, AesSivKey in field 2 (field 1: version 0).
    return 2 if algorithm == "AES256_SIV" else 3


def _key_proto(key: bytes, algorithm: str) -> bytes:
    """A serialized Tink key: version 0 (omitted) and the key bytes."""
    return bytes([_key_field(algorithm) << 3 | 2, len(key)]) + key


def _key_of(proto: bytes, algorithm: str) -> bytes:
    """The key bytes of a serialized Tink key, skipping the other fields."""
    at = 0
    while at < len(proto):
        tag = proto[at]
        at += 1
        if tag & 7 == 0:  # varint
            while proto[at] & 0x80:
                at += 1
            at += 1
        elif tag & 7 == 2:
            length, shift = 0, 0
            while True:
                byte = proto[at]
                at += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            if tag >> 3 == _key_field(algorithm):
                return proto[at : at + length]
            at += length
        else:
            break
    raise EncryptionError(f"the data key is not a Tink {algorithm} key (it holds no key bytes)")


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    tags: frozenset[str]
    kek: str
    kms_type: str | None
    kms_key_id: str | None
    algorithm: str
    expiry_days: int
    read_failure: str  # what the rule says to do when a READ fails: ERROR or NONE


def _rules(
    rule_set: Mapping[str, Any] | None, metadata: Mapping[str, Any] | None, mode: str
) -> list[_Rule]:
    properties = (metadata or {}).get("properties") or {}
    found = []
    for rule in (rule_set or {}).get("domainRules") or ():
        if rule.get("type") != "ENCRYPT" or rule.get("disabled"):
            continue
        if rule.get("mode", "WRITEREAD") not in (mode, "WRITEREAD"):
            continue
        params = {**properties, **(rule.get("params") or {})}
        kek = params.get("encrypt.kek.name")
        if not kek:
            raise EncryptionError(f"ENCRYPT rule {rule.get('name')!r} names no encrypt.kek.name")
        failure = (rule.get("onFailure") or "ERROR").split(",")
        found.append(
            _Rule(
                name=str(rule.get("name")),
                tags=frozenset(rule.get("tags") or ()),
                kek=kek,
                kms_type=params.get("encrypt.kms.type"),
                kms_key_id=params.get("encrypt.kms.key.id"),
                algorithm=params.get("encrypt.dek.algorithm") or "AES256_GCM",
                expiry_days=int(params.get("encrypt.dek.expiry.days") or 0),
                read_failure=failure[-1].strip().upper() or "ERROR",
            )
        )
    return found


class FieldEncryption:
    """Encrypts and decrypts the fields of records whose schema carries ENCRYPT rules.

    Args:
        registry: Where the DEK Registry is (the schema registry's URL and credentials) and the
            local KMS secret (``registry.local_kms_secret``).
        kms: The KMS that wraps data keys (default: :class:`LocalKms` with that secret).
        client: Override the DEK Registry client (tests).
    """

    def __init__(
        self,
        *,
        registry: RegistrySettings,
        kms: Kms | None = None,
        client: DekRegistryClient | None = None,
    ) -> None:
        self._conf = registry.client_conf()
        secret = registry.local_kms_secret
        self._kms = kms or (LocalKms(secret.get_secret_value()) if secret is not None else None)
        self._client = client
        self._owned = client is None
        self._ciphers: dict[tuple[str, str, str, int], _Gcm | _Siv] = {}

    @property
    def client(self) -> DekRegistryClient:
        if self._client is None:
            self._client = DekRegistryClient(self._conf)
        return self._client

    # --- building transforms -----------------------------------------------------------------

    def writer(
        self,
        subject: str,
        schema: str,
        rule_set: Mapping[str, Any] | None,
        metadata: Mapping[str, Any] | None,
    ) -> Transform | None:
        """What encrypts a record before it is encoded, or None when no rule encrypts."""
        steps: list[tuple[Any, Callable[[str, Any], Any]]] = []
        for rule in _rules(rule_set, metadata, "WRITE"):
            plan = tagged_plan(schema, metadata, rule.tags)
            if plan is not None:
                version, cipher = self._write_key(rule, subject)
                prefix = b"\x00" + version.to_bytes(4, "big") if rule.expiry_days else b""

                steps.append((plan, _write_leaf(cipher, prefix)))
        return _chain(steps)

    def reader(
        self,
        subject: str,
        schema: str,
        rule_set: Mapping[str, Any] | None,
        metadata: Mapping[str, Any] | None,
    ) -> Transform | None:
        """What decrypts a decoded record, or None when no rule encrypted its fields.

        A value that cannot be decrypted raises :class:`EncryptionError`, unless the rule's
        ``onFailure`` says ``NONE`` for reads (e.g. ``"ERROR,NONE"``): then it stays encrypted.
        """
        steps: list[tuple[Any, Callable[[str, Any], Any]]] = []
        for rule in reversed(_rules(rule_set, metadata, "READ")):
            plan = tagged_plan(schema, metadata, rule.tags)
            if plan is not None:
                steps.append((plan, self._read_leaf(rule, subject)))
        return _chain(steps)

    def _read_leaf(self, rule: _Rule, subject: str) -> Callable[[str, Any], Any]:
        def leaf(kind: str, value: Any) -> Any:
            try:
                sealed = base64.b64decode(value) if kind == "string" else bytes(value)
                version = 1
                if rule.expiry_days:
                    version, sealed = int.from_bytes(sealed[1:5], "big"), sealed[5:]
                plain = self._key(rule, subject, version).decrypt(sealed, b"")
            except (EncryptionError, InvalidTag, ValueError) as exc:
                if rule.read_failure == "NONE":
                    return value
                raise EncryptionError(
                    f"could not decrypt a field of subject {subject!r} (rule {rule.name!r}, KEK "
                    f"{rule.kek!r}): {exc or type(exc).__name__}"
                ) from exc
            return plain.decode() if kind == "string" else plain

        return leaf

    # --- keys ------------------------------------------------------------------------------

    def _aead(self, rule: _Rule, kek: Any) -> Aead:
        if self._kms is None:
            raise EncryptionError(
                f"the fields of this subject are encrypted with KEK {rule.kek!r} "
                f"({kek.kms_type}): set registry.local_kms_secret "
                "(STREAMS_REGISTRY__LOCAL_KMS_SECRET) to the local KMS secret, or pass a Kms"
            )
        return self._kms.aead(str(kek.kms_type), str(kek.kms_key_id))

    def _kek(self, rule: _Rule, *, create: bool) -> Any:
        try:
            return self.client.get_kek(rule.kek)
        except SchemaRegistryError as exc:
            if exc.http_status_code != 404 or not create:
                raise EncryptionError(f"no KEK {rule.kek!r} in the DEK Registry: {exc}") from exc
        if not rule.kms_type or not rule.kms_key_id:
            raise EncryptionError(
                f"KEK {rule.kek!r} does not exist and rule {rule.name!r} names no "
                "encrypt.kms.type and encrypt.kms.key.id to create it"
            )
        try:
            return self.client.register_kek(rule.kek, rule.kms_type, rule.kms_key_id)
        except SchemaRegistryError as exc:
            if exc.http_status_code != 409:
                raise EncryptionError(f"could not create KEK {rule.kek!r}: {exc}") from exc
            return self.client.get_kek(rule.kek)

    def _key(self, rule: _Rule, subject: str, version: int) -> _Gcm | _Siv:
        cached = self._ciphers.get((rule.kek, subject, rule.algorithm, version))
        if cached is not None:
            return cached
        kek = self._kek(rule, create=False)
        try:
            dek = self.client.get_dek(rule.kek, subject, DekAlgorithm(rule.algorithm), version)
        except SchemaRegistryError as exc:
            raise EncryptionError(
                f"no data key {version} of subject {subject!r} under KEK {rule.kek!r}: {exc}"
            ) from exc
        return self._unwrap(rule, kek, dek, subject)

    def _unwrap(self, rule: _Rule, kek: Any, dek: Any, subject: str) -> _Gcm | _Siv:
        raw = dek.get_key_material_bytes()
        if raw is None:
            raw = self._aead(rule, kek).decrypt(dek.get_encrypted_key_material_bytes(), b"")
        key = _key_of(raw, rule.algorithm)
        cipher: _Gcm | _Siv = _Siv(key) if rule.algorithm == "AES256_SIV" else _Gcm(key)
        self._ciphers[(rule.kek, subject, rule.algorithm, int(dek.version))] = cipher
        return cipher

    def _write_key(self, rule: _Rule, subject: str) -> tuple[int, _Gcm | _Siv]:
        kek = self._kek(rule, create=True)
        algorithm = DekAlgorithm(rule.algorithm)
        dek: Any = None
        try:
            dek = self.client.get_dek(rule.kek, subject, algorithm, -1 if rule.expiry_days else 1)
        except SchemaRegistryError as exc:
            if exc.http_status_code != 404:
                raise EncryptionError(f"could not read the data key of {subject!r}: {exc}") from exc
        expired = (
            dek is not None
            and rule.expiry_days > 0
            and (time.time() * 1000 - (dek.ts or 0)) / _DAY_MS > rule.expiry_days
        )
        if dek is None or expired:
            version = 1 if dek is None else int(dek.version) + 1
            raw = _key_proto(os.urandom(_KEY_SIZES[rule.algorithm]), rule.algorithm)
            wrapped = base64.b64encode(self._aead(rule, kek).encrypt(raw, b"")).decode()
            try:
                dek = self.client.register_dek(rule.kek, subject, wrapped, algorithm, version)
            except SchemaRegistryError as exc:
                if exc.http_status_code != 409:
                    raise EncryptionError(f"could not store a data key: {exc}") from exc
                dek = self.client.get_dek(rule.kek, subject, algorithm, version)
        return int(dek.version), self._unwrap(rule, kek, dek, subject)

    def close(self) -> None:
        """Close the DEK Registry client if this object created it."""
        if self._owned and self._client is not None:
            client: Any = self._client
            client.__exit__()
            self._client = None


def _write_leaf(cipher: _Gcm | _Siv, prefix: bytes) -> Callable[[str, Any], Any]:
    def leaf(kind: str, value: Any) -> Any:
        plain = value.encode() if kind == "string" else bytes(value)
        sealed = prefix + cipher.encrypt(plain, b"")
        return base64.b64encode(sealed).decode() if kind == "string" else sealed

    return leaf


def _chain(steps: list[tuple[Any, Callable[[str, Any], Any]]]) -> Transform | None:
    if not steps:
        return None

    def transform(record: dict[str, Any]) -> dict[str, Any]:
        for plan, leaf in steps:
            record = apply_plan(plan, record, leaf)
        return record

    return transform
