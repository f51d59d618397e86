"""The protection of one record value, compiled once per product schema.

:class:`FieldProtection` reads the schema's ``"pii"`` marks (:func:`streams.avro.iter_fields`)
once and keeps, per protected top-level field, what to do; :meth:`~FieldProtection.protect`
then touches only those fields of each record (a shallow copy, the other values shared).

Ciphertexts keep the field's type family, so every Kafka tool still reads the record:

- a string carries ``enc1:<key id>:<base64url(nonce | ciphertext | tag)>``;
- bytes carry ``b"enc1" | len(key id) (1 byte) | key id | nonce | ciphertext | tag``;
- ``null`` stays ``null``.

AES-256-GCM with a random 96-bit nonce; the associated data binds the product, the field and
the key id, so a ciphertext copied to another field or product, or relabelled with another key
id, does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidTag

from streams.access._keys import DataKey, parse_key_id
from streams.access._lru import Lru
from streams.access._pseudonym import Family, Pseudonymizer
from streams.avro import SUBJECT_ATTRIBUTE, ParsedSchema, iter_fields
from streams.errors import SerializationError

__all__ = ["CIPHER_PREFIX", "FieldProtection", "Missing", "Protected"]

CIPHER_PREFIX = "enc1:"
_BINARY_PREFIX = b"enc1"
_NONCE = 12

Missing = Literal["ciphertext", "null"]
"""What a reader without the key gets for an encrypted field: the ciphertext or ``None``."""


@dataclass(frozen=True, slots=True)
class Protected:
    """A protected record value and the data key that encrypted it.

    Attributes:
        value: The record as it is written to Kafka.
        key: The data key its encrypted fields use (``None`` when none was encrypted).
        new: True when ``key`` was created for this record: publish it on ``_mesh.keys``, and
            have it acknowledged, before the record is sent (:class:`KeyGate` does).
    """

    value: dict[str, Any]
    key: DataKey | None
    new: bool


@dataclass(frozen=True, slots=True)
class _Encrypted:
    name: str
    binary: bool
    aad: bytes  # product \0 field \0; the key id is appended


class FieldProtection:
    """Protect and reveal the records of one product's schema.

    Args:
        schema: The product's parsed value schema (its ``pii`` marks passed lint).
        product: The product id (``listeners.registrations``); it names and binds the keys.
        pseudonymizer: The mesh's pseudonyms.
        key_cache_size: How many subjects' current data keys to keep (a subject whose key was
            evicted gets a new one: more keys, never a wrong one).
    """

    def __init__(
        self,
        schema: ParsedSchema,
        *,
        product: str,
        pseudonymizer: Pseudonymizer,
        key_cache_size: int = 65_536,
    ) -> None:
        self.product = product
        self._pseudonyms = pseudonymizer
        self._keys: Lru[str, DataKey] = Lru(key_cache_size)
        top = list(iter_fields(schema, nested=False))
        self._pseudonymized: tuple[tuple[str, Family], ...] = tuple(
            (info.name, _family(info.value_type))
            for info in top
            if info.protection == "pseudonymize"
        )
        self._encrypted = tuple(
            _Encrypted(
                info.name,
                _base(info.value_type) == "bytes",
                f"{product}\x00{info.name}\x00".encode(),
            )
            for info in top
            if info.protection == "encrypt"
        )
        self._subject: tuple[str, Family] | None = None
        if self._encrypted:
            named = schema.definition.get(SUBJECT_ATTRIBUTE)
            if named is None:
                self._subject = self._pseudonymized[0]
            else:
                info = next(info for info in top if info.name == named)
                self._subject = (info.name, _family(info.value_type))
        self._subject_pseudonymized = self._subject in self._pseudonymized

    @property
    def active(self) -> bool:
        """Whether the schema protects any field (else :meth:`protect` returns the record)."""
        return bool(self._pseudonymized or self._encrypted)

    @property
    def encrypted_fields(self) -> tuple[str, ...]:
        """The names of the encrypted fields."""
        return tuple(item.name for item in self._encrypted)

    def protect(self, value: Mapping[str, Any]) -> Protected:
        """``value`` with its pseudonymized and encrypted fields protected (a new dict).

        Raises:
            SerializationError: Encrypted fields hold values but the data subject is null.
        """
        out = dict(value)
        of = self._pseudonyms.of
        for name, family in self._pseudonymized:
            raw = out.get(name)
            if raw is not None:
                out[name] = of(raw, family)
        if not self._encrypted:
            return Protected(out, None, False)
        key, new = self._key_of(value, out)
        if key is None:
            return Protected(out, None, False)
        cipher = key.cipher
        kid = key.id
        kid_bytes = kid.encode()
        nonce_of = key.nonce
        for item in self._encrypted:
            plain = out.get(item.name)
            if plain is None:
                continue
            nonce = nonce_of()
            aad = item.aad + kid_bytes
            if item.binary:
                sealed = cipher.encrypt(nonce, bytes(plain), aad)
                out[item.name] = (
                    _BINARY_PREFIX + bytes([len(kid_bytes)]) + kid_bytes + nonce + sealed
                )
            else:
                sealed = cipher.encrypt(nonce, plain.encode(), aad)
                text = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()
                out[item.name] = f"{CIPHER_PREFIX}{kid}:{text}"
        return Protected(out, key, new)

    def _key_of(
        self, value: Mapping[str, Any], out: Mapping[str, Any]
    ) -> tuple[DataKey | None, bool]:
        assert self._subject is not None  # encrypted fields have one (lint, __init__)
        name, family = self._subject
        raw = value.get(name)
        if raw is None:
            if any(value.get(item.name) is not None for item in self._encrypted):
                raise SerializationError(
                    f"{self.product}: field {name!r}, the data subject whose key encrypts "
                    f"{', '.join(self.encrypted_fields)}, is null; set it, or leave the "
                    "encrypted fields null",
                    product=self.product,
                    path=name,
                )
            return None, False
        # A pseudonymized subject was pseudonymized above already.
        pseudonym = out[name] if self._subject_pseudonymized else self._pseudonyms.of(raw, family)
        tag = self._pseudonyms.subject_tag(pseudonym)
        key = self._keys.get(tag)
        if key is not None:
            return key, False
        key = DataKey.create(self.product, tag)
        self._keys.put(tag, key)
        return key, True

    def forget_cached(self, tags: Iterable[str]) -> None:
        """Drop the current keys of these subject tags (after ``forget``: new records of the
        subject get a new key)."""
        for tag in tags:
            self._keys.pop(tag)

    def key_ids(self, value: Mapping[str, Any]) -> set[str]:
        """The data-key ids the encrypted fields of ``value`` name (to ask for their release)."""
        found = set()
        for item in self._encrypted:
            parsed = _split(value.get(item.name), item.binary)
            if parsed is not None:
                found.add(parsed[0])
        return found

    def reveal(
        self,
        value: Mapping[str, Any],
        keys: Callable[[str], DataKey | None],
        *,
        missing: Missing = "ciphertext",
    ) -> dict[str, Any]:
        """``value`` with its encrypted fields decrypted where ``keys`` gives their key.

        Never raises for a field: one whose key is unknown, forgotten or withheld, or whose
        ciphertext was altered, becomes the ciphertext or ``None`` (``missing``). Pseudonyms
        stay pseudonyms (they are one-way). A schema without encrypted fields returns ``value``
        itself (no copy).
        """
        if not self._encrypted:
            return value  # type: ignore[return-value]
        out = dict(value)
        for item in self._encrypted:
            sealed = out.get(item.name)
            if sealed is None:
                continue
            plain = self._open(item, sealed, keys)
            if plain is not None:
                out[item.name] = plain
            elif missing == "null":
                out[item.name] = None
        return out

    def _open(
        self, item: _Encrypted, sealed: object, keys: Callable[[str], DataKey | None]
    ) -> str | bytes | None:
        parsed = _split(sealed, item.binary)
        if parsed is None:
            return None
        kid, body = parsed
        owner = parse_key_id(kid)
        if owner is None or owner[0] != self.product or len(body) < _NONCE + 16:
            return None
        key = keys(kid)
        if key is None:
            return None
        try:
            plain = key.cipher.decrypt(body[:_NONCE], body[_NONCE:], item.aad + kid.encode())
        except InvalidTag:
            return None
        if item.binary:
            return plain
        try:
            return plain.decode()
        except UnicodeDecodeError:
            return None


def _split(sealed: object, binary: bool) -> tuple[str, bytes] | None:
    """``(key id, nonce | ciphertext | tag)`` of a protected value, or ``None``."""
    try:
        if binary:
            if not isinstance(sealed, bytes) or not sealed.startswith(_BINARY_PREFIX):
                return None
            size = sealed[4]
            return sealed[5 : 5 + size].decode(), sealed[5 + size :]
        if not isinstance(sealed, str) or not sealed.startswith(CIPHER_PREFIX):
            return None
        kid, _, text = sealed[len(CIPHER_PREFIX) :].rpartition(":")
        if not kid:
            return None
        padded = text + "=" * (-len(text) % 4)
        return kid, base64.b64decode(padded, altchars=b"-_", validate=True)
    except (IndexError, UnicodeDecodeError, ValueError, binascii.Error):
        return None


def _base(node: Any) -> Any:
    return node.get("type") if isinstance(node, dict) else node


def _family(node: Any) -> Family:
    """The pseudonym family of a (lint-checked) value type."""
    if isinstance(node, dict) and node.get("logicalType") == "uuid":
        return "uuid"
    base = _base(node)
    return base if base in ("int", "long") else "string"
